"""Parse OME-NGFF metadata documents into facts. Pure: dicts in, facts out; no I/O.

The data stage fetches the documents (``zarr.json`` for Zarr v3 / NGFF 0.5;
``.zattrs`` and ``.zarray`` for Zarr v2 / NGFF 0.4) and hands them here as
parsed JSON. Functions never trust their input: anything malformed raises
:class:`NgffError` naming the offending key, never a KeyError or TypeError.

Fingerprint (pinned by ``bioarchive lock``): sha256 of the canonical JSON
(``sort_keys``, no whitespace, UTF-8) of one object mapping each document's
key, relative to the image URL (e.g. ``"zarr.json"``, ``"0/.zarray"``), to the
parsed document. It covers exactly the documents that :func:`fingerprint_keys`
lists: the image group, the array metadata of every pyramid level, the
``labels`` group and each label image's group if present; for a plate the plate
group, the first well's group, and that well's first field's group and level
arrays. It does not cover chunk bytes, the URL, or the store (local, HTTP and S3
copies of the same data have the same fingerprint).
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal, TypeGuard, overload

from builder.core.errors import InvalidInputError
from builder.model.image import AxisFacts, ChannelFacts, ImageFacts, LevelFacts, PlateFacts

SUPPORTED_VERSIONS = ("0.4", "0.5")
AXIS_ORDER = {"time": 0, "channel": 1, "space": 2}
GROUP_DOC = {2: ".zattrs", 3: "zarr.json"}
ARRAY_DOC = {2: ".zarray", 3: "zarr.json"}

Kind = Literal["image", "plate", "labels", "labels-group", "well"]


class NgffError(InvalidInputError):
    """Metadata that cannot be parsed; ``key`` is the offending key path, ``doc`` the document."""

    def __init__(self, message: str, *, key: str, doc: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.key = key
        self.doc = doc


def array_doc_key(path: str, zarr_format: int) -> str:
    return f"{path.strip('/')}/{ARRAY_DOC[zarr_format]}" if path.strip("/") else ARRAY_DOC[zarr_format]


# ------------------------------------------------------------------ groups

@dataclass(slots=True)
class GroupMeta:
    """The NGFF block of one group: for 0.5 ``attributes.ome``, for 0.4 the top of ``.zattrs``."""

    zarr_format: int
    version: str | None
    ome: dict[str, Any]
    doc_key: str
    consolidated: dict[str, dict] = field(default_factory=dict)  # path -> inline v3 metadata

    @property
    def key_prefix(self) -> str:
        return "attributes.ome." if self.zarr_format == 3 else ""

    @property
    def kind(self) -> Kind | None:
        return detect_kind(self.ome)


def parse_group(doc: Any, zarr_format: int, doc_key: str) -> GroupMeta:
    """The NGFF metadata of a group document (already JSON-decoded)."""
    if not isinstance(doc, dict):
        raise NgffError("the document is not a JSON object", key="", doc=doc_key)
    consolidated: dict[str, dict] = {}
    if zarr_format == 3:
        if doc.get("node_type") not in (None, "group"):
            raise NgffError(
                f"node_type is {doc.get('node_type')!r}, expected 'group'", key="node_type", doc=doc_key
            )
        attrs = doc.get("attributes", {})
        if not isinstance(attrs, dict):
            raise NgffError("attributes is not an object", key="attributes", doc=doc_key)
        ome = attrs.get("ome", {})
        if not isinstance(ome, dict):
            raise NgffError("attributes.ome is not an object", key="attributes.ome", doc=doc_key)
        version = ome.get("version")
        cm = doc.get("consolidated_metadata")
        if isinstance(cm, dict) and isinstance(cm.get("metadata"), dict):
            consolidated = {k: v for k, v in cm["metadata"].items() if isinstance(v, dict)}
    else:
        ome = doc
        version = None
        for block in ("multiscales", "plate", "well", "image-label", "labels"):
            value = ome.get(block)
            if isinstance(value, list) and value and isinstance(value[0], dict):
                value = value[0]
            if isinstance(value, dict) and isinstance(value.get("version"), str):
                version = value["version"]
                break
        if version is None and any(k in ome for k in ("multiscales", "plate", "well", "labels")):
            version = "0.4"  # 0.4 puts the version inside each block; labels groups often omit it
    if version is not None and not isinstance(version, str):
        raise NgffError(f"version {version!r} is not a string", key="version", doc=doc_key)
    return GroupMeta(zarr_format, version, ome, doc_key, consolidated)


def detect_kind(ome: dict[str, Any]) -> Kind | None:
    if "plate" in ome:
        return "plate"
    if "well" in ome:
        return "well"
    if "multiscales" in ome:
        return "labels" if "image-label" in ome else "image"
    if "labels" in ome:
        return "labels-group"
    return None


# ------------------------------------------------------------------ arrays

@dataclass(slots=True)
class ArrayMeta:
    """What matters of one array's metadata: shape, chunks, dtype and codecs, still unchecked."""

    zarr_format: int
    doc_key: str
    shape: list[int]
    chunks: list[int]  # the unit zarr decodes: v3 inner chunks of a shard, else the chunk
    dtype: str  # numpy-style name ("uint16") or the raw declaration when unknown
    codecs: list[str]  # codec/compressor ids, in order; "sharding_indexed" nested ones included
    codec_keys: list[str]  # where each codec was declared (for messages)
    shard_shape: list[int] | None = None  # v3 sharding: the stored object's chunk shape
    dimension_names: list[str | None] | None = None
    itemsize: int | None = None

    @property
    def chunk_bytes(self) -> int | None:
        if self.itemsize is None:
            return None
        return math.prod(self.chunks) * self.itemsize


