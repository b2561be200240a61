"""Conversion and upload problems: a stable code, the file, what is wrong and what to do.

These are errors of the depositor's own files on their own machine, not
diagnostics of a record, so they are raised and printed by the commands
rather than collected; the codes are stable so that guides and tests can name them.
"""

from __future__ import annotations

from dataclasses import dataclass

from builder.core.errors import InvalidInputError

# code -> (title, fix)
CODES: dict[str, tuple[str, str]] = {
    "CNV001": (
        "unsupported file format",
        "convert it with bioformats2raw (https://github.com/glencoesoftware/bioformats2raw) "
        "or save it as OME-TIFF from your acquisition software, then deposit the result",
    ),
    "CNV002": (
        "the file cannot be read (truncated, corrupt or not what its name says)",
        "copy the file again from the instrument computer and check it opens in Fiji/napari",
    ),
    "CNV003": (
        "declared dimensions are absurd or too large to decode safely",
        "check the file is not corrupt; very large planes need tiling (save as tiled OME-TIFF)",
    ),
    "CNV004": (
        "pixel sizes or time increments are zero, negative or not numbers",
        "set the physical pixel size in the acquisition software or Fiji (Image > Properties) and save again, "
        "or give --pixel-size",
    ),
    "CNV005": (
        "decoding ran out of memory or time",
        "raise --memory or --timeout, or save the data as a tiled/chunked file (OME-TIFF with tiles)",
    ),
    "CNV006": (
        "the output cannot be written where it was asked",
        "give a new path ending in .ome.zarr (or a folder for several images), or pass --overwrite",
    ),
    "CNV007": (
        "the converted image failed validation",
        "this is a bug in the converter: report it with the input file's format and the message",
    ),
    "CNV008": (
        "the file's metadata contradicts its pixels",
        "fix or remove the wrong metadata (e.g. channel count) in the acquisition software and save again",
    ),
    "UPL001": (
        "an uploaded object does not match its checksum",
        "run the upload again: it resumes and re-sends objects whose checksums differ",
    ),
    "UPL002": (
        "the study has no local converted images to upload",
        "convert your files first (bioarchive convert) into studies/<ACC>/images or give --images",
    ),
    "UPL003": (
        "the staging store cannot be reached or refused the upload",
        "check --to, --endpoint-url and your credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
    ),
}


@dataclass
class ConversionError(InvalidInputError):
    code: str
    file: str
    message: str

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown conversion error code {self.code}")

    @property
    def fix(self) -> str:
        return CODES[self.code][1]

    def __str__(self) -> str:
        return f"{self.file}: {self.code} {self.message}\n  fix: {self.fix}"

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "file": self.file, "message": self.message, "fix": self.fix}
