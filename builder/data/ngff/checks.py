"""Validate NGFF metadata already fetched: ome-zarr-models, then stricter checks of our own.

Pure: works on the parsed documents (:mod:`builder.data.ngff.read`), never on a
store, so validating a plate costs no requests beyond those the data stage made
(ome-zarr-models' own ``from_zarr`` crawls a whole plate: 68-172 requests).
Each problem is one Diagnostic naming the URL, the document and the key.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any

import numpy as np
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from builder.core.checks import Diagnostic, Severity
from builder.data import checks as C
from builder.data.checks import image_diagnostic
from builder.data.ngff.read import SUPPORTED_VERSIONS, ArrayMeta, GroupMeta, Multiscale

MAX_MODEL_ERRORS = 10
SPACE_UNITS = {
    "angstrom", "attometer", "centimeter", "decimeter", "exameter", "femtometer", "foot", "gigameter",
    "hectometer", "inch", "kilometer", "megameter", "meter", "micrometer", "mile", "millimeter", "nanometer",
    "parsec", "petameter", "picometer", "terameter", "yard", "yoctometer", "yottameter", "zeptometer",
    "zettameter",
}
TIME_UNITS = {
    "attosecond", "centisecond", "day", "decisecond", "exasecond", "femtosecond", "gigasecond", "hectosecond",
    "hour", "kilosecond", "megasecond", "microsecond", "millisecond", "minute", "nanosecond", "petasecond",
    "picosecond", "second", "terasecond", "yoctosecond", "yottasecond", "zeptosecond", "zettasecond",
}
HEX6 = re.compile(r"[0-9A-Fa-f]{6}")
INTEGER_DTYPES = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"}
MIN_YX_CHUNK = 32
MAX_YX_CHUNK = 8192


def _model_for(kind: str, version: str) -> type[BaseModel]:
    models: dict[str, type[BaseModel]]
    if version == "0.4":
        from ome_zarr_models.v04 import hcs as hcs04
        from ome_zarr_models.v04 import image as image04
        from ome_zarr_models.v04 import image_label as image_label04
        from ome_zarr_models.v04 import labels as labels04
        from ome_zarr_models.v04 import well as well04
        models = {
            "image": image04.ImageAttrs, "labels": image_label04.ImageLabelAttrs, "plate": hcs04.HCSAttrs,
            "well": well04.WellAttrs, "labels-group": labels04.LabelsAttrs,
        }
    else:
        from ome_zarr_models.v05 import hcs as hcs05
        from ome_zarr_models.v05 import image as image05
        from ome_zarr_models.v05 import image_label as image_label05
        from ome_zarr_models.v05 import labels as labels05
        from ome_zarr_models.v05 import well as well05
        models = {
            "image": image05.ImageAttrs, "labels": image_label05.ImageLabelAttrs, "plate": hcs05.HCSAttrs,
            "well": well05.WellAttrs, "labels-group": labels05.LabelsAttrs,
        }
    return models[kind]


def validate_group(group: GroupMeta, url: str) -> list[Diagnostic]:
    """Version support and the ome-zarr-models verdict on one group's NGFF block."""
    doc = group.doc_key
    kind = group.kind
    if kind is None:
        return [image_diagnostic(
            C.IMG001, "no 'multiscales', 'plate', 'well' or 'labels' metadata found"
            + (" (NGFF 0.5 keeps it under attributes.ome)" if group.zarr_format == 3 else "")
            + container_hint(group, url),
            url=url, doc=doc, key=group.key_prefix.rstrip(".") or "(top level)")]
    if group.version not in SUPPORTED_VERSIONS:
        return [image_diagnostic(
            C.IMG003, f"NGFF version {group.version!r} is not supported (0.4 with Zarr v2, 0.5 with Zarr v3)",
            url=url, doc=doc, key=f"{group.key_prefix}version")]
    expected_format = 2 if group.version == "0.4" else 3
    if group.zarr_format != expected_format:
        return [image_diagnostic(
            C.IMG003,
            f"NGFF {group.version} must be stored as Zarr v{expected_format}, found Zarr v{group.zarr_format}",
            url=url, doc=doc, key=f"{group.key_prefix}version")]
    attrs = dict(group.ome)
    if kind == "labels-group" and group.version == "0.5":
        attrs.setdefault("version", "0.5")  # ome-zarr-py writes 0.5 labels groups without it (field notes)
    model = _model_for(kind, group.version)
    try:
        with warnings.catch_warnings():
            # the models warn (not fail) about 0.5 blocks that omit their own version; the spec allows that
            warnings.simplefilter("ignore")
            model.model_validate(attrs)
    except ValidationError as exc:
        out = model_diagnostics(exc, group, url)
    except (TypeError, ValueError) as exc:  # validators of the library may raise plain errors
        out = [image_diagnostic(C.IMG002, str(exc)[:300], url=url, doc=doc, key=group.key_prefix.rstrip("."))]
    else:
        out = []
    # ome-zarr-models accepts some metadata the specification forbids (field notes): our own rules
    return out + _dedupe_keys(out, check_blocks(group, url))


