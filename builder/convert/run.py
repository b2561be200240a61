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
from typing import TYPE_CHECKING, Any

from builder.convert.errors import ConversionError

if TYPE_CHECKING:
    from builder.convert.plates import PlateLayout
    from builder.convert.readers import SourceImage

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
    from builder.convert.plates import write_plate
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
            "memory_target": memory // 4,
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


def open_input(path: Path, *, block_limit_bytes: int) -> tuple[list[SourceImage], PlateLayout | None]:
    """The images of one input, and the plate they form when the input is a plate acquisition.

    A folder is a plate of per-well files; an OME-TIFF is a plate when its OME-XML describes one.
    """
    from builder.convert.plates import check_fields, folder_plate_layout, is_plate_folder, ome_plate_layout
    from builder.convert.readers import open_images

    plate: PlateLayout | None
    if is_plate_folder(path):
        plate = folder_plate_layout(path)
        for f in plate.fields:
            opened = open_images(path / f.origin, block_limit_bytes=block_limit_bytes)
            if len(opened) != 1:
                raise ConversionError("CNV014", str(path / f.origin), f"holds {len(opened)} images, not one field")
            f.image = opened[0]
    else:
        images = open_images(path, block_limit_bytes=block_limit_bytes)
        xml = images[0].ome_xml if images else None
        plate = ome_plate_layout(path, xml, ome_image_ids(xml)) if xml and "Plate" in xml else None
        if plate is None:
            return images, None
        by_series = {image.series: image for image in images}
        for f in plate.fields:
            f.image = by_series.get(f.series)
            if f.image is None:
                raise ConversionError("CNV008", str(path), f"{f.origin} has no pixels in the file")
        if len(plate.fields) != len(images):
            placed = {f.series for f in plate.fields}
            loose = [image.name for image in images if image.series not in placed]
            raise ConversionError(
                "CNV008", str(path), f"the plate places {len(plate.fields)} of {len(images)} images; not placed: "
                f"{', '.join(loose[:5])}"
            )
    check_fields(str(path), plate)
    return [f.image for f in plate.fields if f.image is not None], plate


def ome_image_ids(xml: str) -> list[str]:
    import tifffile

    images = tifffile.xml2dict(xml).get("OME", {}).get("Image")
    images = images if isinstance(images, list) else [images] if images else []
    return [str(image.get("ID")) for image in images if isinstance(image, dict)]


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
) -> list[ConvertedImage]:
    """Convert every input; ConversionError for the first file that fails (nothing of it is left behind)."""
    from builder.convert.writer import DEFAULT_CODEC
    from builder.data.workers import IsolatedWorker

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
    worker = IsolatedWorker(memory)  # reused across files (imports paid once), replaced after a failure
    try:
        work.mkdir()
        for index, path in enumerate(inputs):
            file_work = work / str(index)
            file_work.mkdir()
            payload = {
                "input": str(Path(path).absolute()),
                "work": str(file_work),
                "memory_bytes": memory,
                "version": version,
                "codec": codec or DEFAULT_CODEC,
                "pixel_size": pixel_size,
                "progress": progress,
                "threads": threads,
            }
            result = worker.run(_convert_in_worker, payload, timeout_s)
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
        worker.close()
        shutil.rmtree(work, ignore_errors=True)


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