V2_DTYPES = {
    "b1": "bool", "i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
    "u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64",
    "f2": "float16", "f4": "float32", "f8": "float64",
}
ITEMSIZE = {
    "bool": 1, "int8": 1, "int16": 2, "int32": 4, "int64": 8,
    "uint8": 1, "uint16": 2, "uint32": 4, "uint64": 8,
    "float16": 2, "float32": 4, "float64": 8,
}


def _int_list(value: Any, key: str, doc: str) -> list[int]:
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise NgffError(f"{key} must be a list of integers, got {_short(value)}", key=key, doc=doc)
    return list(value)


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def parse_array(doc: Any, zarr_format: int, doc_key: str) -> ArrayMeta:
    """Shape, chunks, dtype and codec names of an array document, without interpreting codec settings."""
    if not isinstance(doc, dict):
        raise NgffError("the array document is not a JSON object", key="", doc=doc_key)
    if zarr_format == 2:
        shape = _int_list(doc.get("shape"), "shape", doc_key)
        chunks = _int_list(doc.get("chunks"), "chunks", doc_key)
        raw = doc.get("dtype")
        dtype = raw if isinstance(raw, str) else json.dumps(raw)
        itemsize = None
        if isinstance(raw, str) and len(raw) == 3 and raw[0] in "<>|=" and raw[1:] in V2_DTYPES:
            dtype = V2_DTYPES[raw[1:]]
            itemsize = ITEMSIZE[dtype]
        codecs: list[str] = []
        keys: list[str] = []
        compressor = doc.get("compressor")
        if compressor is not None:
            codecs.append(_codec_id(compressor, "id"))
            keys.append("compressor.id")
        filters = doc.get("filters") or []
        if not isinstance(filters, list):
            raise NgffError("filters must be a list or null", key="filters", doc=doc_key)
        for i, f in enumerate(filters):
            codecs.append(_codec_id(f, "id"))
            keys.append(f"filters[{i}].id")
        return ArrayMeta(2, doc_key, shape, chunks, dtype, codecs, keys, itemsize=itemsize)

    if doc.get("node_type") != "array":
        raise NgffError(f"node_type is {doc.get('node_type')!r}, expected 'array'", key="node_type", doc=doc_key)
    shape = _int_list(doc.get("shape"), "shape", doc_key)
    grid = doc.get("chunk_grid")
    if not isinstance(grid, dict) or grid.get("name") != "regular" or not isinstance(grid.get("configuration"), dict):
        raise NgffError(f"chunk_grid must be a regular grid, got {_short(grid)}", key="chunk_grid", doc=doc_key)
    chunks = _int_list(grid["configuration"].get("chunk_shape"), "chunk_grid.configuration.chunk_shape", doc_key)
    raw = doc.get("data_type")
    dtype = raw if isinstance(raw, str) else json.dumps(raw)
    itemsize = ITEMSIZE.get(dtype) if isinstance(raw, str) else None
    codecs, keys, inner = _v3_codecs(doc.get("codecs"), "codecs", doc_key)
    shard_shape = None
    if inner is not None:
        shard_shape, chunks = chunks, inner
    names = doc.get("dimension_names")
    if names is not None and not (isinstance(names, list) and all(n is None or isinstance(n, str) for n in names)):
        raise NgffError("dimension_names must be a list of strings", key="dimension_names", doc=doc_key)
    return ArrayMeta(3, doc_key, shape, chunks, dtype, codecs, keys, shard_shape, names, itemsize)


