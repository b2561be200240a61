"""What the files say about themselves: channels, pixel sizes, instrument, and an imaging-method suggestion.

OME-XML is read with tifffile's ``xml2dict`` (no hand-written XML walking of
the schema beyond picking fields), CZI metadata from pylibCZIrw's dict,
ImageJ metadata from tifffile. Units are normalised to the NGFF unit names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# OME / ImageJ unit spellings -> NGFF (UDUNITS-2) names
UNITS = {
    "µm": "micrometer",
    "um": "micrometer",
    "micron": "micrometer",
    "microns": "micrometer",
    "\\u00B5m": "micrometer",
    "micrometer": "micrometer",
    "nm": "nanometer",
    "nanometer": "nanometer",
    "mm": "millimeter",
    "millimeter": "millimeter",
    "cm": "centimeter",
    "m": "meter",
    "Å": "angstrom",
    "angstrom": "angstrom",
    "pm": "picometer",
    "s": "second",
    "sec": "second",
    "second": "second",
    "ms": "millisecond",
    "millisecond": "millisecond",
    "min": "minute",
    "minute": "minute",
    "h": "hour",
    "hour": "hour",
    "µs": "microsecond",
    "us": "microsecond",
}
DEFAULT_COLOURS = ["0000FF", "00FF00", "FF0000", "FF00FF", "00FFFF", "FFFF00", "FFFFFF"]

# OME AcquisitionMode -> FBbi term (id, label) from the bundled term list
METHOD_BY_MODE = {
    "laserscanningconfocalmicroscopy": ("FBbi:00000252", "single-spot confocal microscopy"),
    "spinningdiskconfocal": ("FBbi:00000253", "spinning disk confocal microscopy"),
    "slitscanconfocal": ("FBbi:00000251", "confocal microscopy"),
    "multiphotonmicroscopy": ("FBbi:00000255", "multi-photon microscopy"),
    "widefield": ("FBbi:00000246", "fluorescence microscopy"),
    "spim": ("FBbi:00000369", "SPIM"),
    "brightfield": ("FBbi:00000243", "bright-field microscopy"),
}


@dataclass
class ChannelInfo:
    name: str = ""
    color: str | None = None  # RRGGBB
    emission_nm: float | None = None
    excitation_nm: float | None = None
    fluor: str | None = None
    contrast_method: str | None = None  # OME ContrastMethod (Fluorescence, Brightfield, ...)
    acquisition_mode: str | None = None


@dataclass
class AcquisitionInfo:
    microscope: str | None = None
    objective: str | None = None
    acquisition_mode: str | None = None
    detector: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v}


@dataclass
class OmeImageInfo:
    name: str | None
    pixel_sizes: dict[str, tuple[float, str | None]]
    time_increment: tuple[float, str] | None
    channels: list[ChannelInfo]
    acquisition: AcquisitionInfo


@dataclass
class OmeInfo:
    images: list[OmeImageInfo]


def _list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _number(value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")  # present but not a number: reported as a bad size by the reader


def unit_name(unit: Any, default: str | None) -> str | None:
    if unit is None or unit == "":
        return default
    return UNITS.get(str(unit).strip(), UNITS.get(str(unit).strip().lower(), default))


def ome_colour(value: Any) -> str | None:
    """OME colours are signed 32-bit RGBA integers."""
    if value is None:
        return None
    try:
        rgba = int(value) & 0xFFFFFFFF
    except (TypeError, ValueError):
        return None
    return f"{rgba >> 8:06X}"


def parse_ome_xml(xml: str) -> OmeInfo:
    import tifffile

    doc = tifffile.xml2dict(xml).get("OME", {})
    instruments = {i.get("ID"): i for i in _list(doc.get("Instrument"))}
    images = []
    for image in _list(doc.get("Image")):
        pixels = image.get("Pixels", {}) or {}
        sizes: dict[str, tuple[float, str | None]] = {}
        for axis in "zyx":
            value = _number(pixels.get(f"PhysicalSize{axis.upper()}"))
            if value is not None:
                sizes[axis] = (value, unit_name(pixels.get(f"PhysicalSize{axis.upper()}Unit"), "micrometer"))
        increment = _number(pixels.get("TimeIncrement"))
        time = (
            (increment, unit_name(pixels.get("TimeIncrementUnit"), "second") or "second")
            if increment is not None
            else None
        )
        channels = []
        for ch in _list(pixels.get("Channel")):
            channels.append(
                ChannelInfo(
                    name=str(ch.get("Name") or ch.get("Fluor") or ch.get("ID") or ""),
                    color=ome_colour(ch.get("Color")),
                    emission_nm=_number(ch.get("EmissionWavelength")),
                    excitation_nm=_number(ch.get("ExcitationWavelength")),
                    fluor=ch.get("Fluor"),
                    contrast_method=ch.get("ContrastMethod"),
                    acquisition_mode=ch.get("AcquisitionMode"),
                )
            )
        # An RGB image has one Channel with SamplesPerPixel 3: the pixels have 3 channels.
        samples = int(_number(_list(pixels.get("Channel"))[0].get("SamplesPerPixel")) or 1) if channels else 1
        if samples == 3 and len(channels) == 1:
            channels = rgb_channels(3)
        acquisition = AcquisitionInfo()
        ref = (image.get("InstrumentRef") or {}).get("ID") if isinstance(image.get("InstrumentRef"), dict) else None
        instrument = instruments.get(ref) or (next(iter(instruments.values())) if len(instruments) == 1 else None)
        if instrument:
            microscope = instrument.get("Microscope") or {}
            acquisition.microscope = _join(microscope.get("Manufacturer"), microscope.get("Model")) or None
            objectives = _list(instrument.get("Objective"))
            if objectives:
                o = objectives[0]
                parts = [_join(o.get("Manufacturer"), o.get("Model"))]
                if o.get("NominalMagnification"):
                    parts.append(f"{_number(o['NominalMagnification']):g}x")
                if o.get("LensNA"):
                    parts.append(f"NA {_number(o['LensNA']):g}")
                if o.get("Immersion") and o.get("Immersion") not in ("Other",):
                    parts.append(str(o["Immersion"]).lower())
                acquisition.objective = " ".join(p for p in parts if p) or None
            detectors = _list(instrument.get("Detector"))
            if detectors:
                d = detectors[0]
                acquisition.detector = _join(d.get("Manufacturer"), d.get("Model"), d.get("Type")) or None
        modes = {c.acquisition_mode for c in channels if c.acquisition_mode}
        if len(modes) == 1:
            acquisition.acquisition_mode = modes.pop()
        images.append(
            OmeImageInfo(
                name=image.get("Name"),
                pixel_sizes=sizes,
                time_increment=time,
                channels=channels,
                acquisition=acquisition,
            )
        )
    return OmeInfo(images=images)


def _join(*parts: Any) -> str:
    return " ".join(str(p) for p in parts if p not in (None, "")).strip()


def rgb_channels(count: int, alpha: bool = False) -> list[ChannelInfo]:
    names = ["red", "green", "blue", "alpha"][:count]
    colours = ["FF0000", "00FF00", "0000FF", "FFFFFF"][:count]
    return [ChannelInfo(name=n, color=c, contrast_method="Brightfield") for n, c in zip(names, colours, strict=False)]


def imagej_sizes(meta: dict[str, Any], resolution: tuple[float, float] | None, axes: str):
    """ImageJ stores x/y pixels-per-unit in the TIFF resolution tags, z spacing and frame interval in its text."""
    unit = unit_name(meta.get("unit"), None)
    if unit is None and meta.get("unit") not in (None, "", "pixel", "pixels"):
        unit = str(meta.get("unit"))
    sizes: dict[str, tuple[float, str | None]] = {}
    if resolution is not None:
        rx, ry = resolution
        if (rx, ry) != (1, 1) or unit is not None:
            sizes["x"] = (1.0 / rx if rx else 0.0, unit)
            sizes["y"] = (1.0 / ry if ry else 0.0, unit)
    if "z" in axes and meta.get("spacing") is not None:
        sizes["z"] = (_number(meta["spacing"]) or 0.0, unit)
    time = None
    if "t" in axes and meta.get("finterval") is not None:
        time = (_number(meta["finterval"]) or 0.0, "second")
    return sizes, time


def imagej_channels(meta: dict[str, Any], count: int) -> list[ChannelInfo]:
    labels = meta.get("Labels") or []
    if count and isinstance(labels, list) and len(labels) == count:
        return [ChannelInfo(name=str(label)) for label in labels]
    return []


def tiff_resolution_sizes(resolution: tuple[float, float] | None, unit: int) -> dict[str, tuple[float, str | None]]:
    """Plain TIFF resolution tags, only when they are in a metric unit (inches mean print size, not microscopy)."""
    per_unit = {3: 1e4, 4: 1e3, 5: 1.0}  # RESUNIT centimetre, millimetre, micrometre -> micrometres per unit
    if resolution is None or unit not in per_unit:
        return {}
    rx, ry = resolution
    return {
        "x": (per_unit[unit] / rx if rx else 0.0, "micrometer"),
        "y": (per_unit[unit] / ry if ry else 0.0, "micrometer"),
    }


def czi_metadata(meta: dict[str, Any]) -> OmeImageInfo:
    doc = (meta or {}).get("ImageDocument", {}).get("Metadata", {}) or {}
    sizes: dict[str, tuple[float, str | None]] = {}
    for item in _list(((doc.get("Scaling") or {}).get("Items") or {}).get("Distance")):
        axis = str(item.get("@Id", "")).lower()
        value = _number(item.get("Value"))
        if axis in "zyx" and axis and value is not None and value != 0:
            sizes[axis] = (value * 1e6, "micrometer")  # CZI scaling is in metres
        elif axis in "zyx" and axis and value == 0:
            pass  # pylibCZIrw writes 0 for "not set"
    info = doc.get("Information") or {}
    dims = (info.get("Image") or {}).get("Dimensions") or {}
    channels = []
    display = {
        str(c.get("@Id")): c for c in _list(((doc.get("DisplaySetting") or {}).get("Channels") or {}).get("Channel"))
    }
    for i, ch in enumerate(_list((dims.get("Channels") or {}).get("Channel"))):
        colour = (display.get(str(ch.get("@Id"))) or {}).get("Color") or ch.get("Color")
        channels.append(
            ChannelInfo(
                name=str(ch.get("@Name") or ch.get("Name") or f"channel{i}"),
                color=str(colour)[-6:].upper() if colour and str(colour).startswith("#") else None,
                emission_nm=_number(ch.get("EmissionWavelength")),
                excitation_nm=_number(ch.get("ExcitationWavelength")),
                fluor=ch.get("Fluor"),
                contrast_method=ch.get("ContrastMethod"),
                acquisition_mode=ch.get("AcquisitionMode"),
            )
        )
    acquisition = AcquisitionInfo()
    instrument = info.get("Instrument") or {}
    microscopes = _list((instrument.get("Microscopes") or {}).get("Microscope"))
    if microscopes:
        acquisition.microscope = str(microscopes[0].get("@Name") or microscopes[0].get("System") or "") or None
    objectives = _list((instrument.get("Objectives") or {}).get("Objective"))
    if objectives:
        o = objectives[0]
        acquisition.objective = _join(o.get("@Name"), f"NA {o['LensNA']}" if o.get("LensNA") else None) or None
    time = None
    return OmeImageInfo(name=None, pixel_sizes=sizes, time_increment=time, channels=channels, acquisition=acquisition)


def suggest_method(channels: list[ChannelInfo], acquisition: AcquisitionInfo, fmt: str) -> tuple[str, str] | None:
    """An FBbi imaging method the metadata states, or None when it does not say."""
    modes = [acquisition.acquisition_mode] + [c.acquisition_mode for c in channels]
    for mode in modes:
        if mode and mode.replace(" ", "").replace("-", "").lower() in METHOD_BY_MODE:
            return METHOD_BY_MODE[mode.replace(" ", "").replace("-", "").lower()]
    contrasts = {(c.contrast_method or "").lower() for c in channels}
    if "fluorescence" in contrasts:
        return ("FBbi:00000246", "fluorescence microscopy")
    if contrasts == {"brightfield"} and fmt not in ("png", "jpeg"):
        return ("FBbi:00000243", "bright-field microscopy")
    if fmt == "mrc":
        return ("FBbi:00000258", "transmission electron microscopy (TEM)")
    return None
