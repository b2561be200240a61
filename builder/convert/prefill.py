"""What a new record can know from the image files: images, channels, instrument, pixel sizes, a method.

``bioarchive new --from IMAGE...`` calls :func:`prefill_record` on the
scaffold it wrote. The files are opened (headers and metadata only, no
pixels) in an isolated worker with the archive's memory limit, like any
untrusted input. The record's ``datasets`` section is then rewritten with:
one image per series (named from the file, its URL the place where
``bioarchive convert`` and ``bioarchive upload`` will put it), one
``signal_contrast`` entry per channel, the instrument and objective, the
dimensions and pixel sizes as acquisition parameters, and an imaging
method when the metadata states one and none was given on the command line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from builder.convert.errors import ConversionError

IMAGES_DIR = "images"  # studies/<ACC>/images/: converted images before upload (git-ignored)
NAME_RE = re.compile(r"[^A-Za-z0-9._-]+")


def facts_of(image) -> dict[str, Any]:
    """A SourceImage's metadata as plain data (crosses the worker boundary)."""
    from builder.convert.metadata import suggest_method

    method = suggest_method(image.channels, image.acquisition, image.format)
    return {
        "file": image.file,
        "format": image.format,
        "name": image.name,
        "series": image.series,
        "axes": image.axes,
        "shape": list(image.shape),
        "dtype": str(image.dtype),
        "pixel_sizes": {a: list(v) for a, v in image.pixel_sizes.items()},
        "time_increment": list(image.time_increment) if image.time_increment else None,
        "channels": [{k: v for k, v in vars(c).items() if v not in (None, "")} for c in image.channels],
        "acquisition": image.acquisition.to_dict(),
        "method": list(method) if method else None,
    }


