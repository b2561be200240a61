"""builder.data.workers: isolated children with a memory limit and a timeout; local pool and Dask."""

from __future__ import annotations

import os
import time

import pytest

from builder.data.workers import run_isolated, run_many

MEMORY = 1024**3  # enough for numpy + zarr in the child, far below a bomb


def square(x: int) -> int:
    return x * x


def hog(_: object) -> int:
    blocks = [bytearray(256 * 1024**2) for _ in range(16)]  # 4 GiB
    return len(blocks)


def sleep_forever(_: object) -> None:
    time.sleep(60)


def die(_: object) -> None:
    os._exit(3)


def boom(_: object) -> None:
    raise ValueError("bad input")


def mixed(name: str):
    if name == "hog":
        return hog(None)
    if name == "sleep":
        return sleep_forever(None)
    if name == "die":
        return die(None)
    return name.upper()


def test_result_comes_back():
    result = run_isolated(square, 7, memory_bytes=MEMORY, timeout_s=30)
    assert result.ok and result.value == 49


def test_memory_limit_turns_a_hog_into_a_failure():
    result = run_isolated(hog, None, memory_bytes=MEMORY, timeout_s=30)
    assert not result.ok and result.failure == "memory"


def test_timeout_kills_a_hung_child():
    started = time.monotonic()
    result = run_isolated(sleep_forever, None, memory_bytes=MEMORY, timeout_s=1)
    assert not result.ok and result.failure == "timeout"
    assert time.monotonic() - started < 10


def test_a_dying_child_is_reported():
    result = run_isolated(die, None, memory_bytes=MEMORY, timeout_s=30)
    assert not result.ok and result.failure == "died" and "status 3" in result.detail


def test_an_exception_is_reported_not_raised():
    result = run_isolated(boom, None, memory_bytes=MEMORY, timeout_s=30)
    assert not result.ok and result.failure == "error" and "bad input" in result.detail


def test_pool_survives_failing_tasks():
    names = ["a", "hog", "b", "die", "sleep", "c"]
    results = dict(run_many(mixed, names, memory_bytes=MEMORY, timeout_s=3, max_workers=2))
    assert sorted(results) == list(range(6))
    assert [results[i].value for i in (0, 2, 5)] == ["A", "B", "C"]
    assert results[1].failure == "memory"
    assert results[3].failure == "died"
    assert results[4].failure == "timeout"


def test_dask_cluster_runs_the_same_isolated_work():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        results = dict(
            run_many(mixed, ["x", "hog", "y"], memory_bytes=MEMORY, timeout_s=30, scheduler=cluster.scheduler_address)
        )
    assert results[0].value == "X" and results[2].value == "Y"
    assert results[1].failure == "memory"


def pid_or_fail(name: str):
    if name == "hog":
        return hog(None)
    return os.getpid()


def test_children_are_reused_until_one_fails():
    results = dict(run_many(pid_or_fail, ["a", "b", "hog", "c", "d"], memory_bytes=MEMORY, timeout_s=30, max_workers=1))
    assert results[0].value == results[1].value  # one child served both
    assert results[2].failure == "memory"
    assert results[3].value == results[4].value != results[0].value  # a fresh child after the failure
    assert results[0].value != os.getpid()
