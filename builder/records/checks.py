"""Checks of study records: the file, its YAML, the model, ontology terms,
rules across records, and completeness hints.

Id ranges: REC0xx the file and its YAML; MOD0xx fields and the study model
(MOD001-MOD009 generic pydantic errors, MOD020+ raised by the model itself);
ONT0xx ontology terms; XRF0xx rules across records and folders; CMP0xx
completeness hints (never errors).
"""

from __future__ import annotations

from builder.core.checks import Severity, register

E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO


def _r(id: str, severity: Severity, title: str, fix: str) -> None:
    register(id, severity, title, fix, area="record")


# ---------------------------------------------------------------- the file and its YAML
_r("REC001", E, "Record file cannot be read",
   "Make sure studies/<ACCESSION>/study.yaml exists and is a readable file.")
_r("REC002", E, "Record file too large",
   "Records hold metadata only; move long protocols to a publication or link, and keep image data in OME-Zarr.")
_r("REC003", E, "Record is not UTF-8 text",
   "Save the file as UTF-8 (in most editors: Save As, Encoding: UTF-8).")
_r("REC004", E, "YAML syntax error",
   "Fix the YAML at the given line: indent with spaces, and quote values that contain ': ' or start with special characters.")
_r("REC005", E, "More than one YAML document",
   "Keep one study per file: remove the second `---` and what follows, or move it to its own study folder.")
_r("REC006", E, "Duplicate key",
   "Remove one of the two entries (YAML would silently keep only the last one).")
_r("REC007", E, "YAML anchors and aliases are not allowed",
   "Write the values out in full instead of using `&anchor` and `*alias`.")
_r("REC008", E, "YAML tags are not allowed",
   "Remove the `!tag` before the value; if the value itself starts with `!`, put it in quotes.")
_r("REC009", E, "Record nested too deeply or too large",
   "Records are a few levels deep; check for runaway indentation or generated content.")
_r("REC010", E, "Record is not a mapping of fields",
   "Start from `bioarchive new`: a record is a YAML mapping of `field: value` lines.")
_r("REC011", E, "Key is not a plain name",
   "Write keys as plain field names such as `title:`; lists and mappings cannot be keys.")

# ---------------------------------------------------------------- generic field errors
_r("MOD001", E, "Required field missing",
   "Add the field; `bioarchive new` writes a record with every required field.")
_r("MOD002", E, "Unknown field",
   "Check the spelling against the metadata reference (field names are lower case with underscores), or remove the field.")
_r("MOD003", E, "Value has the wrong type",
   "Write the kind of value the field expects; quote text that YAML would read as a number, date or true/false.")
_r("MOD004", E, "Text is empty",
   "Write the text, or remove the field if it is optional.")
_r("MOD005", E, "Value is not one of the allowed choices",
   "Use one of the values listed in the message, spelled exactly.")
_r("MOD006", E, "Text or list too short or too long",
   "Adjust the length to the bounds given in the message.")
_r("MOD007", E, "Number out of range",
   "Use a number within the bounds given in the message.")
_r("MOD008", E, "Invalid date",
   "Write dates as YYYY-MM-DD, e.g. 2024-05-31, and make sure the day exists.")
_r("MOD009", E, "Invalid value",
   "Correct the value as the message describes.")

# ---------------------------------------------------------------- raised by the model (builder/model/study.py)
_r("MOD020", E, "Invalid ORCID iD",
   "Copy the iD from your orcid.org profile, written as 0000-0002-1825-0097.")
_r("MOD021", E, "Invalid ROR id",
   "Look the institution up on https://ror.org and copy its id, e.g. https://ror.org/03mstc592.")
_r("MOD022", E, "Invalid email address",
   "Write a working address such as name@institute.org.")
_r("MOD023", E, "Invalid DOI",
   "Write the DOI as 10.prefix/suffix, e.g. 10.1038/s41592-021-01326-w.")
_r("MOD024", E, "Invalid PubMed id",
   "Write the PubMed id as digits only, e.g. 34887551.")
_r("MOD025", E, "Invalid web address",
   "Write the full address starting with https://.")
_r("MOD026", E, "Invalid dataset or image name",
   "Use letters, digits, '.', '_' and '-' only, starting with a letter or digit (at most 100 characters).")
_r("MOD027", E, "Invalid image location",
   "Give an s3:// or https:// URL, or a path relative to the archive's storage root without '..'.")
_r("MOD030", E, "Record written for an older schema version",
   "Run `bioarchive migrate studies/<ACCESSION>/study.yaml` to upgrade the record, then review the changes.")
