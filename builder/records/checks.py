"""Checks of study records: the file, its YAML, the model, ontology terms,
rules across records, and completeness hints.

Id ranges: REC0xx the file and its YAML; MOD0xx fields and the study model
(MOD001-MOD009 generic pydantic errors, MOD020+ raised by the model itself);
ONT0xx ontology terms; XRF0xx rules across records and folders; CMP0xx
completeness hints (never errors).
"""

from __future__ import annotations

from builder.core.checks import Severity, register

E, W, H = Severity.ERROR, Severity.WARNING, Severity.INFO  # H: a hint (info)
_A = "record"


# ---------------------------------------------------------------- the file and its YAML
REC001 = register("REC001", E, "Record file cannot be read",
    "Make sure studies/<ACCESSION>/study.yaml exists and is a readable file.", area=_A)
REC002 = register("REC002", E, "Record file too large",
    "Records hold metadata only; move long protocols to a publication or link, and keep image data in OME-Zarr.",
    area=_A)
REC003 = register("REC003", E, "Record is not UTF-8 text",
    "Save the file as UTF-8 (in most editors: Save As, Encoding: UTF-8).", area=_A)
REC004 = register("REC004", E, "YAML syntax error",
    "Fix the YAML at the given line: indent with spaces, and quote values that contain ': ' or "
    "start with special characters.",
    area=_A)
REC005 = register("REC005", E, "More than one YAML document",
    "Keep one study per file: remove the second `---` and what follows, or move it to its own study folder.", area=_A)
REC006 = register("REC006", E, "Duplicate key",
    "Remove one of the two entries (YAML would silently keep only the last one).", area=_A)
REC007 = register("REC007", E, "YAML anchors and aliases are not allowed",
    "Write the values out in full instead of using `&anchor` and `*alias`.", area=_A)
REC008 = register("REC008", E, "YAML tags are not allowed",
    "Remove the `!tag` before the value; if the value itself starts with `!`, put it in quotes.", area=_A)
REC009 = register("REC009", E, "Record nested too deeply or too large",
    "Records are a few levels deep; check for runaway indentation or generated content.", area=_A)
REC010 = register("REC010", E, "Record is not a mapping of fields",
    "Start from `bioarchive new`: a record is a YAML mapping of `field: value` lines.", area=_A)
REC011 = register("REC011", E, "Key is not a plain name",
    "Write keys as plain field names such as `title:`; lists and mappings cannot be keys.", area=_A)
REC012 = register("REC012", E, "Number too large",
    "Numbers in records are years, versions and counts of at most 64 bits; fix the number, or quote it "
    "if it is meant as text.", area=_A)

# ---------------------------------------------------------------- generic field errors
MOD001 = register("MOD001", E, "Required field missing",
    "Add the field; `bioarchive new` writes a record with every required field.", area=_A)
MOD002 = register("MOD002", E, "Unknown field",
    "Check the spelling against the metadata reference (field names are lower case with "
    "underscores), or remove the field.",
    area=_A)
MOD003 = register("MOD003", E, "Value has the wrong type",
    "Write the kind of value the field expects; quote text that YAML would read as a number, date or true/false.",
    area=_A)
MOD004 = register("MOD004", E, "Text is empty",
    "Write the text, or remove the field if it is optional.", area=_A)
MOD005 = register("MOD005", E, "Value is not one of the allowed choices",
    "Use one of the values listed in the message, spelled exactly.", area=_A)
MOD006 = register("MOD006", E, "Text or list too short or too long",
    "Adjust the length to the bounds given in the message.", area=_A)
MOD007 = register("MOD007", E, "Number out of range",
    "Use a number within the bounds given in the message.", area=_A)
MOD008 = register("MOD008", E, "Invalid date",
    "Write dates as YYYY-MM-DD, e.g. 2024-05-31, and make sure the day exists.", area=_A)
MOD009 = register("MOD009", E, "Invalid value",
    "Correct the value as the message describes.", area=_A)