def container_hint(group: GroupMeta, url: str) -> str:
    """Where the images of a bioformats2raw container are, when the URL names the container itself."""
    base = url.rstrip("/")
    series = group.ome.get("series")
    if isinstance(series, list) and base.rsplit("/", 1)[-1] == "OME":
        first = series[0] if series and isinstance(series[0], str) else "0"
        return f"; this is the OME/ series list of a bioformats2raw container: open {base.rsplit('/', 1)[0]}/{first}"
    if "bioformats2raw.layout" in group.ome:
        return f"; this is a bioformats2raw container: its images are the groups 0, 1, ... inside it, open {base}/0"
    return ""


def model_diagnostics(exc: ValidationError, group: GroupMeta, url: str) -> list[Diagnostic]:
    """One IMG002 per offending key, with the key as the document spells it (no pydantic internals)."""
    out: list[Diagnostic] = []
    seen: set[str] = set()
    for err in exc.errors():
        loc = err.get("loc", ())
        if loc and loc[0] == "omero":
            continue  # omero gets the stricter checks of check_omero
        key, union_at = _loc(loc)
        # a union reports one error per failed branch: the first is the real problem, the rest repeat it
        token = group.key_prefix + (union_at if union_at is not None else key)
        if token in seen:
            continue
        seen.add(token)
        out.append(image_diagnostic(C.IMG002, _model_message(err), url=url, doc=group.doc_key,
                                    key=group.key_prefix + key))
        if len(out) >= MAX_MODEL_ERRORS:
            break
    return out


def _model_message(err: ErrorDetails) -> str:
    message = str(err.get("msg", "invalid"))
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return _PY_NONE.sub("null", message)  # validators print Python values; documents are JSON


_PY_NONE = re.compile(r"\bNone\b")


def _loc(loc) -> tuple[str, str | None]:
    """A pydantic location as a document key path, and where a union starts in it (None: no union).

    Pydantic adds union and validator steps that are not keys of the document:
    ``('multiscales', 0, 'coordinateTransformations', 'tuple[union[VectorScale,PathScale]]', 0,
    'VectorScale', 'scale', 0)`` is the key ``multiscales[0].coordinateTransformations[0].scale[0]``,
    its union at ``multiscales[0].coordinateTransformations``.
    """
    out = ""
    union_at = None
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        part = str(part)
        if _INTERNAL_STEP.search(part) or part[:1].isupper():  # 'tuple[...]', 'function-after[...]', class names
            if union_at is None:
                union_at = out
            continue
        out += ("." if out else "") + part
    return out, union_at


_INTERNAL_STEP = re.compile(r"[\[\](),]")


