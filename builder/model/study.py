"""The study record: REMBI metadata for one image study, as pydantic v2 models.

Pure: imports no I/O. Settings that vary per archive (accession pattern,
licence allow-list) arrive through the validation context::

    Study.model_validate(data, context={"accession_pattern": re, "licences": [...]})

Custom errors use the check id as the pydantic error type, so the records stage
maps every failure to a documented check (see builder.records.checks).
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from builder.core.markdown_budget import MAX_MARKDOWN_CHARS, markdown_budget_problem
from builder.model.identifiers import (
    CURIE_RULES,
    EMAIL_RE,
    PMID_RE,
    ROR_RE,
    XREF_RE,
    normalise_doi,
    normalise_orcid,
    orcid_checksum_ok,
    ror_checksum_ok,
    split_curie,
)
from builder.model.image_table import ImageTable

SCHEMA_VERSION = 2
HUMAN_TAXON = "NCBITaxon:9606"
# Homo, Homo sapiens and its subspecies: images of any of them need the human-data statements.
HUMAN_TAXA = frozenset({"NCBITaxon:9605", "NCBITaxon:9606", "NCBITaxon:63221", "NCBITaxon:741158"})
_HUMAN_LABEL = re.compile(r"\b(homo|human|humans)\b", re.IGNORECASE)


def is_human_taxon(curie: object, label: object = "") -> bool:
    """True for human taxa, or a label that says human whatever id it carries (a mistyped id is no way out)."""
    return str(curie).strip() in HUMAN_TAXA or bool(_HUMAN_LABEL.search(str(label or "")))


def _no_numbers_as_dates(v: object) -> object:
    # pydantic reads a bare number as a Unix timestamp; in a record it is always a mistake.
    if isinstance(v, (int, float)):
        raise PydanticCustomError("date_type", "Input should be a valid date")
    return v


Whole = Annotated[int, Strict()]  # YAML gives real integers; "1" in quotes is a typing slip
Flag = Annotated[bool, Strict()]
Day = Annotated[dt.date, BeforeValidator(_no_numbers_as_dates)]


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        frozen=False,
        validate_default=False,
        use_enum_values=False,
    )


# ---------------------------------------------------------------- text types

def _not_blank(v: str) -> str:
    if not v:
        raise PydanticCustomError("MOD004", "this text is empty")
    return v


def _within_markdown_budget(v: str) -> str:
    # the renderer refuses the same texts (builder.core.markdown_budget): validate says so first
    problem = markdown_budget_problem(v)
    if problem is not None:
        raise PydanticCustomError("MOD029", "{problem}", {"problem": problem})
    return v


Text = Annotated[str, AfterValidator(_not_blank)]
# Length limits before the validator, so pydantic checks them in Rust as string lengths.
ShortText = Annotated[str, Field(max_length=500), AfterValidator(_not_blank)]
LongText = Annotated[
    str, Field(max_length=MAX_MARKDOWN_CHARS), AfterValidator(_not_blank), AfterValidator(_within_markdown_budget)
]
MarkdownText = Annotated[str, AfterValidator(_within_markdown_budget)]  # optional descriptions, blank allowed


# ---------------------------------------------------------------- ontology terms

def _check_curie(v: str) -> str:
    parts = split_curie(v)
    underscored = split_curie(v.replace("_", ":", 1)) if parts is None else None
    if underscored is not None and underscored[0] in CURIE_RULES:
        # IDR and OBO files write NCBITaxon_7070 and FBbi_00000369 (the form inside OBO PURLs)
        raise PydanticCustomError(
            "ONT001",
            "'{value}' is written with an underscore; in records the prefix and id are joined by a colon: "
            "write {suggestion}",
            {"value": v, "suggestion": ":".join(underscored)},
        )
    if parts is None:
        raise PydanticCustomError(
            "ONT001",
            "'{value}' is not a CURIE: write the ontology prefix, a colon and the id, "
            "for example NCBITaxon:9606 or FBbi:00000246",
            {"value": v},
        )
    prefix, local = parts
    rule = CURIE_RULES.get(prefix)
    if rule is None:
        known = ", ".join(sorted(CURIE_RULES))
        raise PydanticCustomError(
            "ONT001",
            "unknown ontology prefix '{prefix}' in '{value}'; known prefixes: {known} "
            "(prefixes are case-sensitive)",
            {"prefix": prefix, "value": v, "known": known},
        )
    if not rule.match(local):
        raise PydanticCustomError(
            "ONT001",
            "'{value}' has a malformed {prefix} id '{local}'",
            {"value": v, "prefix": prefix, "local": local},
        )
    return v


Curie = Annotated[str, AfterValidator(_check_curie)]


class OntologyTerm(_Model):
    """A term from an ontology: its CURIE and the label the depositor saw."""

    id: Curie = Field(description="CURIE, e.g. NCBITaxon:9606 or FBbi:00000246", examples=["NCBITaxon:10090"])
    label: ShortText = Field(description="The term's label, as given by the ontology", examples=["Mus musculus"])


def _prefix_must_be(prefix: str):
    def check(term: OntologyTerm) -> OntologyTerm:
        if not term.id.startswith(prefix + ":"):
            raise PydanticCustomError(
                "ONT002",
                "'{value}' must be a {prefix} term here",
                {"value": term.id, "prefix": prefix},
            )
        return term

    return AfterValidator(check)


TaxonTerm = Annotated[OntologyTerm, _prefix_must_be("NCBITaxon")]
ImagingMethodTerm = Annotated[OntologyTerm, _prefix_must_be("FBbi")]


# ---------------------------------------------------------------- cross-references

def _check_xref_syntax(v: str) -> str:
    # Only the shape here (the model is pure); the prefix and its registry pattern are
    # checked by builder.records.xrefs against bioregistry's bundled registry (XRF010/XRF011).
    if XREF_RE.match(v.strip()) is None:
        raise PydanticCustomError(
            "XRF011",
            "'{value}' is not an identifier of the form prefix:id, for example NCBIGene:5347 or Cellosaurus:CVCL_0030",
            {"value": v},
        )
    return v.strip()


class CrossReference(_Model):
    """An identifier from a registered database (gene, protein, compound, cell line, phenotype ...)."""

    id: Annotated[str, AfterValidator(_check_xref_syntax)] = Field(
        description="CURIE with a prefix registered at bioregistry.io (any case), e.g. NCBIGene:5347",
        examples=["NCBIGene:5347"])
    label: ShortText | None = Field(default=None, description="Name readers know it by (gene symbol, compound name)",
                              examples=["PLK1"])
    relation: ShortText | None = Field(default=None, description="How the study relates to it, e.g. 'knocked down'",
                                 examples=["knocked down"])


# ---------------------------------------------------------------- people

class Affiliation(_Model):
    name: ShortText = Field(examples=["European Molecular Biology Laboratory"])
    ror: str | None = Field(default=None, description="ROR id of the institution", examples=["https://ror.org/03mstc592"])
    country: str | None = Field(default=None, examples=["Germany"])

    @field_validator("ror")
    @classmethod
    def _ror(cls, v: str | None) -> str | None:
        if v is None:
            return v
        m = ROR_RE.match(v.strip())
        if not m or not ror_checksum_ok(m.group(1)):
            raise PydanticCustomError(
                "MOD021",
                "'{value}' is not a valid ROR id; copy it from https://ror.org, e.g. https://ror.org/03mstc592",
                {"value": v},
            )
        return "https://ror.org/" + m.group(1)


class AuthorRole(StrEnum):
    CONCEPTUALIZATION = "conceptualization"
    DATA_CURATION = "data curation"
    DATA_ACQUISITION = "data acquisition"
    FORMAL_ANALYSIS = "formal analysis"
    FUNDING_ACQUISITION = "funding acquisition"
    INVESTIGATION = "investigation"
    METHODOLOGY = "methodology"
    SOFTWARE = "software"
    SUPERVISION = "supervision"
    SUBMITTER = "submitter"
    WRITING = "writing"


class Author(_Model):
    name: ShortText = Field(description="Full name as it should appear in citations", examples=["Ada Lovelace"])
    orcid: str | None = Field(default=None, description="ORCID iD", examples=["0000-0002-1825-0097"])
    affiliations: list[Affiliation] = Field(default_factory=list)
    roles: list[AuthorRole] = Field(default_factory=list)
    email: str | None = Field(default=None, description="Required for the corresponding contact",
                              examples=["ada.lovelace@example.org"])
    contact: Flag = Field(default=False, description="True for the one corresponding contact", examples=[True])

    @field_validator("orcid")
    @classmethod
    def _orcid(cls, v: str | None) -> str | None:
        if v is None:
            return v
        orcid = normalise_orcid(v)
        if orcid is None:
            raise PydanticCustomError(
                "MOD020",
                "'{value}' is not an ORCID iD; write it as 0000-0002-1825-0097",
                {"value": v},
            )
        if not orcid_checksum_ok(orcid):
            raise PydanticCustomError(
                "MOD020",
                "ORCID iD {value} has a wrong check digit (the last character); copy it again from orcid.org",
                {"value": orcid},
            )
        return orcid

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not EMAIL_RE.match(v):
            raise PydanticCustomError("MOD022", "'{value}' is not an email address", {"value": v})
        return v


# ---------------------------------------------------------------- outputs and support

class Funding(_Model):
    funder: ShortText = Field(examples=["Wellcome Trust"])
    grant_id: str | None = Field(default=None, examples=["221052/Z/20/Z"])
    funder_ror: str | None = Field(default=None, description="ROR id of the funder", examples=["https://ror.org/029chgv08"])


class Publication(_Model):
    title: ShortText = Field(
        examples=["OME-NGFF: a next-generation file format for expanding bioimaging data-access strategies"])
    authors: ShortText = Field(description="Author list as printed", examples=["Lovelace A, Babbage C"])
    year: Whole = Field(ge=1600, le=2100, examples=[2021])
    journal: str | None = Field(default=None, examples=["Nature Methods"])
    doi: str | None = Field(default=None, examples=["10.1038/s41592-021-01326-w"])
    pubmed_id: str | None = Field(default=None, examples=["34887551"])

    @field_validator("doi")
    @classmethod
    def _doi(cls, v: str | None) -> str | None:
        if v is None:
            return v
        doi = normalise_doi(v)
        if doi is None:
            raise PydanticCustomError(
                "MOD023", "'{value}' is not a DOI; write it as 10.1234/abcd (no https://doi.org/ needed)", {"value": v}
            )
        return doi

    @field_validator("pubmed_id", mode="before")
    @classmethod
    def _pmid(cls, v: object) -> object:
        if isinstance(v, int) and not isinstance(v, bool):
            v = str(v)
        if isinstance(v, str) and not PMID_RE.match(v.strip()):
            raise PydanticCustomError("MOD024", "'{value}' is not a PubMed id (digits only)", {"value": v})
        return v


def _check_url(v: str) -> str:
    if not re.match(r"^https?://[^\s/]+\.[^\s]+$", v):
        raise PydanticCustomError("MOD025", "'{value}' is not a web address starting with https://", {"value": v})
    return v


WebUrl = Annotated[str, AfterValidator(_check_url)]


class Link(_Model):
    url: WebUrl = Field(examples=["https://github.com/lab/analysis-code"])
    description: ShortText = Field(examples=["Segmentation and tracking code"])


# ---------------------------------------------------------------- REMBI study components

class Biosample(_Model):
    organisms: list[TaxonTerm] = Field(min_length=1, description="NCBI Taxonomy terms of the imaged organisms")
    biological_entity: ShortText = Field(examples=["HeLa cells", "adult mouse brain"])
    description: MarkdownText | None = Field(default=None, examples=["Adult C57BL/6J males, 10 weeks old"])
    intrinsic_variables: list[Text] = Field(default_factory=list, description="e.g. genotype, strain, cell line",
                                            examples=[["H2B-GFP transgenic line"]])
    extrinsic_variables: list[Text] = Field(default_factory=list, description="e.g. treatments, reagents",
                                            examples=[["siRNA against PLK1, 48 h"]])
    experimental_variables: list[Text] = Field(default_factory=list, description="what was varied on purpose",
                                               examples=[["time after fertilisation"]])


class ChannelSignal(_Model):
    channel: ShortText = Field(examples=["DAPI"])
    contrast: ShortText = Field(description="signal or contrast mechanism", examples=["Hoechst 33342 (DNA)"])
    target: str | None = Field(default=None, examples=["nuclei"])


class Specimen(_Model):
    preparation_protocol: LongText = Field(
        examples=["Fixed in 4% PFA for 10 min, permeabilised with 0.1% Triton X-100, stained with Hoechst 33342."])
    signal_contrast: list[ChannelSignal] = Field(default_factory=list)


class ImageAcquisition(_Model):
    imaging_method: list[ImagingMethodTerm] = Field(min_length=1, description="FBbi terms of the imaging methods")
    instrument: ShortText = Field(examples=["Zeiss LSM 980 with Airyscan 2"])
    parameters: LongText | None = Field(default=None, description="objective, pixel size, exposure, voltage ...",
                                        examples=["63x/1.4 NA oil objective, 0.1 µm pixels, 200 ms exposure"])


class ImageCorrelation(_Model):
    method: ShortText = Field(examples=["Fluorescent beads visible in both modalities, aligned in ec-CLEM"])
    fiducials: str | None = Field(default=None, examples=["100 nm TetraSpeck beads"])
    transformation: str | None = Field(default=None, examples=["affine, 12 parameters"])


class AnalysedData(_Model):
    description: LongText = Field(examples=["Nuclei segmented in 3D at every time point"])
    kind: Literal["segmentation", "annotation", "tracking", "measurements", "other"] = "other"
    method: str | None = Field(default=None, examples=["Cellpose 2.2 (nuclei model), corrected by hand in napari"])


class ImageKind(StrEnum):
    IMAGE = "image"
    PLATE = "plate"
    LABELS = "labels"


NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def _check_name(v: str) -> str:
    if not NAME_RE.match(v):
        raise PydanticCustomError(
            "MOD026",
            "'{value}' is not a usable name: use letters, digits, '.', '_' and '-', starting with a letter or digit",
            {"value": v},
        )
    return v


Name = Annotated[str, AfterValidator(_check_name)]


def _check_image_url(v: str) -> str:
    lower = v.lower()
    if lower.startswith(("s3://", "https://")):
        if re.search(r"\s", v) or len(v) > 2000:
            raise PydanticCustomError("MOD027", "'{value}' is not a valid URL", {"value": v})
        authority = re.split(r"[/?#]", v.split("://", 1)[1], maxsplit=1)[0]
        if "@" in authority:
            # whatever is in the URL is published (catalog, API, pages): never repeat the secret either
            host = authority.rsplit("@", 1)[1]
            raise PydanticCustomError(
                "MOD027",
                "the image URL on host '{host}' carries a user name or password before '@'; URLs are published, "
                "so credentials are refused: make the data publicly readable and give the URL without them",
                {"host": host},
            )
        return v.rstrip("/")
    if lower.startswith("http://"):
        raise PydanticCustomError(
            "MOD027", "'{value}' uses plain http://; serve the data over https:// (or give an s3:// URL)", {"value": v}
        )
    if "://" in v or lower.startswith("file:"):
        raise PydanticCustomError(
            "MOD027",
            "'{value}' uses an unsupported scheme: give an s3:// or https:// URL, "
            "or a path relative to the storage root",
            {"value": v},
        )
    parts = v.strip("/").split("/")
    if v.startswith(("/", "~")) or any(p in ("..", ".") for p in parts) or "\\" in v:
        raise PydanticCustomError(
            "MOD027",
            "'{value}' must be a path relative to the archive's storage root, without '..' or a leading '/'",
            {"value": v},
        )
    return v.rstrip("/")


ImageUrl = Annotated[str, AfterValidator(_check_image_url)]


class ImageRef(_Model):
    name: Name = Field(description="Unique within the study", examples=["plate1"])
    url: ImageUrl = Field(
        description="OME-Zarr location: s3://bucket/path, https://host/path, or a path relative to the storage root",
        examples=["s3://my-bucket/screen/plate1.ome.zarr"],
    )
    kind: ImageKind = ImageKind.IMAGE
    title: str | None = Field(default=None, examples=["Plate 1, replicate A"])
    description: MarkdownText | None = Field(default=None, examples=["Control and knock-down wells, 4 fields each"])


class Dataset(_Model):
    """A REMBI study component: images that share biosample, specimen and acquisition."""

    name: Name = Field(description="Unique within the study", examples=["screen"])
    title: ShortText = Field(examples=["HeLa cells after siRNA knock-down, fixed at 48 h"])
    description: LongText | None = Field(default=None, examples=["Three 96-well plates, one field per well"])
    biosample: Biosample
    specimen: Specimen
    acquisition: ImageAcquisition
    correlation: ImageCorrelation | None = None
    analysis: list[AnalysedData] = Field(default_factory=list)
    images: list[ImageRef] = Field(min_length=1)
    xrefs: list[CrossReference] = Field(
        default_factory=list, description="Identifiers of what this dataset images (genes, compounds, cell lines ...)")


# ---------------------------------------------------------------- study

class DataType(StrEnum):
    REFERENCE_IMAGES = "reference images"
    ATLAS = "atlas"
    BENCHMARK_DATASET = "benchmark dataset"
    SYSTEMATIC_PHENOTYPING = "systematic phenotyping"
    CLEM = "correlative light and electron microscopy"
    OTHER = "other"


class BiologicalScale(StrEnum):
    MOLECULE = "molecule"
    MOLECULAR_MACHINE = "molecular machine"
    CELL = "cell"
    TISSUE = "tissue"
    ORGANISM = "organism"


class HumanData(_Model):
    ethics_statement: LongText = Field(description="Approving body and reference number",
                                       examples=["Approved by the Ethics Committee of Example University "
                                                 "(ref. 2024-117)"])
    consent_statement: LongText = Field(description="How informed consent was obtained",
                                        examples=["Written informed consent from every donor, for open publication"])
    deidentified: Flag = Field(description="Must be true: images carry no identifying information", examples=[True])


class Status(StrEnum):
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class ChangelogEntry(_Model):
    version: Whole = Field(ge=1, examples=[2])
    date: Day = Field(examples=["2026-03-01"])
    description: LongText = Field(description="What changed and why",
                                  examples=["Corrected the pixel size of plate 2, which was given in nm instead of µm"])


class DerivationKind(StrEnum):
    ANNOTATION = "annotation"
    SEGMENTATION = "segmentation"
    TRACKING = "tracking"
    FEATURES = "feature table"
    TRAINED_MODEL = "trained model"
    OTHER = "other"


class DerivedSource(_Model):
    """One archived study (or one of its images) that a derived study was made from.

    Whether the source exists, is released and still has this content is checked
    against the archive (builder.curation.derived): the model only knows the shape.
    """

    accession: str = Field(description="Accession of the source study", examples=["OIA-000002"])
    version: Whole | None = Field(default=None, ge=1, description="Source version; omitted means the latest",
                                  examples=[1])
    image: Name | None = Field(default=None, description="Image name in the source study; omitted: the whole study",
                               examples=["brain-overview"])
    checksum: str | None = Field(
        default=None,
        description="The source image's content checksum as its images.lock pins it (content.tree_checksum); "
                    "required with `image`",
        examples=["cdf7de61aaa4ac60695037320f6b1051-16--1652753"])
    relation: DerivationKind = Field(default=DerivationKind.OTHER, description="What was made from the source",
                                     examples=["segmentation"])
    description: ShortText | None = Field(default=None, examples=["Nuclei labelled by hand in napari"])


class Study(_Model):
    """One image study: the unit of deposition, citation and review."""

    schema_version: Whole = Field(description="Version of this record format", examples=[SCHEMA_VERSION])
    accession: str = Field(description="Assigned by `bioarchive new`", examples=["OIA-000001"])
    version: Whole = Field(default=1, ge=1, description="Raised on every change after publication", examples=[1])
    status: Status = Status.PUBLISHED
    withdrawal_reason: str | None = Field(default=None, description="Shown on the study's tombstone page",
                                          examples=["Consent was withdrawn by a donor"])
    title: ShortText = Field(min_length=10, examples=["A 3D atlas of nuclear shape in the zebrafish blastoderm"])
    description: LongText = Field(min_length=25, description="Markdown, at least 25 characters",
                                  examples=["Light-sheet volumes of 24 embryos ... (a few paragraphs: what, why, how)"])
    authors: list[Author] = Field(min_length=1)
    licence: str = Field(description="SPDX id from the archive's allow-list", examples=["CC-BY-4.0"])
    keywords: list[Text] = Field(default_factory=list, examples=[["mitosis", "nuclear shape", "zebrafish"]])
    release_date: Day = Field(description="Publication date; a future date keeps the study embargoed",
                              examples=["2026-01-15"])
    funding: list[Funding] = Field(default_factory=list)
    publications: list[Publication] = Field(default_factory=list)
    links: list[Link] = Field(default_factory=list)
    acknowledgements: str | None = Field(default=None, examples=["We thank the EMBL imaging facility."])
    data_type: DataType
    biological_scale: list[BiologicalScale] = Field(min_length=1)
    human_data: HumanData | None = None
    datasets: list[Dataset] = Field(min_length=1)
    changelog: list[ChangelogEntry] = Field(default_factory=list)
    xrefs: list[CrossReference] = Field(
        default_factory=list,
        description="Identifiers of what the whole study is about (genes, compounds, cell lines ...)")
    derived_from: list[DerivedSource] = Field(
        default_factory=list,
        description="Archived studies or images this study's data were made from (annotations, segmentations ...)")
    image_table: ImageTable | None = Field(
        default=None,
        description="Annotation columns of studies/<ACCESSION>/images.tsv, one row per image or well field")

    @field_validator("schema_version")
    @classmethod
    def _schema_version(cls, v: int) -> int:
        if v != SCHEMA_VERSION:
            raise PydanticCustomError(
                "MOD030",
                "schema_version {value} is not the current version {current}; run `bioarchive migrate` on this file",
                {"value": v, "current": SCHEMA_VERSION},
            )
        return v

    @field_validator("accession")
    @classmethod
    def _accession(cls, v: str, info: ValidationInfo) -> str:
        pattern = (info.context or {}).get("accession_pattern")
        if pattern is not None and not pattern.fullmatch(v):
            raise PydanticCustomError(
                "MOD031",
                "'{value}' is not an accession of this archive (expected like {example}); "
                "run `bioarchive new` to get the next free one",
                {"value": v, "example": (info.context or {}).get("accession_example", pattern.pattern)},
            )
        return v

    @field_validator("licence")
    @classmethod
    def _licence(cls, v: str, info: ValidationInfo) -> str:
        allowed = (info.context or {}).get("licences")
        if allowed is not None and v not in allowed:
            raise PydanticCustomError(
                "MOD032",
                "licence '{value}' is not accepted; use one of: {allowed} (SPDX ids, case-sensitive)",
                {"value": v, "allowed": ", ".join(allowed)},
            )
        return v

    @model_validator(mode="after")
    def _study_rules(self) -> Study:
        contacts = [a for a in self.authors if a.contact]
        if len(contacts) != 1:
            raise PydanticCustomError(
                "MOD040",
                "exactly one author must have `contact: true` (found {n}); mark the corresponding author",
                {"n": len(contacts)},
            )
        if not contacts[0].email:
            raise PydanticCustomError(
                "MOD041", "the contact author {name} needs an `email`", {"name": contacts[0].name}
            )
        if self.status is Status.WITHDRAWN and not self.withdrawal_reason:
            raise PydanticCustomError("MOD042", "a withdrawn study needs a `withdrawal_reason`")
        if any(is_human_taxon(t.id, t.label) for d in self.datasets for t in d.biosample.organisms):
            if self.human_data is None:
                raise PydanticCustomError(
                    "MOD043",
                    "images of humans (Homo sapiens, NCBITaxon:9606) need a `human_data` section "
                    "with ethics and consent "
                    "statements and `deidentified: true`",
                )
            if not self.human_data.deidentified:
                raise PydanticCustomError(
                    "MOD044",
                    "human images must be de-identified before deposition; set `deidentified: true` only once they are",
                )
        return self

    # -- derived facts used by later stages (pure) --

    @property
    def organisms(self) -> list[OntologyTerm]:
        seen: dict[str, OntologyTerm] = {}
        for d in self.datasets:
            for t in d.biosample.organisms:
                seen.setdefault(t.id, t)
        return list(seen.values())

    @property
    def imaging_methods(self) -> list[OntologyTerm]:
        seen: dict[str, OntologyTerm] = {}
        for d in self.datasets:
            for t in d.acquisition.imaging_method:
                seen.setdefault(t.id, t)
        return list(seen.values())

    @property
    def contact(self) -> Author:
        return next(a for a in self.authors if a.contact)

    def images(self) -> list[tuple[Dataset, ImageRef]]:
        return [(d, i) for d in self.datasets for i in d.images]