# ---------------------------------------------------------------- raised by the model (builder/model/study.py)
MOD020 = register("MOD020", E, "Invalid ORCID iD",
    "Copy the iD from your orcid.org profile, written as 0000-0002-1825-0097.", area=_A)
MOD021 = register("MOD021", E, "Invalid ROR id",
    "Look the institution up on https://ror.org and copy its id, e.g. https://ror.org/03mstc592.", area=_A)
MOD022 = register("MOD022", E, "Invalid email address",
    "Write a working address such as name@institute.org.", area=_A)
MOD023 = register("MOD023", E, "Invalid DOI",
    "Write the DOI as 10.prefix/suffix, e.g. 10.1038/s41592-021-01326-w.", area=_A)
MOD024 = register("MOD024", E, "Invalid PubMed id",
    "Write the PubMed id as digits only, e.g. 34887551.", area=_A)
MOD025 = register("MOD025", E, "Invalid web address",
    "Write the full address starting with https://.", area=_A)
MOD026 = register("MOD026", E, "Invalid dataset or image name",
    "Use letters, digits, '.', '_' and '-' only, starting with a letter or digit (at most 100 characters).", area=_A)
MOD027 = register("MOD027", E, "Invalid image location",
    "Give an s3:// or https:// URL, or a path relative to the archive's storage root without '..'.", area=_A)
MOD029 = register("MOD029", E, "Text too complex to publish",
    "Shorten the text, nest lists and quotes less deeply, and write links as Markdown [text](https://...) "
    "instead of raw HTML tags; the message gives the limit that was exceeded.", area=_A)
MOD030 = register("MOD030", E, "Record written for an older schema version",
    "Run `bioarchive migrate studies/<ACCESSION>/study.yaml` to upgrade the record, then review the changes.", area=_A)
MOD031 = register("MOD031", E, "Not an accession of this archive",
    "Keep the accession that `bioarchive new` assigned; it must match the folder name.", area=_A)
MOD032 = register("MOD032", E, "Licence not accepted",
    "Choose one of the archive's licences (SPDX ids, case-sensitive), e.g. CC-BY-4.0.", area=_A)
MOD040 = register("MOD040", E, "Exactly one contact author needed",
    "Set `contact: true` on exactly one author, the corresponding contact.", area=_A)
MOD041 = register("MOD041", E, "Contact author has no email",
    "Add `email:` to the author marked `contact: true`.", area=_A)
MOD042 = register("MOD042", E, "Withdrawn study without a reason",
    "Add `withdrawal_reason:` explaining why the study was withdrawn.", area=_A)
MOD043 = register("MOD043", E, "Human images without human_data",
    "Add a `human_data:` section with `ethics_statement`, `consent_statement` and `deidentified: true`.", area=_A)
MOD044 = register("MOD044", E, "Human images not de-identified",
    "Remove identifying information from the images, then set `deidentified: true`.", area=_A)
MOD028 = register("MOD028", E, "Invisible or control characters in text",
    "Retype the value: remove control characters, right-to-left overrides and zero-width characters "
    "(they often come from copying out of PDFs or word processors).", area=_A)
MOD050 = register("MOD050", E, "Scaffold text left in the record",
    "Replace the guidance text written by `bioarchive new` with a description of your study.", area=_A)

# ---------------------------------------------------------------- ontology terms
ONT001 = register("ONT001", E, "Malformed ontology term id",
    "Write the term as PREFIX:id, e.g. NCBITaxon:9606 or FBbi:00000246 (prefixes are case-sensitive).", area=_A)
ONT002 = register("ONT002", E, "Term from the wrong ontology",
    "Organisms take NCBITaxon terms and imaging methods FBbi terms.", area=_A)
ONT003 = register("ONT003", W, "Term label differs from the ontology",
    "Check the id: if the id is right, copy the ontology's label; if the label is right, look the id up again.",
    area=_A)
ONT004 = register("ONT004", H, "Term could not be checked offline",
    "Check the id at https://www.ebi.ac.uk/ols4 ; archive maintainers can add it to the term lists in ontology/.",
    area=_A)
