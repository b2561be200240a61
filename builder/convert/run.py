"""Convert input files to OME-Zarr, each file in an isolated worker with a memory limit and a timeout.

The worker (builder.data.workers) opens the file, checks its declared
dimensions, and writes every image of it into a private work folder next to
the output. The parent then validates each written image with the archive's
own inspector (no errors allowed) and only then renames it to its final name,
so an interrupted or failed conversion never leaves something that looks like
a finished image.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.convert.errors import ConversionError

DEFAULT_TIMEOUT_S = 3600.0


@dataclass
class ConvertedImage:
    source: str
    path: Path
    name: str
    axes: str
    shape: list[int]
    dtype: str
    levels: int
    kind: str = "image"  # or "plate": an NGFF HCS plate whose fields have the shape above
    warnings: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # prefill facts (channels, sizes, acquisition)


def _convert_in_worker(payload: dict[str, Any]) -> dict[str, Any]:
    """Runs in the isolated child: every image of one file -> work/<i>.ome.zarr."""
    import dask

    from builder.convert import prefill
    from builder.convert.plates import open_input, write_plate
    from builder.convert.writer import write_image

    path = Path(payload["input"])
    work = Path(payload["work"])
    memory = int(payload["memory_bytes"])
    try:
        images, plate = open_input(path, block_limit_bytes=max(1, memory // 8))
        if payload.get("pixel_size"):
            for image in images:
                for axis, size in zip("xyz", payload["pixel_size"], strict=False):
                    if axis in image.axes:
                        image.pixel_sizes[axis] = (float(size), "micrometer")
                for axis, (size, _) in image.pixel_sizes.items():
                    if not size > 0:
                        raise ConversionError("CNV004", str(path), f"the {axis} pixel size is {size}")
        written = []
        progress = _progress() if payload.get("progress") else None
        options = {
            "version": payload["version"],
            "codec": payload["codec"],
            "progress": progress,
            # ngff-zarr writes images over this in slabs; // 4 took 69 s for a 2 GiB stack, // 3 55 s, // 2 ran out
            # of the worker's address space (RLIMIT_AS 1.5 GB; 2026-12-02, load 0.3-1.3)
            "memory_target": memory // 3,
            "cache_dir": work / "cache",
        }
        with dask.config.set(num_workers=int(payload.get("threads") or 2)), _progress_shown(progress):
            if plate is not None:
                out = work / "0.ome.zarr"
                summary = write_plate(plate, out, **options)
                first = images[0]
                summary.update(path=str(out), warnings=sorted({w for i in images for w in i.warnings}))
                summary["facts"] = {**prefill.facts_of(first), "kind": "plate", "name": plate.name}
                written.append(summary)
            for index, image in enumerate(images if plate is None else []):
                out = work / f"{index}.ome.zarr"
                summary = write_image(image, out, **options)
                summary.update(path=str(out), warnings=list(image.warnings), facts=prefill.facts_of(image))
                written.append(summary)
        return {"ok": True, "images": written}
    except ConversionError as exc:
        return {"ok": False, "error": exc.to_dict()}
    except MemoryError:
        raise
    except OSError as exc:  # a read error mid-way: the file is truncated or the disk failed
        return {"ok": False, "error": ConversionError("CNV002", str(path), f"{type(exc).__name__}: {exc}").to_dict()}


@contextlib.contextmanager
def _progress_shown(progress):
    if progress is None:
        yield
        return
    progress.rich.start()
    try:
        yield
    finally:
        progress.rich.stop()


def _progress():
    from ngff_zarr.rich_dask_progress import NgffProgress
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    return NgffProgress(
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
    )


def output_names(inputs: list[Path], counts: list[int], out: Path) -> tuple[bool, list[list[str]]]:
    """Whether ``out`` is one image (one input, one series, a .zarr name) or a folder, and each image's file name."""
    from builder.convert.prefill import _image_name

    single = len(inputs) == 1 and counts[0] == 1 and out.name.endswith(".zarr")
    names = [
        [f"{_image_name(path, i if count > 1 else None)}.ome.zarr" for i in range(count)]
        for path, count in zip(inputs, counts, strict=False)
    ]
    return single, names