def _dedupe_keys(first: list[Diagnostic], more: list[Diagnostic]) -> list[Diagnostic]:
    """Our own findings, minus those the models already reported at the same key."""
    keys = {d.extra.get("key") for d in first}
    return [d for d in more if d.extra.get("key") not in keys]


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_blocks(group: GroupMeta, url: str) -> list[Diagnostic]:
    """MUST rules of plate, well and image-label blocks that ome-zarr-models 1.7 lets through."""
    doc, p = group.doc_key, group.key_prefix
    out: list[Diagnostic] = []

    def bad(key: str, message: str) -> None:
        out.append(image_diagnostic(C.IMG002, message, url=url, doc=doc, key=p + key))

    plate = group.ome.get("plate")
    if isinstance(plate, dict) and isinstance(plate.get("acquisitions"), list):
        for i, acq in enumerate(plate["acquisitions"]):
            if not isinstance(acq, dict):
                continue
            if "id" in acq and not (_is_int(acq["id"]) and acq["id"] >= 0):
                bad(f"plate.acquisitions[{i}].id",
                    f"acquisition id {_short(acq['id'])} must be a non-negative integer (not a string)")
            for name in ("starttime", "endtime"):
                if name in acq and not (_is_int(acq[name]) and acq[name] >= 0):
                    bad(f"plate.acquisitions[{i}].{name}",
                        f"{name} {_short(acq[name])} must be a non-negative integer (a Unix epoch time)")
    well = group.ome.get("well")
    if isinstance(well, dict) and isinstance(well.get("images"), list):
        for i, image in enumerate(well["images"]):
            if isinstance(image, dict) and "acquisition" in image and not _is_int(image["acquisition"]):
                bad(f"well.images[{i}].acquisition",
                    f"acquisition {_short(image['acquisition'])} must be an integer id of plate.acquisitions")
    label = group.ome.get("image-label")
    if isinstance(label, dict):
        for name in ("colors", "properties"):
            if name in label and not (isinstance(label[name], list) and label[name]):
                bad(f"image-label.{name}", f"{name} must be a non-empty list when given; leave it out instead")
    return out


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_multiscale(
    group: GroupMeta, ms: Multiscale, arrays: dict[str, ArrayMeta], url: str, *, prefix: str = ""
) -> list[Diagnostic]:
    """Axes, transformations, level consistency and chunk shapes, stricter than the models."""
    doc = group.doc_key
    p = f"{group.key_prefix}multiscales[0]"
    out: list[Diagnostic] = []
    names = [a.name for a in ms.axes]

    # axes (IMG004): 2-3 space axes, at most one time axis and one channel or custom (or untyped) axis,
    # ordered time, channel/custom, space. Types other than time, channel and space are allowed.
    if not 2 <= len(ms.axes) <= 5:
        out.append(image_diagnostic(C.IMG004, f"{len(ms.axes)} axes; NGFF images have 2 to 5", url=url, doc=doc,
                                    key=f"{p}.axes"))
    if len(set(names)) != len(names):
        out.append(image_diagnostic(C.IMG004, f"axis names repeat: {names}", url=url, doc=doc, key=f"{p}.axes"))
    rank = {"time": 0, "space": 2}  # channel, custom and untyped axes rank 1
    kinds = [a.type if a.type in ("time", "space") else "other" for a in ms.axes]
    n_space, n_time, n_other = kinds.count("space"), kinds.count("time"), kinds.count("other")
    if not 2 <= n_space <= 3:
        out.append(image_diagnostic(C.IMG004, f"{n_space} axes of type 'space'; NGFF images have 2 or 3",
                                    url=url, doc=doc, key=f"{p}.axes"))
    if n_time > 1 or n_other > 1:
        out.append(image_diagnostic(
            C.IMG004, f"{n_time} time axes and {n_other} channel or custom axes; at most one of each", url=url,
            doc=doc, key=f"{p}.axes"))
    last = -1
    for i, a in enumerate(ms.axes):
        order = rank.get(a.type or "", 1)
        if order < last:
            out.append(image_diagnostic(C.IMG004, f"axis '{a.name}' ({_axis_kind(a.type)}) comes after a later kind "
                                        "of axis; order time, channel or custom, then space", url=url, doc=doc,
                                        key=f"{p}.axes[{i}]"))
        last = max(last, order)
        units = SPACE_UNITS if a.type == "space" else TIME_UNITS if a.type == "time" else None
        if units is not None and a.unit is not None and a.unit not in units:
            out.append(image_diagnostic(C.IMG004, f"unit {a.unit!r} of axis '{a.name}' is not an NGFF {a.type} unit",
                                        url=url, doc=doc, key=f"{p}.axes[{i}].unit", severity=Severity.WARNING))
    if "y" not in names or "x" not in names:
        out.append(image_diagnostic(C.IMG004, f"axes {names} have no 'y' and 'x' (needed to show the image)",
                                    url=url, doc=doc, key=f"{p}.axes"))

    # transformations (IMG005)
    ms_raw = group.ome.get("multiscales", [{}])[0]
    for i, d in enumerate(ms_raw.get("datasets", [])):
        key = f"{p}.datasets[{i}].coordinateTransformations"
        ts = d.get("coordinateTransformations") if isinstance(d, dict) else None
        if not isinstance(ts, list) or not ts or not isinstance(ts[0], dict) or ts[0].get("type") != "scale":
            out.append(image_diagnostic(C.IMG005, "must start with one 'scale' transformation", url=url, doc=doc,
                                        key=key))
            continue
        if len(ts) > 2 or (len(ts) == 2 and (not isinstance(ts[1], dict) or ts[1].get("type") != "translation")):
            out.append(image_diagnostic(C.IMG005, "only 'scale' then optionally one 'translation' are allowed",
                                        url=url, doc=doc, key=key))
    for i, scale in enumerate(ms.scales):
        bad = [s for s in scale if not (s > 0 and math.isfinite(s))]
        if bad:
            out.append(image_diagnostic(C.IMG005, f"scale {scale} has non-positive values {bad}", url=url, doc=doc,
                                        key=f"{p}.datasets[{i}].coordinateTransformations[0].scale"))

    # levels (IMG006, IMG007)
    prev: ArrayMeta | None = None
    for i, path in enumerate(ms.paths):
        arr = arrays.get(path)
        if arr is None:
            continue
        adoc = f"{prefix}{arr.doc_key}"
        if len(arr.shape) != len(names):
            out.append(image_diagnostic(C.IMG006, f"array has {len(arr.shape)} dimensions but {len(names)} axes "
                                        f"{names} are declared", url=url, doc=adoc, key="shape"))
            prev = None
            continue
        if group.version == "0.5" and arr.dimension_names is None:
            out.append(image_diagnostic(C.IMG006, f"array has no dimension_names; NGFF 0.5 arrays must name their "
                                        f"dimensions after the axes {names}", url=url, doc=adoc,
                                        key="dimension_names"))
        elif arr.dimension_names is not None and list(arr.dimension_names) != names:
            out.append(image_diagnostic(C.IMG006, f"dimension_names {arr.dimension_names} differ from the axes "
                                        f"{names}", url=url, doc=adoc, key="dimension_names"))
        if prev is not None:
            if arr.dtype != prev.dtype:
                out.append(image_diagnostic(C.IMG006, f"dtype {arr.dtype} differs from the previous level's "
                                            f"{prev.dtype}", url=url, doc=adoc, key="dtype"))
            grown = [n for n, (a, b) in zip(names, zip(arr.shape, prev.shape)) if a > b]
            if grown:
                out.append(image_diagnostic(C.IMG006, f"level {path} shape {arr.shape} is larger than the previous "
                                            f"level's {prev.shape} along {grown}", url=url, doc=adoc, key="shape"))
        prev = arr
        if group.kind == "labels" and i == 0 and arr.dtype not in INTEGER_DTYPES:
            out.append(image_diagnostic(C.IMG018, f"label image pixels are {arr.dtype}; label values must be "
                                        "integers", url=url, doc=adoc,
                                        key="dtype" if arr.zarr_format == 2 else "data_type"))
        if "y" in names and "x" in names and len(arr.chunks) == len(names):
            iy, ix = names.index("y"), names.index("x")
            for axis, idx in (("y", iy), ("x", ix)):
                c, n = arr.chunks[idx], arr.shape[idx]
                if 0 < c < MIN_YX_CHUNK and n > c:
                    out.append(image_diagnostic(
                        C.IMG007, f"chunks {arr.chunks} are only {c} pixels along {axis} (size {n}): "
                        "reading costs one request per tiny chunk", url=url, doc=adoc, key="chunks"))
                    break
                if c > MAX_YX_CHUNK:
                    out.append(image_diagnostic(
                        C.IMG007, f"chunks {arr.chunks} are {c} pixels along {axis}: any read fetches huge chunks",
                        url=url, doc=adoc, key="chunks"))
                    break
    return out