def _facts_in_worker(payload: dict[str, Any]) -> dict[str, Any]:
    from builder.convert.plates import open_input

    try:
        images, plate = open_input(Path(payload["input"]), block_limit_bytes=max(1, payload["memory_bytes"] // 8))
        if plate is not None:  # one plate image in the record, described by its first field
            fields = len(plate.fields)
            facts = {**facts_of(images[0]), "file": payload["input"], "kind": "plate", "name": plate.name}
            facts["plate"] = f"{len(plate.wells())} wells, {fields} fields"
            return {"ok": True, "images": [facts]}
        return {"ok": True, "images": [facts_of(i) for i in images]}
    except ConversionError as exc:
        return {"ok": False, "error": exc.to_dict()}


def read_facts(paths: list[Path], settings) -> list[dict[str, Any]]:
    """Facts of every image in the files (``.ome.zarr`` folders written by convert count too)."""
    from builder.data.workers import run_isolated

    facts: list[dict[str, Any]] = []
    memory = settings.limits.worker_memory_bytes
    for path in paths:
        path = Path(path)
        if path.name.endswith(".zarr") and path.is_dir():
            facts.append(_facts_of_converted(path))
            continue
        result = run_isolated(
            _facts_in_worker,
            {"input": str(path.absolute()), "memory_bytes": memory},
            memory_bytes=memory,
            timeout_s=settings.limits.image_timeout_s,
        )
        if not result.ok:
            raise ConversionError(
                "CNV005" if result.failure in ("memory", "timeout") else "CNV002",
                str(path),
                f"reading the metadata failed: {result.failure} {result.detail}",
            )
        if not result.value["ok"]:
            raise ConversionError(**{k: v for k, v in result.value["error"].items() if k != "fix"})
        many = len(result.value["images"]) > 1
        for i, f in enumerate(result.value["images"]):
            f["image_name"] = _image_name(path, i if many else None)
            facts.append(f)
    return facts


def _facts_of_converted(path: Path) -> dict[str, Any]:
    import json

    try:
        doc = json.loads((path / "zarr.json").read_text("utf-8"))
        attrs = doc.get("attributes", {})
        if "plate" in (attrs.get("ome") or {}):
            return _facts_of_converted_plate(path, attrs, attrs["ome"]["plate"])
        multiscale = attrs["ome"]["multiscales"][0]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        try:
            attrs = json.loads((path / ".zattrs").read_text("utf-8"))
            multiscale = attrs["multiscales"][0]
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            raise ConversionError("CNV002", str(path), "not an OME-Zarr image (no multiscales metadata)") from None
    source = (attrs.get("bioarchive") or {}).get("source") or {}
    axes = "".join(a["name"] for a in multiscale.get("axes", []))
    transforms = multiscale["datasets"][0].get("coordinateTransformations", [])
    scale: list[float] = next((t["scale"] for t in transforms if t.get("type") == "scale"), [])
    units = {a["name"]: a.get("unit") for a in multiscale.get("axes", [])}
    sizes = {a: [s, units.get(a)] for a, s in zip(axes, scale, strict=False) if a in "zyx" and units.get(a)}
    from builder.convert.metadata import AcquisitionInfo, ChannelInfo, suggest_method

    channels = source.get("channels") or [
        {"name": c.get("label", "")} for c in (attrs.get("ome", attrs).get("omero") or {}).get("channels", [])
    ]
    acquisition = source.get("acquisition") or {}
    method = suggest_method(
        [ChannelInfo(**{k: v for k, v in c.items() if k in ChannelInfo.__dataclass_fields__}) for c in channels],
        AcquisitionInfo(**{k: v for k, v in acquisition.items() if k in AcquisitionInfo.__dataclass_fields__}),
        source.get("format", ""),
    )
    name = path.name[: -len(".ome.zarr")] if path.name.endswith(".ome.zarr") else path.stem
    return {
        "file": str(path),
        "format": source.get("format", "ome-zarr"),
        "name": name,
        "axes": axes,
        "shape": [],
        "dtype": "",
        "pixel_sizes": sizes,
        "time_increment": None,
        "channels": channels,
        "acquisition": acquisition,
        "method": list(method) if method else None,
        "image_name": NAME_RE.sub("_", name).strip("._-") or "image",
        "converted": True,
    }


def _facts_of_converted_plate(path: Path, attrs: dict[str, Any], plate: dict[str, Any]) -> dict[str, Any]:
    """A converted plate's facts from its first field (same keys as an image's)."""
    wells = plate.get("wells") or []
    first = f"{wells[0]['path']}/0" if wells and isinstance(wells[0], dict) and "path" in wells[0] else None
    facts = _facts_of_converted(path / first) if first and (path / first).is_dir() else {}
    name = path.name[: -len(".ome.zarr")] if path.name.endswith(".ome.zarr") else path.stem
    return {
        **facts,
        "file": str(path),
        "name": name,
        "image_name": NAME_RE.sub("_", name).strip("._-") or "plate",
        "kind": "plate",
        "plate": f"{len(wells)} wells",
        "converted": True,
    }


def _image_name(path: Path, series: int | None) -> str:
    stem = path.name
    for suffix in (".ome.tiff", ".ome.tif"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    else:
        stem = path.stem
    name = NAME_RE.sub("_", stem).strip("._-") or "image"
    return f"{name}_{series}" if series is not None else name


def _size_text(facts: dict[str, Any]) -> str:
    parts = []
    if facts.get("shape"):
        parts.append(
            " x ".join(f"{n} {a}" for a, n in zip(facts["axes"], facts["shape"], strict=False)) + f" ({facts['dtype']})"
        )
    sizes = facts.get("pixel_sizes") or {}
    if sizes:
        parts.append(
            "pixel size "
            + ", ".join(f"{a} {v[0]:g} {v[1] or ''}".rstrip() for a, v in sorted(sizes.items(), reverse=True))
        )
    if facts.get("time_increment"):
        parts.append(f"time step {facts['time_increment'][0]:g} {facts['time_increment'][1]}")
    return "; ".join(parts)


def dataset_fields(facts: list[dict[str, Any]]) -> dict[str, Any]:
    """The prefilled parts of the first dataset: images, signal_contrast, instrument, parameters, method."""
    from builder.records.load import SCAFFOLD_TEXTS  # unknown contrasts keep guidance text, flagged by MOD050

    images = []
    seen: set[str] = set()
    for f in facts:
        name = f["image_name"]
        while name in seen:
            name += "_"
        seen.add(name)
        entry = {"name": name, "url": f"{IMAGES_DIR}/{name}.ome.zarr"}
        if f.get("kind") == "plate":
            entry["kind"] = "plate"
        description = _size_text(f)
        if f.get("plate"):
            description = f"a plate of {f['plate']}; each field {description}"
        if description:
            entry["description"] = f"From {Path(f['file']).name}: {description}"
        images.append(entry)
    signals = []
    channel_names: set[str] = set()
    channel_notes: list[str] = []
    for f in facts:
        for c in f.get("channels") or []:
            name = str(c.get("name") or "").strip()
            if not name or name in channel_names:
                continue
            channel_names.add(name)
            contrast = c.get("fluor") or c.get("contrast_method") or ""
            waves = [
                f"{label} {c[key]:g} nm"
                for key, label in (("excitation_nm", "excitation"), ("emission_nm", "emission"))
                if isinstance(c.get(key), (int, float))
            ]
            if contrast:
                signals.append({"channel": name, "contrast": ", ".join([contrast, *waves])})
            else:  # wavelengths alone do not name the dye: keep the guidance text, note them with the parameters
                signals.append({"channel": name, "contrast": SCAFFOLD_TEXTS["signal_contrast"]})
                if waves:
                    channel_notes.append(f"channel {name}: {', '.join(waves)}")
    acquisitions = [f.get("acquisition") or {} for f in facts]
    microscope = next((a["microscope"] for a in acquisitions if a.get("microscope")), None)
    objective = next((a["objective"] for a in acquisitions if a.get("objective")), None)
    detector = next((a["detector"] for a in acquisitions if a.get("detector")), None)
    parameters = []
    if objective:
        parameters.append(f"objective {objective}")
    if detector:
        parameters.append(f"detector {detector}")
    sizes = sorted(
        {_size_text({"pixel_sizes": f.get("pixel_sizes"), "time_increment": f.get("time_increment")}) for f in facts}
        - {""}
    )
    parameters += sizes + channel_notes
    methods = [tuple(f["method"]) for f in facts if f.get("method")]
    return {
        "images": images,
        "signal_contrast": signals,
        "instrument": microscope,
        "parameters": "; ".join(parameters) or None,
        "method": methods[0] if methods and len(set(methods)) == 1 else None,
    }


def prefill_record(text: str, paths: list[Path], settings, *, method_given: bool, folder: Path | None = None) -> str:
    """The scaffold ``text`` with its first dataset filled in from the files at ``paths``."""
    import yaml

    from builder.convert.record_text import read_record

    where = str(folder / "study.yaml") if folder is not None else "study.yaml"
    # The scaffold carries the depositor's command-line values: read it within the records stage's bounds.
    record = read_record(text, where, settings).data
    datasets = record.get("datasets")
    if not (isinstance(datasets, list) and datasets and isinstance(datasets[0], dict)):
        raise ConversionError("CNV013", where, "the record has no datasets section to fill in")
    facts = read_facts(paths, settings)
    if not facts:
        raise ConversionError("CNV002", ", ".join(str(p) for p in paths), "no images found in the given files")
    fields = dataset_fields(facts)
    dataset = datasets[0]
    dataset["images"] = fields["images"]
    if fields["signal_contrast"]:
        dataset.setdefault("specimen", {})["signal_contrast"] = fields["signal_contrast"]
    if fields["instrument"]:
        dataset.setdefault("acquisition", {})["instrument"] = fields["instrument"]
    if fields["parameters"]:
        dataset.setdefault("acquisition", {})["parameters"] = fields["parameters"]
    if fields["method"] and not method_given:
        method_id, method_label = fields["method"]
        dataset.setdefault("acquisition", {})["imaging_method"] = [{"id": method_id, "label": method_label}]
    match = re.search(r"^(# A dataset groups[^\n]*\n)?datasets:", text, flags=re.M)
    head = text[: match.start()] if match else text
    body = yaml.safe_dump({"datasets": record["datasets"]}, sort_keys=False, allow_unicode=True, width=100)
    note = (
        "# A dataset groups images sharing biosample, specimen preparation and acquisition.\n"
        f"# Prefilled from {len(paths)} file(s) by `bioarchive new --from`: check every value. Convert the files with\n"
        f"#   bioarchive convert <files> -o studies/{record['accession']}/{IMAGES_DIR}/\n"
        f"# and upload them with `bioarchive upload studies/{record['accession']}`, which rewrites the URLs.\n"
    )
    if folder is not None:
        images = folder / IMAGES_DIR
        images.mkdir(exist_ok=True)
        (images / ".gitignore").write_text("# converted images are uploaded, never committed\n*\n", encoding="utf-8")
    return head + note + body


def prefill_or_exit(path: Path, images: list[Path], settings, *, method_given: bool) -> None:
    """Prefill the new record at ``path`` in place; on bad images remove the new study and exit with the error."""
    import shutil

    import click

    try:
        text = prefill_record(path.read_text("utf-8"), images, settings, method_given=method_given, folder=path.parent)
    except ConversionError as exc:
        shutil.rmtree(path.parent, ignore_errors=True)
        raise click.ClickException(f"{exc}\nNo study was created.") from None
    path.write_text(text, encoding="utf-8")
    click.echo(f"prefilled {len(images)} file(s): images, channels and instrument; check them in {path.name}", err=True)
