"""Checks of image tables (``studies/<ACC>/images.tsv``): ids TAB0xx.

TAB001-TAB009 the file and its shape; TAB010-TAB019 cells; TAB020 the
table's declaration in the record (raised by builder.model.image_table);
TAB021+ rules across rows and against the inspected images.
"""

from __future__ import annotations

from builder.core.checks import Severity, register

E, W = Severity.ERROR, Severity.WARNING
_A = "table"

TAB001 = register("TAB001", E, "Image table cannot be read",
    "Put the table at studies/<ACCESSION>/images.tsv as a plain file (not a link), or remove `image_table:` "
    "from the record.", area=_A)
TAB002 = register("TAB002", E, "Image table is not UTF-8 text",
    "Save the table as UTF-8 (in a spreadsheet: Save As, 'Text (tab-delimited)', encoding UTF-8).", area=_A)
TAB003 = register("TAB003", W, "Image table starts with a byte-order mark",
    "Save as UTF-8 without BOM; the mark is ignored, but other tools read it as part of the first column's name.",
    area=_A)
TAB004 = register("TAB004", E, "Required column missing",
    "The first line names the columns, separated by tabs; it needs dataset, name and url.", area=_A)
TAB005 = register("TAB005", E, "Unknown column",
    "Declare the column under `image_table: columns:` in study.yaml (with its meaning), fix its spelling, "
    "or remove it.", area=_A)
TAB006 = register("TAB006", E, "Row has the wrong number of cells",
    "Each row needs one cell per column, separated by tabs: look for a missing or extra tab, "
    "or a tab inside a value.", area=_A)
TAB007 = register("TAB007", E, "Image name used twice",
    "Give every row its own image name (for well fields, e.g. plate1_A01_0); names are unique in a study.",
    area=_A)
TAB008 = register("TAB008", E, "Row names a dataset the record does not have",
    "Use the `name` of one of the record's datasets, spelled exactly.", area=_A)
TAB009 = register("TAB009", E, "Image table too large",
    "Tables may hold the number of rows and bytes given in the message; split very large screens into studies.",
    area=_A)
TAB010 = register("TAB010", E, "Required cell is empty",
    "Fill in the cell; dataset, name and url are needed in every row.", area=_A)
TAB011 = register("TAB011", E, "Invalid image name, URL or kind",
    "Names use letters, digits, '.', '_' and '-'; URLs are s3://, https:// or a path below the storage root; "
    "kind is image, plate or labels.", area=_A)
TAB012 = register("TAB012", E, "Invalid plate position",
    "Write wells as a row letter and a column number (A01, B3) and fields as whole numbers from 0.", area=_A)
TAB013 = register("TAB013", E, "Malformed identifier",
    "Write the identifier as the registry prefix, a colon and the id (NCBIGene:5347, CHEBI:15377, "
    "CMPO:0000077), copied from the registry's page.", area=_A)
TAB014 = register("TAB014", E, "Identifier from a registry the column does not declare",
    "Use an identifier from the registries listed in the column's `identifiers:`, or add the registry there.",
    area=_A)
TAB015 = register("TAB015", E, "Unknown unit or malformed quantity",
    "Write a number and a unit (10 nM, 24 h), using a unit from the list in the message, or declare the "
    "column's `unit:` and write bare numbers.", area=_A)
TAB016 = register("TAB016", E, "Several values in a single-valued column",
    "Keep one value per cell, or declare the column with `multiple: true` if several values are meant.",
    area=_A)
TAB017 = register("TAB017", E, "Cell holds HTML or control characters",
    "Write plain text: no <tags>, and no control characters (often pasted from another program).", area=_A)
TAB018 = register("TAB018", E, "Cell or line too long",
    "Cells hold short annotations (at most the size in the message); move long text to the record or a file.",
    area=_A)
TAB019 = register("TAB019", W, "Cell starts like a spreadsheet formula",
    "Cells starting with = + - @ are published with a leading ' so spreadsheets show them as text; "
    "if the value is a formula, write its result instead.", area=_A)
TAB020 = register("TAB020", E, "Invalid image table declaration",
    "Fix `image_table:` in study.yaml as the message says: each column needs a name, a meaning, "
    "and for identifiers the registry prefixes.", area=_A)
TAB021 = register("TAB021", E, "Well or field not in the plate",
    "Use a well and field that the plate's OME-Zarr holds (see `bioarchive inspect URL`), or fix the plate URL.",
    area=_A)
TAB022 = register("TAB022", E, "Image table without a declaration",
    "Add `image_table:` to study.yaml (with `columns:` for the annotation columns), or remove images.tsv.",
    area=_A)
TAB023 = register("TAB023", E, "Too many problems in the image table",
    "Fix the problems listed first and validate again; the rest are not listed so the report stays readable.",
    area=_A)