def _codec_id(codec: Any, field_name: str) -> str:
    if isinstance(codec, str):
        return codec
    if isinstance(codec, dict) and isinstance(codec.get(field_name), str):
        return codec[field_name]
    return json.dumps(codec, default=str)[:60]


def _v3_codecs(codecs: Any, key: str, doc_key: str) -> tuple[list[str], list[str], list[int] | None]:
    if not isinstance(codecs, list) or not codecs:
        raise NgffError("codecs must be a non-empty list", key=key, doc=doc_key)
    names: list[str] = []
    keys: list[str] = []
    inner: list[int] | None = None
    for i, codec in enumerate(codecs):
        name = _codec_id(codec, "name")
        names.append(name)
        keys.append(f"{key}[{i}].name")
        if name == "sharding_indexed" and isinstance(codec, dict):
            config = codec.get("configuration") or {}
            if not isinstance(config, dict):
                raise NgffError("sharding configuration must be an object", key=f"{key}[{i}]", doc=doc_key)
            inner = _int_list(config.get("chunk_shape"), f"{key}[{i}].configuration.chunk_shape", doc_key)
            for sub in ("codecs", "index_codecs"):
                sub_names, sub_keys, _ = _v3_codecs(config.get(sub), f"{key}[{i}].configuration.{sub}", doc_key)
                names += sub_names
                keys += sub_keys
    return names, keys, inner


# ------------------------------------------------------------------ multiscales

@dataclass(slots=True)
class Multiscale:
    axes: list[AxisFacts]
    paths: list[str]
    scales: list[list[float]]  # per level, one per axis (identity when absent)
    name: str | None