def convert_files(
    inputs: list[Path],
    out: Path,
    *,
    settings,
    root: Path,
    version: str = "0.5",
    codec: str | None = None,
    memory_bytes: int | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    overwrite: bool = False,
    pixel_size: tuple[float, ...] | None = None,
    progress: bool = False,
    threads: int = 2,
    validate: bool = True,
    scheduler: str | None = None,
) -> list[ConvertedImage]:
    """Convert every input; ConversionError for the first file that fails (nothing of it is left behind).

    ``scheduler`` (tcp://host:port of a Dask distributed scheduler) converts the files in parallel
    on that cluster's workers, each still in an isolated child with the memory limit and timeout.
    """
    from builder.convert.writer import DEFAULT_CODEC
    from builder.data.workers import IsolatedWorker, run_many

    memory = memory_bytes or settings.limits.worker_memory_bytes
    out = out.expanduser().absolute()
    parent = out.parent if out.name.endswith(".zarr") else out
    if out.name.endswith(".zarr") and out.exists() and not overwrite:
        raise ConversionError("CNV006", str(out), "already exists")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConversionError("CNV006", str(out), f"cannot create the folder: {exc.strerror}") from None
    work = parent / f".bioarchive-convert-{uuid.uuid4().hex[:12]}"
    results: list[tuple[Path, list[dict[str, Any]]]] = []
    client = _connect(scheduler) if scheduler else None
    worker = None if client else IsolatedWorker(memory)  # reused across files (imports paid once)
    try:
        work.mkdir()
        payloads = []
        for index, path in enumerate(inputs):
            file_work = work / str(index)
            file_work.mkdir()
            payloads.append(
                {
                    "input": str(Path(path).absolute()),
                    "work": str(file_work),
                    "memory_bytes": memory,
                    "version": version,
                    "codec": codec or DEFAULT_CODEC,
                    "pixel_size": pixel_size,
                    "progress": progress and client is None,
                    "threads": threads,
                }
            )
        if client is not None:
            # Each file is a Dask task that runs the same isolated, memory-limited child on a worker
            # of the cluster (builder.data.workers.run_many); the work folder must be shared with it.
            done = dict(run_many(_convert_in_worker, payloads, memory_bytes=memory, timeout_s=timeout_s,
                                 scheduler=client))
            outcomes = [done[i] for i in range(len(payloads))]
        else:
            assert worker is not None
            outcomes = []
            for payload in payloads:
                outcomes.append(worker.run(_convert_in_worker, payload, timeout_s))
                if not (outcomes[-1].ok and outcomes[-1].value["ok"]):
                    break  # the first failure is reported; later files are not converted
        for path, result in zip(inputs, outcomes, strict=False):
            if not result.ok:
                if result.failure in ("memory", "timeout", "died"):
                    raise ConversionError(
                        "CNV005",
                        str(path),
                        f"conversion stopped: {result.failure} ({result.detail}) "
                        f"with a limit of {memory} bytes and {timeout_s:g} s",
                    )
                raise ConversionError("CNV002", str(path), result.detail)
            if not result.value["ok"]:
                raise ConversionError(**{k: v for k, v in result.value["error"].items() if k != "fix"})
            results.append((Path(path), result.value["images"]))
        single, names = output_names([p for p, _ in results], [len(images) for _, images in results], out)
        finals = [out if single else out / name for file_names in names for name in file_names]
        for final in finals:
            if final.exists() and not overwrite:
                raise ConversionError("CNV006", str(final), "already exists")
        if validate:
            written = [image for _, images in results for image in images]
            _validate(
                [Path(image["path"]) for image in written],
                finals,
                settings,
                root,
                kinds=[image.get("kind", "image") for image in written],
            )
        converted = []
        i = 0
        for path, images in results:
            for image in images:
                final = finals[i]
                i += 1
                _move_into_place(Path(image["path"]), final)
                converted.append(
                    ConvertedImage(
                        source=str(path),
                        path=final,
                        name=image["name"],
                        axes=image["axes"],
                        shape=image["shape"],
                        dtype=image["dtype"],
                        levels=image["levels"],
                        kind=image.get("kind", "image"),
                        warnings=image["warnings"],
                        facts=image["facts"],
                    )
                )
        return converted
    finally:
        if worker is not None:
            worker.close()
        if client is not None:
            client.close()
        shutil.rmtree(work, ignore_errors=True)


def _connect(scheduler: str):
    """A client of the Dask scheduler at ``scheduler`` (tcp://host:port); CNV012 when it does not answer."""
    try:
        from distributed import Client

        return Client(scheduler, set_as_default=False, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConversionError("CNV012", scheduler, f"no Dask scheduler answered: {type(exc).__name__}: {exc}") from None


def _move_into_place(written: Path, final: Path) -> None:
    if final.exists():  # --overwrite: move the old one aside first, so a crash never leaves neither
        aside = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(final, aside)
        os.replace(written, final)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        os.replace(written, final)


def _validate(paths: list[Path], finals: list[Path], settings, root: Path, kinds: list[str] | None = None) -> None:
    """Every written image must pass the archive's own inspector without errors before it gets its name."""
    from builder.core.checks import Severity
    from builder.data.inspection import ImageTarget, inspect_images

    kinds = kinds or ["image"] * len(paths)
    targets = [
        ImageTarget(key=str(i), url=str(p), kind=kind, untrusted=False)
        for i, (p, kind) in enumerate(zip(paths, kinds, strict=True))
    ]
    outcomes = inspect_images(targets, settings, root)
    for target, final in zip(targets, finals, strict=False):
        errors = [d for d in outcomes[target.key].diagnostics if d.severity is Severity.ERROR]
        if errors:
            text = "; ".join(f"{d.check}: {d.message}" for d in errors)
            raise ConversionError("CNV007", str(final), f"the written image does not validate: {text}")
