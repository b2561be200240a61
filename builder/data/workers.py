"""Run untrusted decoding in child processes with a memory limit and a timeout.

A decompression bomb (a chunk declared small that inflates to gigabytes) or a
server that hangs must cost one image's diagnostic, not the build. Images are
handled in child processes forked from a forkserver that has the heavy modules
loaded already, each with ``RLIMIT_AS = limits.worker_memory_bytes``; the
parent kills a child that gives no result within ``limits.image_timeout_s``
(plus a grace period for the child's own, clearer deadline to fire first).

:func:`run_many` keeps one long-lived child per concurrent slot (reused while
it behaves, so imports and S3 sessions are paid once) and replaces a child
that timed out, died or ran out of memory: the failure is that image's result,
and the next image gets a fresh child. Given a Dask scheduler address, the
images are split into batches (about two per Dask thread), and each batch is a
Dask task that runs the same isolated children on a worker of that cluster.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

# Modules the forkserver imports once, so each child does not pay for them.
# "__main__" makes it import the main script once too; otherwise every child
# re-imports it (~0.2 s under pytest). Scripts need the usual __main__ guard.
PRELOAD = [
    "numpy",
    "zarr",
    "zarr.codecs",
    "numcodecs",
    "requests",
    "s3fs",
    "PIL.Image",
    "PIL.WebPImagePlugin",
    "PIL.PngImagePlugin",
    "ome_zarr_models.v04",
    "ome_zarr_models.v05",
    "builder.data.inspection",
    "builder.data.arrays",
    "builder.data.ngff.checks",
    "builder.data.render",
]
# Seconds the parent waits beyond the image timeout: the child's own deadline
# (checked before each request) gives a more precise message when it can.
GRACE_S = 5.0

_context_lock = threading.Lock()
_context = None


@dataclass(slots=True)
class WorkerResult:
    ok: bool
    value: Any = None
    failure: str | None = None  # "memory", "timeout", "died", "error"
    detail: str = ""


def _mp_context():
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            _context = ctx
        return _context


def _limit_memory(memory_bytes: int) -> None:
    import resource

    # glibc gives each thread a 64 MiB malloc arena of address space; zarr's
    # threads would use up the limit without using memory.
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX = 2
    except OSError:
        pass
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _run_one(fn: Callable[[Any], Any], payload: Any) -> tuple[str, Any]:
    try:
        return ("ok", fn(payload))
    except MemoryError:
        return ("memory", "out of memory")
    except BaseException as exc:  # noqa: BLE001 - any failure of a task is reported, never a traceback on the parent's terminal
        return ("error", f"{type(exc).__name__}: {str(exc)[:500]}")


def _serve(conn, memory_bytes: int) -> None:
    """A worker child: run (fn, payload) tasks one at a time until told to stop (None) or the pipe closes."""
    try:
        _limit_memory(memory_bytes)
        while True:
            try:
                task = conn.recv()
            except (EOFError, OSError):
                break
            if task is None:
                break
            result = _run_one(*task)
            try:
                conn.send(result)
            except MemoryError:
                conn.send(("memory", "out of memory while sending the result"))
            if result[0] == "memory":
                break  # a heap that hit the limit is not trusted with the next image
    finally:
        conn.close()
        # Release what multiprocessing registered here (e.g. codec locks' semaphores), then skip the
        # interpreter teardown: threads of zarr and s3fs may still hold locks.
        from multiprocessing import util

        util._run_finalizers()  # type: ignore[attr-defined]  # private, but the only way before os._exit
        os._exit(0)


class IsolatedWorker:
    """One child process with the memory limit, running tasks one at a time.

    It is reused while it behaves (imports, S3 sessions and connections are paid
    once) and replaced after a timeout, a crash or an out-of-memory.
    """

    def __init__(self, memory_bytes: int) -> None:
        self.memory_bytes = memory_bytes
        self.process: Any = None  # a multiprocessing Process of the context in use
        self.conn: Any = None  # its end of the pipe

    def _start(self) -> None:
        ctx = _mp_context()
        conn, child_conn = ctx.Pipe(duplex=True)
        process = ctx.Process(target=_serve, args=(child_conn, self.memory_bytes), daemon=True)
        process.start()
        child_conn.close()
        self.process, self.conn = process, conn

    def _stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(5)
        self.process = self.conn = None

    def run(self, fn: Callable[[Any], Any], payload: Any, timeout_s: float) -> WorkerResult:
        if self.process is None or not self.process.is_alive():
            self._stop()
            self._start()
        try:
            self.conn.send((fn, payload))
        except (BrokenPipeError, OSError):  # the child died while idle: start afresh
            self._stop()
            self._start()
            self.conn.send((fn, payload))
        if not self.conn.poll(timeout_s):
            self._stop()
            return WorkerResult(False, failure="timeout", detail=f"no result after {timeout_s:g} s")
        try:
            status, value = self.conn.recv()
        except (EOFError, OSError):
            process = self.process
            process.join(5)
            detail = _exit_detail(process)
            self._stop()
            return WorkerResult(False, failure="died", detail=detail)
        if status == "ok":
            return WorkerResult(True, value)
        if status == "memory":
            self._stop()
        return WorkerResult(False, failure=status, detail=value)

    def close(self) -> None:
        if self.conn is not None and self.process is not None and self.process.is_alive():
            try:
                self.conn.send(None)
                self.process.join(5)
            except (BrokenPipeError, OSError):
                pass
        self._stop()


def run_isolated(fn: Callable[[Any], Any], payload: Any, *, memory_bytes: int, timeout_s: float) -> WorkerResult:
    """``fn(payload)`` in a fresh child process; failures become a WorkerResult, never an exception."""
    worker = IsolatedWorker(memory_bytes)
    try:
        return worker.run(fn, payload, timeout_s)
    finally:
        worker.close()


def _exit_detail(process) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        import signal

        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


def _isolated_batch(args: tuple) -> list[WorkerResult]:
    """A Dask task: a batch of payloads through one reused isolated child, in order."""
    fn, payloads, memory_bytes, timeout_s = args
    results: list[WorkerResult] = [WorkerResult(False, failure="died")] * len(payloads)
    for i, result in run_many(fn, payloads, memory_bytes=memory_bytes, timeout_s=timeout_s, max_workers=1):
        results[i] = result
    return results


def run_many(
    fn: Callable[[Any], Any],
    payloads: list[Any],
    *,
    memory_bytes: int,
    timeout_s: float,
    max_workers: int | None = None,
    scheduler: str | None = None,
) -> Iterator[tuple[int, WorkerResult]]:
    """Yield (index, result) as each payload finishes, each in its own isolated child.

    ``scheduler`` is a Dask distributed scheduler address (``tcp://host:port``)
    or a ``distributed.Client``; each Dask task then runs the same isolated call
    on a worker of that cluster.
    """
    if not payloads:
        return
    if scheduler is not None:
        yield from _run_on_dask(fn, payloads, memory_bytes, timeout_s, scheduler)
        return
    count = max_workers or max(1, min(len(payloads), os.cpu_count() or 1))
    idle: queue.Queue[IsolatedWorker] = queue.Queue()
    for _ in range(count):
        idle.put(IsolatedWorker(memory_bytes))

    def run_on_an_idle_worker(payload: Any) -> WorkerResult:
        worker = idle.get()
        try:
            return worker.run(fn, payload, timeout_s)
        finally:
            idle.put(worker)

    try:
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="image-worker") as pool:
            futures = {pool.submit(run_on_an_idle_worker, p): i for i, p in enumerate(payloads)}
            for future in as_completed(futures):
                yield futures[future], future.result()
    finally:
        while not idle.empty():
            idle.get().close()


def _run_on_dask(fn, payloads, memory_bytes, timeout_s, scheduler) -> Iterator[tuple[int, WorkerResult]]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    own = not isinstance(scheduler, Client)
    client = Client(scheduler, set_as_default=False) if own else scheduler
    try:
        # Batches, about two per Dask thread: each reuses one isolated child for its images
        # (imports and S3 sessions paid once per batch), and no child outlives its task.
        slots = max(1, sum(client.nthreads().values()))
        size = max(1, math.ceil(len(payloads) / (2 * slots)))
        starts = list(range(0, len(payloads), size))
        futures = client.map(
            _isolated_batch, [(fn, payloads[s : s + size], memory_bytes, timeout_s) for s in starts], pure=False
        )
        first = {f.key: s for f, s in zip(futures, starts)}
        for future in dask_completed(futures, loop=client.loop):
            start = first[future.key]
            count = min(size, len(payloads) - start)
            try:
                results = future.result()
            except Exception as exc:  # noqa: BLE001 - the Dask worker itself failed: only its batch's images
                detail = f"Dask worker failed: {type(exc).__name__}: {exc}"
                results = [WorkerResult(False, failure="died", detail=detail)] * count
            for offset, result in enumerate(results):
                yield start + offset, result
    finally:
        if own:
            client.close()


def map_on_dask(
    fn: Callable[[Any], Any], payloads: list[Any], scheduler: Any,
) -> Iterator[tuple[int, Any | BaseException]]:
    """Yield (index, result) as each ``fn(payload)`` finishes as a Dask task; a failed task yields its exception.

    For work that is not a pixel read of untrusted data (custody copies between stores it
    bounds itself), so no isolated child is needed. ``scheduler`` is an address or a Client.
    OSError when the scheduler cannot be reached.
    """
    if not payloads:
        return
    from distributed import Client
    from distributed import as_completed as dask_completed

    own = not isinstance(scheduler, Client)
    client = Client(scheduler, set_as_default=False, timeout="10s") if own else scheduler
    try:
        futures = client.map(fn, payloads, pure=False)
        index = {future.key: number for number, future in enumerate(futures)}
        for future in dask_completed(futures, loop=client.loop):
            try:
                yield index[future.key], future.result()
            except Exception as exc:  # noqa: BLE001 - the task's own failure, reported for its payload
                yield index[future.key], exc
    finally:
        if own:
            client.close()