def parse_multiscale(group: GroupMeta) -> Multiscale:
    """The first multiscale of an image or label group."""
    p = group.key_prefix
    ms_list = group.ome.get("multiscales")
    if not isinstance(ms_list, list) or not ms_list or not isinstance(ms_list[0], dict):
        raise NgffError("multiscales must be a non-empty list of objects", key=f"{p}multiscales", doc=group.doc_key)
    ms = ms_list[0]
    key = f"{p}multiscales[0]"
    raw_axes = ms.get("axes")
    if not isinstance(raw_axes, list) or not raw_axes:
        raise NgffError("axes must be a non-empty list", key=f"{key}.axes", doc=group.doc_key)
    axes: list[AxisFacts] = []
    for i, a in enumerate(raw_axes):
        if isinstance(a, str):  # NGFF 0.3 wrote bare names; keep reading them for the facts
            a = {"name": a}
        if not isinstance(a, dict) or not isinstance(a.get("name"), str):
            raise NgffError(f"axis {_short(a)} has no name", key=f"{key}.axes[{i}]", doc=group.doc_key)
        type_ = a.get("type") if isinstance(a.get("type"), str) else None
        unit = a.get("unit") if isinstance(a.get("unit"), str) else None
        axes.append(AxisFacts(name=a["name"], type=type_, unit=unit))
    datasets = ms.get("datasets")
    if not isinstance(datasets, list) or not datasets:
        raise NgffError("datasets must be a non-empty list", key=f"{key}.datasets", doc=group.doc_key)
    paths: list[str] = []
    scales: list[list[float]] = []
    global_scale = _scale_of(ms.get("coordinateTransformations"), len(axes), f"{key}.coordinateTransformations",
                             group.doc_key, required=False)
    for i, d in enumerate(datasets):
        if not isinstance(d, dict) or not isinstance(d.get("path"), str) or not d["path"].strip("/"):
            raise NgffError("dataset has no path", key=f"{key}.datasets[{i}].path", doc=group.doc_key)
        path = d["path"].strip("/")
        if ".." in path.split("/") or "\\" in path or ":" in path:
            raise NgffError(f"dataset path {path!r} leaves the image group", key=f"{key}.datasets[{i}].path",
                            doc=group.doc_key)
        paths.append(path)
        scale = _scale_of(d.get("coordinateTransformations"), len(axes),
                          f"{key}.datasets[{i}].coordinateTransformations", group.doc_key)
        if global_scale is not None:
            scale = [s * g for s, g in zip(scale, global_scale)]
        scales.append(scale)
    for axis, s in zip(axes, scales[0]):
        axis.scale = s
    name = ms.get("name") if isinstance(ms.get("name"), str) else None
    return Multiscale(axes, paths, scales, name)


@overload
def _scale_of(transforms: Any, n: int, key: str, doc: str, *, required: Literal[True] = True) -> list[float]: ...


@overload
def _scale_of(transforms: Any, n: int, key: str, doc: str, *, required: bool) -> list[float] | None: ...


def _scale_of(transforms: Any, n: int, key: str, doc: str, *, required: bool = True) -> list[float] | None:
    """The scale vector of a coordinateTransformations list (identity when there is none)."""
    if transforms is None:
        return [1.0] * n if required else None
    if not isinstance(transforms, list):
        raise NgffError("coordinateTransformations must be a list", key=key, doc=doc)
    for i, t in enumerate(transforms):
        if isinstance(t, dict) and t.get("type") == "scale":
            values = t.get("scale")
            if not isinstance(values, list) or len(values) != n or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
            ):
                raise NgffError(f"scale must list {n} finite numbers, got {_short(values)}",
                                key=f"{key}[{i}].scale", doc=doc)
            return [float(v) for v in values]
    return [1.0] * n


# ------------------------------------------------------------------ omero

def parse_channels(group: GroupMeta, n_channels: int | None) -> tuple[list[ChannelFacts], int | None, int | None]:
    """Channels (label, colour, window, active) and rdefs defaultZ/defaultT, tolerant of gaps."""
    omero = group.ome.get("omero")
    channels: list[ChannelFacts] = []
    default_z = default_t = None
    if isinstance(omero, dict):
        raw = omero.get("channels")
        if isinstance(raw, list):
            for i, entry in enumerate(raw):
                c = entry if isinstance(entry, dict) else {}
                raw_label = c.get("label")
                label = raw_label if isinstance(raw_label, str) and raw_label else f"Channel {i}"
                color = c.get("color") if isinstance(c.get("color"), str) else None
                color = color.upper() if color and _is_hex6(color) else None
                window = None
                w = c.get("window")
                if isinstance(w, dict) and _is_number(w.get("start")) and _is_number(w.get("end")):
                    window = (float(w["start"]), float(w["end"]))
                raw_active = c.get("active")
                active = raw_active if isinstance(raw_active, bool) else True
                channels.append(ChannelFacts(label=label, color=color, window=window, active=active))
        rdefs = omero.get("rdefs")
        if isinstance(rdefs, dict):
            default_z = rdefs.get("defaultZ") if _is_index(rdefs.get("defaultZ")) else None
            default_t = rdefs.get("defaultT") if _is_index(rdefs.get("defaultT")) else None
    if not channels and n_channels:
        channels = [ChannelFacts(label=f"Channel {i}") for i in range(min(n_channels, 64))]
    return channels, default_z, default_t