ONT005 = register("ONT005", E, "Archive term list is unreadable",
    "Fix the term list file in ontology/: a mapping `terms:` of CURIE to label (or to {label, synonyms}).", area=_A)
ONT006 = register("ONT006", W, "Obsolete ontology term",
    "Choose a current term for the same method or organism (search https://www.ebi.ac.uk/ols4).", area=_A)

# ---------------------------------------------------------------- across records
XRF001 = register("XRF001", E, "Folder name differs from the accession",
    "Keep each record at studies/<ACCESSION>/study.yaml with the folder named exactly as its `accession`.", area=_A)
XRF002 = register("XRF002", E, "Accession used by another study",
    "Each study has its own accession: run `bioarchive new` for a fresh one.", area=_A)
XRF003 = register("XRF003", E, "Dataset names repeated in a study",
    "Give every dataset in the study its own `name`.", area=_A)
XRF004 = register("XRF004", E, "Image names repeated in a study",
    "Give every image in the study its own `name` (names are unique across all datasets of a study).", area=_A)
XRF005 = register("XRF005", E, "Record in the wrong place",
    "Records live at studies/<ACCESSION>/study.yaml; move the file there.", area=_A)

# ---------------------------------------------------------------- identifiers (xrefs:, bioregistry)
XRF010 = register("XRF010", E, "Identifier prefix is not registered",
    "Use the prefix the database is registered under at https://bioregistry.io (case does not matter), "
    "for example NCBIGene:5347, UniProt:P53350, CHEBI:15377, Cellosaurus:CVCL_0030, CMPO:0000118.", area=_A)
XRF011 = register("XRF011", E, "Identifier does not match its registry's pattern",
    "Write the id as the registry does (the message names the expected pattern and an example); "
    "copy it from the database's own page rather than retyping it.", area=_A)
XRF012 = register("XRF012", H, "Identifier checked by its syntax only",
    "Nothing to fix if the link opens the right entry; reviewers open it, since existence cannot be checked offline.",
    area=_A)

# ---------------------------------------------------------------- completeness hints
CMP001 = register("CMP001", H, "Authors without ORCID iDs",
    "Add each author's `orcid:` so the study is linked to their record.", area=_A)
CMP002 = register("CMP002", H, "Affiliations without ROR ids",
    "Add `ror:` to each affiliation (look it up on https://ror.org).", area=_A)
CMP003 = register("CMP003", H, "No keywords",
    "Add a few `keywords:` that people would search for.", area=_A)
CMP004 = register("CMP004", H, "No publication with a DOI",
    "List the publication describing the data under `publications:` with its `doi:` (a preprint counts).", area=_A)
CMP005 = register("CMP005", H, "No funding",
    "List grants under `funding:` (funder and grant_id), so funders can find the data.", area=_A)
CMP006 = register("CMP006", H, "Acquisition parameters missing",
    "Describe objective, pixel size, exposure or voltage under `acquisition.parameters`.", area=_A)
CMP007 = register("CMP007", H, "Channels without signal and contrast",
    "Describe each channel under `specimen.signal_contrast` (channel, contrast, target).", area=_A)
CMP008 = register("CMP008", H, "Short study description",
    "Describe the aims, the samples and what the images show in a few sentences (200 characters or more).", area=_A)
CMP009 = register("CMP009", H, "Datasets without a description",
    "Add a `description:` to each dataset saying what its images show.", area=_A)
CMP010 = register("CMP010", H, "Affiliations without any author",
    "Add `affiliations:` to each author.", area=_A)
CMP011 = register("CMP011", H, "No author roles",
    "Add `roles:` to authors (e.g. data acquisition, writing) to credit their contribution.", area=_A)
CMP012 = register("CMP012", H, "Some channels without signal and contrast",
    "Add an entry under `specimen.signal_contrast` for every channel of the images (channel, contrast, target).",
    area=_A)