_r("MOD031", E, "Not an accession of this archive",
   "Keep the accession that `bioarchive new` assigned; it must match the folder name.")
_r("MOD032", E, "Licence not accepted",
   "Choose one of the archive's licences (SPDX ids, case-sensitive), e.g. CC-BY-4.0.")
_r("MOD040", E, "Exactly one contact author needed",
   "Set `contact: true` on exactly one author, the corresponding contact.")
_r("MOD041", E, "Contact author has no email",
   "Add `email:` to the author marked `contact: true`.")
_r("MOD042", E, "Withdrawn study without a reason",
   "Add `withdrawal_reason:` explaining why the study was withdrawn.")
_r("MOD043", E, "Human images without human_data",
   "Add a `human_data:` section with `ethics_statement`, `consent_statement` and `deidentified: true`.")
_r("MOD044", E, "Human images not de-identified",
   "Remove identifying information from the images, then set `deidentified: true`.")
_r("MOD028", E, "Invisible or control characters in text",
   "Retype the value: remove control characters, right-to-left overrides and zero-width characters "
   "(they often come from copying out of PDFs or word processors).")
_r("MOD050", E, "Scaffold text left in the record",
   "Replace the guidance text written by `bioarchive new` with a description of your study.")

# ---------------------------------------------------------------- ontology terms
_r("ONT001", E, "Malformed ontology term id",
   "Write the term as PREFIX:id, e.g. NCBITaxon:9606 or FBbi:00000246 (prefixes are case-sensitive).")
_r("ONT002", E, "Term from the wrong ontology",
   "Organisms take NCBITaxon terms and imaging methods FBbi terms.")
_r("ONT003", W, "Term label differs from the ontology",
   "Check the id: if the id is right, copy the ontology's label; if the label is right, look the id up again.")
_r("ONT004", I, "Term could not be checked offline",
   "Check the id at https://www.ebi.ac.uk/ols4 ; archive maintainers can add it to the term lists in ontology/.")
_r("ONT005", E, "Archive term list is unreadable",
   "Fix the term list file in ontology/: a mapping `terms:` of CURIE to label (or to {label, synonyms}).")
_r("ONT006", W, "Obsolete ontology term",
   "Choose a current term for the same method or organism (search https://www.ebi.ac.uk/ols4).")

# ---------------------------------------------------------------- across records
_r("XRF001", E, "Folder name differs from the accession",
   "Keep each record at studies/<ACCESSION>/study.yaml with the folder named exactly as its `accession`.")
_r("XRF002", E, "Accession used by another study",
   "Each study has its own accession: run `bioarchive new` for a fresh one.")
_r("XRF003", E, "Dataset names repeated in a study",
   "Give every dataset in the study its own `name`.")
_r("XRF004", E, "Image names repeated in a study",
   "Give every image in the study its own `name` (names are unique across all datasets of a study).")
_r("XRF005", E, "Record in the wrong place",
   "Records live at studies/<ACCESSION>/study.yaml; move the file there.")

# ---------------------------------------------------------------- completeness hints
_r("CMP001", I, "Authors without ORCID iDs",
   "Add each author's `orcid:` so the study is linked to their record.")
_r("CMP002", I, "Affiliations without ROR ids",
   "Add `ror:` to each affiliation (look it up on https://ror.org).")
_r("CMP003", I, "No keywords",
   "Add a few `keywords:` that people would search for.")
_r("CMP004", I, "No publication with a DOI",
   "List the publication describing the data under `publications:` with its `doi:` (a preprint counts).")
_r("CMP005", I, "No funding",
   "List grants under `funding:` (funder and grant_id), so funders can find the data.")
_r("CMP006", I, "Acquisition parameters missing",
   "Describe objective, pixel size, exposure or voltage under `acquisition.parameters`.")
_r("CMP007", I, "Channels without signal and contrast",
   "Describe each channel under `specimen.signal_contrast` (channel, contrast, target).")
_r("CMP008", I, "Short study description",
   "Describe the aims, the samples and what the images show in a few sentences (200 characters or more).")
_r("CMP009", I, "Datasets without a description",
   "Add a `description:` to each dataset saying what its images show.")
_r("CMP010", I, "Affiliations without any author",
   "Add `affiliations:` to each author.")
_r("CMP011", I, "No author roles",
   "Add `roles:` to authors (e.g. data acquisition, writing) to credit their contribution.")
_r("CMP012", I, "Some channels without signal and contrast",
   "Add an entry under `specimen.signal_contrast` for every channel of the images (channel, contrast, target).")
