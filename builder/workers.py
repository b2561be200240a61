"""Run untrusted decoding in child processes with a memory limit and a timeout.

A decompression bomb (a chunk declared small that inflates to gigabytes) or a
server that hangs must cost one image's diagnostic, not the build. Each image
is handled in its own short-lived child process, forked from a forkserver that
has the heavy modules loaded already (so a child starts in milliseconds), with
``RLIMIT_AS = limits.worker_memory_bytes``; the parent kills it after
``limits.image_timeout_s`` (plus a grace period for the child's own, clearer
deadline to fire first). One process per task means a dead worker never breaks
the others: there is no shared pool state to recover.

Many images run concurrently through :func:`run_many`: a local thread pool that
launches the isolated children, or, given a scheduler address, the same
isolated call submitted to a Dask distributed cluster.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

# Modules the forkserver imports once, so each child does not pay for them.
# "__main__" makes it import the main script once too; otherwise every child
# re-imports it (~0.2 s under pytest). Scripts need the usual __main__ guard.
PRELOAD = [

    "numpy", "zarr", "zarr.codecs", "numcodecs", "requests", "s3fs", "PIL.Image", "PIL.WebPImagePlugin",
    "PIL.PngImagePlugin", "ome_zarr_models.v04", "ome_zarr_models.v05", "builder.data", "builder.arrays",
    "builder.ngff.checks", "builder.render",
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


def _child_main(conn, fn: Callable[[Any], Any], payload: Any, memory_bytes: int) -> None:
    try:
        _limit_memory(memory_bytes)
        try:
            result = ("ok", fn(payload))
        except MemoryError:
            result = ("memory", "out of memory")
        except BaseException as exc:  # report, never a traceback on the parent's terminal
            result = ("error", f"{type(exc).__name__}: {str(exc)[:500]}")
        try:
            conn.send(result)
        except MemoryError:
            conn.send(("memory", "out of memory while sending the result"))
    finally:
        conn.close()
        os._exit(0)  # skip interpreter teardown: threads of zarr/s3fs may still hold locks


def run_isolated(fn: Callable[[Any], Any], payload: Any, *, memory_bytes: int, timeout_s: float) -> WorkerResult:
    """``fn(payload)`` in a fresh child process; failures become a WorkerResult, never an exception."""
    ctx = _mp_context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(target=_child_main, args=(sender, fn, payload, memory_bytes), daemon=True)
    process.start()
    sender.close()
    try:
        if receiver.poll(timeout_s):
            try:
                status, value = receiver.recv()
            except (EOFError, OSError):
                return WorkerResult(False, failure=_death(process), detail=_exit_detail(process))
            if status == "ok":
                return WorkerResult(True, value)
            return WorkerResult(False, failure=status, detail=value)
        return WorkerResult(False, failure="timeout", detail=f"no result after {timeout_s:g} s")
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5)


def _death(process) -> str:
    process.join(5)
    return "died"


def _exit_detail(process) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        import signal

        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


def _isolated_task(args: tuple) -> WorkerResult:
    fn, payload, memory_bytes, timeout_s = args
    return run_isolated(fn, payload, memory_bytes=memory_bytes, timeout_s=timeout_s)


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
    workers = max_workers or max(1, min(len(payloads), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image-worker") as pool:
        futures = {
            pool.submit(run_isolated, fn, p, memory_bytes=memory_bytes, timeout_s=timeout_s): i
            for i, p in enumerate(payloads)
        }
        for future in as_completed(futures):
            yield futures[future], future.result()


def _run_on_dask(fn, payloads, memory_bytes, timeout_s, scheduler) -> Iterator[tuple[int, WorkerResult]]:
    from distributed import Client
    from distributed import as_completed as dask_completed

    own = not isinstance(scheduler, Client)
    client = Client(scheduler, set_as_default=False) if own else scheduler
    try:
        futures = client.map(
            _isolated_task, [(fn, p, memory_bytes, timeout_s) for p in payloads], pure=False
        )
        index = {f.key: i for i, f in enumerate(futures)}
        for future in dask_completed(futures, loop=client.loop):
            i = index[future.key]
            try:
                yield i, future.result()
            except Exception as exc:  # the Dask worker itself failed: this image only
                yield i, WorkerResult(False, failure="died", detail=f"Dask worker failed: {type(exc).__name__}: {exc}")
    finally:
        if own:
            client.close()