def _axis_kind(type_: str | None) -> str:
    return "no type" if type_ is None else f"type '{type_}'"


def dtype_range(dtype: str) -> tuple[float, float] | None:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        return None
    if dt.kind in "iu":
        int_info = np.iinfo(dt)
        return float(int_info.min), float(int_info.max)
    if dt.kind == "f":
        float_info = np.finfo(dt)
        return float(float_info.min), float(float_info.max)
    if dt.kind == "b":
        return 0.0, 1.0
    return None


def check_omero(group: GroupMeta, ms: Multiscale, level0: ArrayMeta | None, url: str) -> list[Diagnostic]:
    """Colours must be 6-hex, windows start < end inside the dtype range, rdefs inside the image."""
    doc = group.doc_key
    omero = group.ome.get("omero")
    if omero is None:
        return []
    p = f"{group.key_prefix}omero"
    if not isinstance(omero, dict):
        return [image_diagnostic(C.IMG002, "omero must be an object", url=url, doc=doc, key=p)]
    out: list[Diagnostic] = []
    names = [a.name for a in ms.axes]
    shape = level0.shape if level0 is not None and len(level0.shape) == len(names) else None
    limits = dtype_range(level0.dtype) if level0 is not None else None
    channels = omero.get("channels")
    if not isinstance(channels, list):
        return [image_diagnostic(C.IMG002, "omero.channels must be a list", url=url, doc=doc, key=f"{p}.channels")]
    if shape is not None and "c" in names and len(channels) != shape[names.index("c")]:
        out.append(image_diagnostic(C.IMG017, f"{len(channels)} omero channels for a 'c' axis of size "
                                    f"{shape[names.index('c')]}", url=url, doc=doc, key=f"{p}.channels"))
    for i, ch in enumerate(channels):
        key = f"{p}.channels[{i}]"
        if not isinstance(ch, dict):
            out.append(image_diagnostic(C.IMG002, "channel must be an object", url=url, doc=doc, key=key))
            continue
        color = ch.get("color")
        if color is not None and not (isinstance(color, str) and HEX6.fullmatch(color)):
            out.append(image_diagnostic(C.IMG008, f"colour {color!r} is not six hex digits like 'FF00FF'",
                                        url=url, doc=doc, key=f"{key}.color"))
        window = ch.get("window")
        if window is None:
            continue
        if not isinstance(window, dict):
            out.append(image_diagnostic(C.IMG009, "window must be an object with start and end", url=url, doc=doc,
                                        key=f"{key}.window"))
            continue
        values: dict[str, Any] = {k: window.get(k) for k in ("start", "end", "min", "max")}  # JSON values
        bad = [k for k in ("start", "end") if not _number(values[k])]
        bad += [k for k in ("min", "max") if values[k] is not None and not _number(values[k])]
        if bad:
            out.append(image_diagnostic(C.IMG009, f"window {bad} must be finite numbers, got {window}",
                                        url=url, doc=doc, key=f"{key}.window"))
            continue
        start, end = values["start"], values["end"]
        if not start < end:
            out.append(image_diagnostic(C.IMG009, f"window start {start} is not below end {end}", url=url, doc=doc,
                                        key=f"{key}.window"))
        if limits is not None and level0 is not None and (start < limits[0] or end > limits[1]):
            out.append(image_diagnostic(C.IMG009, f"window {start}..{end} lies outside the {level0.dtype} range "
                                        f"{limits[0]:g}..{limits[1]:g}", url=url, doc=doc, key=f"{key}.window"))
        if values["min"] is not None and values["max"] is not None and not (
            values["min"] <= start and end <= values["max"]
        ):
            # the specification's own example does this: min/max only bound a viewer's slider
            out.append(image_diagnostic(C.IMG009, f"window start/end {start}..{end} lie outside min/max "
                                        f"{values['min']}..{values['max']}; viewers may clip the slider",
                                        url=url, doc=doc, key=f"{key}.window", severity=Severity.INFO))
    rdefs = omero.get("rdefs")
    if isinstance(rdefs, dict) and shape is not None:
        for field_name, axis in (("defaultZ", "z"), ("defaultT", "t")):
            value = rdefs.get(field_name)
            if value is None:
                continue
            size = shape[names.index(axis)] if axis in names else 1
            if not (isinstance(value, int) and not isinstance(value, bool) and 0 <= value < size):
                out.append(image_diagnostic(C.IMG016, f"{field_name} {value!r} is outside 0..{size - 1}",
                                            url=url, doc=doc, key=f"{p}.rdefs.{field_name}"))
    return out


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
