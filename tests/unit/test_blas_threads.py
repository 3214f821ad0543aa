"""The daemon's builders limit BLAS to one thread (driftd/daemon/blas.py)."""

from threadpoolctl import threadpool_info

from driftd.daemon.blas import one_blas_thread


def test_after_the_limit_every_blas_pool_has_one_thread():
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas, "numpy/scipy load a BLAS; threadpoolctl must see it"
    one_blas_thread()
    assert [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"] == [
        1
    ] * len(blas)
