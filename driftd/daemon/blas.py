"""One BLAS thread for the monitoring process.

A monitor is one core per process by design (models spread over processes as
Kafka partitions), and its only BLAS work is small: the sequential tests'
calibration solves 200 x 200 linear systems (Brook & Evans run lengths) at start-up.
OpenBLAS starts a thread per core for those, and on a busy machine its threads spin
against Kafka, Redis and the other processes: one solve took 9.8 ms with two BLAS
threads on the 2-core CI machine under load, 0.9 ms with one, so a `driftd replay`
of 200k events spent ~3 s of its start-up calibrating. The retraining worker keeps
its threads (scikit-learn's fits use them well); only the daemon's builders call this.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits


def one_blas_thread() -> None:
    """Limit BLAS (OpenBLAS, MKL) to one thread in this process, from now on."""
    threadpool_limits(limits=1, user_api="blas")
