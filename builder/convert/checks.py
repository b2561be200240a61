"""Checks of a depositor's own files: conversion (CNV) and upload to staging (UPL).

These are problems of files on the depositor's machine, not diagnostics of a
record, so the converter raises them (builder.convert.errors.ConversionError
carries the id) and the commands print them; they are declared here once, like
every other check, so that `bioarchive checks` and the checks reference page
list them and guides can name them.
"""

from __future__ import annotations

from builder.core.checks import Severity, register

_C = "conversion"
_U = "upload"

# -- conversion -----------------------------------------------------------------
CNV001 = register(
    "CNV001", Severity.ERROR, "Unsupported file format",
    "Convert it with bioformats2raw (https://github.com/glencoesoftware/bioformats2raw) or save it as OME-TIFF "
    "from your acquisition software, then deposit the result.", area=_C)
CNV002 = register(
    "CNV002", Severity.ERROR, "The file cannot be read (truncated, corrupt or not what its name says)",
    "Copy the file again from the instrument computer and check it opens in Fiji or napari.", area=_C)
CNV003 = register(
    "CNV003", Severity.ERROR, "Declared dimensions are absurd or too large to decode safely",
    "Check the file is not corrupt; very large planes need tiling (save as tiled OME-TIFF).", area=_C)
CNV004 = register(
    "CNV004", Severity.ERROR, "Pixel sizes or time increments are zero, negative or not numbers",
    "Set the physical pixel size in the acquisition software or Fiji (Image > Properties) and save again, "
    "or give --pixel-size.", area=_C)
CNV005 = register(
    "CNV005", Severity.ERROR, "Decoding ran out of memory or time",
    "Raise --memory or --timeout, or save the data as a tiled/chunked file (OME-TIFF with tiles).", area=_C)
CNV006 = register(
    "CNV006", Severity.ERROR, "The output cannot be written where it was asked",
    "Give a new path ending in .ome.zarr (or a folder for several images), or pass --overwrite.", area=_C)
CNV007 = register(
    "CNV007", Severity.ERROR, "The converted image failed validation",
    "This is a bug in the converter: report it with the input file's format and the message.", area=_C)
CNV008 = register(
    "CNV008", Severity.ERROR, "The file's metadata contradicts its pixels",
    "Fix or remove the wrong metadata (e.g. the channel count) in the acquisition software and save again.",
    area=_C)
CNV009 = register(
    "CNV009", Severity.ERROR, "A plate names the same well (or the same field of a well) twice",
    "Give each image one well and field: rename the duplicate file (e.g. A01_f2.tif for a second field) or "
    "correct the WellSample entries of the OME-XML.", area=_C)
CNV010 = register(
    "CNV010", Severity.ERROR, "The fields of a plate differ in shape, axes or pixel type",
    "Acquire (or export) every field with the same size, channels, z-planes and pixel type; convert fields that "
    "differ as separate images instead of one plate.", area=_C)
CNV011 = register(
    "CNV011", Severity.ERROR, "A plate declares more wells, rows, columns or fields than any plate has",
    "Check the file is not corrupt: plates have at most 3,456 wells (48 x 72) and a few hundred fields per well.",
    area=_C)
CNV012 = register(
    "CNV012", Severity.ERROR, "The Dask scheduler named by --scheduler cannot be reached",
    "Start the scheduler first (`dask scheduler`, or a distributed.LocalCluster) and give its address as "
    "tcp://host:port, or leave out --scheduler to convert on this machine.", area=_C)
CNV013 = register(
    "CNV013", Severity.ERROR, "The study record cannot be read safely",
    "Fix the record first: the message names the line and the reader's check (e.g. REC012); "
    "`bioarchive validate studies/<ACC>` explains it.", area=_C)
CNV014 = register(
    "CNV014", Severity.ERROR, "A plate folder holds a file that is not one field named by its well",
    "Name every file of the folder <row><column>[_f<field>].tif (e.g. A01.tif, A01_f2.tif, B12_f10.ome.tif), "
    "each holding one image, and move other files out of the folder.", area=_C)

# -- upload to the staging area -------------------------------------------------
UPL001 = register(
    "UPL001", Severity.ERROR, "An uploaded object does not match its checksum",
    "Run the upload again: it resumes and re-sends objects whose checksums differ.", area=_U)
UPL002 = register(
    "UPL002", Severity.ERROR, "The study has no local converted images to upload",
    "Convert your files first (bioarchive convert) into studies/<ACC>/images and point the image URLs there.",
    area=_U)
UPL003 = register(
    "UPL003", Severity.ERROR, "The staging store cannot be reached or refused the upload",
    "Check --to, --endpoint-url and your credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).", area=_U)
