"""The daemon's builders limit BLAS to one thread (driftd/daemon/blas.py).

In a fresh interpreter: in the test process an earlier pipeline build may already have
set the limit, and the assertion would then hold whatever one_blas_thread did."""

import json
import os
import subprocess
import sys

import pytest

CHECK = """
import json
import numpy
from threadpoolctl import threadpool_info
from driftd.daemon.blas import one_blas_thread
def threads():
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
before = threads()
one_blas_thread()
print(json.dumps([before, threads()]))
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2,
                    reason="BLAS starts one thread per core this process may use")
def test_after_the_limit_every_blas_pool_has_one_thread():
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          check=True, env=env)  # fmt: skip
    before, after = json.loads(done.stdout)
    assert before and max(before) > 1, "numpy's BLAS starts with a thread per core"
    assert after == [1] * len(before)