def _is_hex6(text: str) -> bool:
    return len(text) == 6 and all(ch in "0123456789abcdefABCDEF" for ch in text)


def _is_number(v: Any) -> TypeGuard[int | float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_index(v: Any) -> TypeGuard[int]:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


# ------------------------------------------------------------------ facts

def image_facts(
    url: str,
    group: GroupMeta,
    arrays: dict[str, ArrayMeta],
    *,
    labels: list[str] | None = None,
    size_bytes: int | None = None,
    fingerprint: str = "",
) -> ImageFacts:
    """Facts of an image or label image from its group and the array metadata of its levels."""
    ms = parse_multiscale(group)
    levels = [LevelFacts(path=p, shape=arrays[p].shape, chunks=arrays[p].chunks) for p in ms.paths if p in arrays]
    if not levels:
        raise NgffError("no pyramid level has array metadata", key=f"{group.key_prefix}multiscales[0].datasets",
                        doc=group.doc_key)
    level0 = arrays[ms.paths[0]] if ms.paths[0] in arrays else arrays[levels[0].path]
    names = [a.name for a in ms.axes]
    n_channels = level0.shape[names.index("c")] if "c" in names and len(level0.shape) == len(names) else None
    channels, default_z, default_t = parse_channels(group, n_channels)
    kind: Literal["labels", "image"] = "labels" if group.kind == "labels" else "image"
    return ImageFacts(
        url=url,
        kind=kind,
        ngff_version=group.version or "unknown",
        name=ms.name,
        axes=ms.axes,
        shape=level0.shape,
        dtype=level0.dtype,
        chunks=level0.chunks,
        levels=levels,
        channels=channels,
        default_z=default_z,
        default_t=default_t,
        labels=list(labels or []),
        size_bytes=size_bytes,
        fingerprint=fingerprint,
    )


def plate_facts(group: GroupMeta, first_well: GroupMeta | None) -> PlateFacts:
    p = group.key_prefix
    plate = group.ome.get("plate")
    if not isinstance(plate, dict):
        raise NgffError("plate must be an object", key=f"{p}plate", doc=group.doc_key)
    rows = _named(plate.get("rows"), f"{p}plate.rows", group.doc_key)
    columns = _named(plate.get("columns"), f"{p}plate.columns", group.doc_key)
    wells = plate_wells(group)
    fields = 0
    if first_well is not None:
        fields = len(well_fields(first_well))
    elif _is_index(plate.get("field_count")):
        fields = plate["field_count"]
    acquisitions = plate.get("acquisitions")
    return PlateFacts(
        rows=len(rows),
        columns=len(columns),
        wells=len(wells),
        fields_per_well=fields,
        acquisitions=len(acquisitions) if isinstance(acquisitions, list) else 0,
        row_names=rows,
        column_names=columns,
    )


def _named(items: Any, key: str, doc: str) -> list[str]:
    if not isinstance(items, list) or not items:
        raise NgffError("must be a non-empty list of {name: ...}", key=key, doc=doc)
    names = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise NgffError(f"entry {_short(item)} has no name", key=f"{key}[{i}]", doc=doc)
        names.append(item["name"])
    return names


@dataclass(slots=True)
class WellRef:
    path: str
    row: int
    column: int


def plate_wells(group: GroupMeta) -> list[WellRef]:
    p = group.key_prefix
    raw_plate = group.ome.get("plate")
    plate: dict[str, Any] = raw_plate if isinstance(raw_plate, dict) else {}
    wells = plate.get("wells")
    if not isinstance(wells, list) or not wells:
        raise NgffError("plate.wells must be a non-empty list", key=f"{p}plate.wells", doc=group.doc_key)
    raw_rows, raw_columns = plate.get("rows"), plate.get("columns")
    rows: list[Any] = raw_rows if isinstance(raw_rows, list) else []
    columns: list[Any] = raw_columns if isinstance(raw_columns, list) else []
    out = []
    for i, w in enumerate(wells):
        key = f"{p}plate.wells[{i}]"
        if not isinstance(w, dict) or not isinstance(w.get("path"), str):
            raise NgffError("well has no path", key=key, doc=group.doc_key)
        path = w["path"].strip("/")
        if ".." in path.split("/") or "\\" in path or ":" in path or not path:
            raise NgffError(f"well path {w['path']!r} leaves the plate group", key=f"{key}.path", doc=group.doc_key)
        row, column = w.get("rowIndex"), w.get("columnIndex")
        if not _is_index(row) or not _is_index(column):  # 0.4 files sometimes omit them: derive from the path
            parts = path.split("/")
            names_r = [r.get("name") for r in rows if isinstance(r, dict)]
            names_c = [c.get("name") for c in columns if isinstance(c, dict)]
            if len(parts) == 2 and parts[0] in names_r and parts[1] in names_c:
                row, column = names_r.index(parts[0]), names_c.index(parts[1])
            else:
                raise NgffError("well has no rowIndex/columnIndex", key=key, doc=group.doc_key)
        out.append(WellRef(path, row, column))
    return out


def well_fields(group: GroupMeta) -> list[str]:
    p = group.key_prefix
    well = group.ome.get("well")
    images = well.get("images") if isinstance(well, dict) else None
    if not isinstance(images, list) or not images:
        raise NgffError("well.images must be a non-empty list", key=f"{p}well.images", doc=group.doc_key)
    paths = []
    for i, im in enumerate(images):
        if not isinstance(im, dict) or not isinstance(im.get("path"), str) or not im["path"].strip("/"):
            raise NgffError("field has no path", key=f"{p}well.images[{i}].path", doc=group.doc_key)
        path = im["path"].strip("/")
        if ".." in path.split("/") or "\\" in path or ":" in path:
            raise NgffError(f"field path {path!r} leaves the well", key=f"{p}well.images[{i}].path",
                            doc=group.doc_key)
        paths.append(path)
    return paths


def label_names(group: GroupMeta) -> list[str]:
    names = group.ome.get("labels")
    if not isinstance(names, list):
        raise NgffError("labels must be a list of names", key=f"{group.key_prefix}labels", doc=group.doc_key)
    out = []
    for i, n in enumerate(names):
        if not isinstance(n, str) or not n.strip("/") or ".." in n.split("/") or ":" in n:
            raise NgffError(f"label name {_short(n)} is not a relative path", key=f"{group.key_prefix}labels[{i}]",
                            doc=group.doc_key)
        out.append(n.strip("/"))
    return out


# ------------------------------------------------------------------ fingerprint

def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def fingerprint(documents: dict[str, Any]) -> str:
    """sha256 over {document key: parsed document} in canonical JSON; see the module docstring."""
    return "sha256:" + hashlib.sha256(canonical_json(documents)).hexdigest()


# ------------------------------------------------------------------ level choice

def yx_indexes(axes: list[AxisFacts]) -> tuple[int, int]:
    names = [a.name for a in axes]
    return names.index("y"), names.index("x")


def choose_level(levels: list[LevelFacts], axes: list[AxisFacts], size: int) -> int:
    """Index of the smallest level whose longest y/x side still covers ``size`` (else the largest level)."""
    iy, ix = yx_indexes(axes)
    order = sorted(range(len(levels)), key=lambda i: max(levels[i].shape[iy], levels[i].shape[ix]))
    for i in order:
        if max(levels[i].shape[iy], levels[i].shape[ix]) >= size:
            return i
    return order[-1]
