"""The declaration of a study's image table (``studies/<ACC>/images.tsv``): pure model.

A screen has one row per image or per well field; the record says which
annotation columns the table has, what each means and which identifier
registry its values come from. The rows themselves are never models: the
records stage streams them (builder.records.image_table), because a screen's
table holds hundreds of thousands of rows.

Record form::

    image_table:
      columns:
        - {name: gene, meaning: gene, identifiers: [NCBIGene]}
        - {name: gene_symbol, meaning: gene_symbol}
        - {name: sirna, meaning: sirna}
        - {name: phenotype, meaning: phenotype, identifiers: [CMPO], multiple: true}
        - {name: concentration, meaning: concentration, unit: nM}
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

# Columns every table has (the image's place in the study), in this order of meaning.
# `dataset`, `name` and `url` are required; the rest apply to plates.
REQUIRED_COLUMNS = ("dataset", "name", "url")
PLACE_COLUMNS = ("kind", "plate", "well", "field")
STANDARD_COLUMNS = REQUIRED_COLUMNS + PLACE_COLUMNS

# A cell holding several values separates them with this character (IDR's convention).
MULTIPLE_SEPARATOR = "|"

# Units a table may use, by what they measure; a value is "<number> <unit>", or a bare
# number when the column declares its unit.
CONCENTRATION_UNITS = frozenset({"pM", "nM", "uM", "µM", "mM", "M", "ng/ml", "ug/ml", "µg/ml", "mg/ml", "%"})
TIME_UNITS = frozenset({"ms", "s", "min", "h", "d"})


class ColumnMeaning(StrEnum):
    GENE = "gene"
    GENE_SYMBOL = "gene_symbol"
    SIRNA = "sirna"
    GUIDE = "guide"
    COMPOUND = "compound"
    CONCENTRATION = "concentration"
    PHENOTYPE = "phenotype"
    CELL_LINE = "cell_line"
    ANTIBODY = "antibody"
    TIME_POINT = "time_point"
    PROTEIN = "protein"
    TEXT = "text"  # any other annotation, shown as written


# Meanings whose values are identifiers from a registry: the declaration must name the registry.
IDENTIFIER_MEANINGS = frozenset({
    ColumnMeaning.GENE, ColumnMeaning.COMPOUND, ColumnMeaning.PHENOTYPE,
    ColumnMeaning.CELL_LINE, ColumnMeaning.ANTIBODY, ColumnMeaning.PROTEIN,
})
UNITS_BY_MEANING = {ColumnMeaning.CONCENTRATION: CONCENTRATION_UNITS, ColumnMeaning.TIME_POINT: TIME_UNITS}
# The meanings a screen's page filters by ("gene, reagent, phenotype").
FILTER_MEANINGS = (
    ColumnMeaning.GENE, ColumnMeaning.GENE_SYMBOL, ColumnMeaning.SIRNA, ColumnMeaning.GUIDE,
    ColumnMeaning.COMPOUND, ColumnMeaning.PHENOTYPE,
)

COLUMN_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_PREFIX_RE = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,63}$")


def _column_name(v: str) -> str:
    if not COLUMN_NAME_RE.match(v):
        raise PydanticCustomError(
            "TAB020",
            "'{value}' is not a usable column name: use lower-case letters, digits and '_', starting with a letter",
            {"value": v},
        )
    if v in STANDARD_COLUMNS:
        raise PydanticCustomError(
            "TAB020",
            "'{value}' is a standard column of every image table; declare only annotation columns",
            {"value": v},
        )
    return v


def _prefix(v: str) -> str:
    if not _PREFIX_RE.match(v):
        raise PydanticCustomError(
            "TAB020", "'{value}' is not an identifier prefix such as NCBIGene, CHEBI or CMPO", {"value": v}
        )
    return v


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TableColumn(_Model):
    name: Annotated[str, AfterValidator(_column_name)] = Field(
        description="The column's header in images.tsv", examples=["gene"])
    meaning: ColumnMeaning = Field(description="What the values are", examples=["gene"])
    identifiers: list[Annotated[str, AfterValidator(_prefix)]] = Field(
        default_factory=list,
        description="Registry prefixes the values come from (bioregistry), e.g. NCBIGene, ENSEMBL, CHEBI, CMPO",
        examples=[["NCBIGene", "ENSEMBL"]])
    unit: str | None = Field(default=None, description="Unit of every value (concentration, time_point)",
                             examples=["nM"])
    multiple: bool = Field(default=False, description="Values may hold several entries separated by '|'",
                           examples=[True])
    description: str | None = Field(default=None, max_length=500, examples=["Entrez gene targeted by the siRNA"])

    @model_validator(mode="after")
    def _meaning_rules(self) -> TableColumn:
        if self.meaning in IDENTIFIER_MEANINGS and not self.identifiers:
            raise PydanticCustomError(
                "TAB020",
                "column '{name}' holds {meaning} identifiers: name their registry in `identifiers:` "
                "(for example [NCBIGene] for genes, [CHEBI] for compounds, [CMPO] for phenotypes)",
                {"name": self.name, "meaning": self.meaning.value},
            )
        if self.unit is not None:
            units = UNITS_BY_MEANING.get(self.meaning)
            if units is None:
                raise PydanticCustomError(
                    "TAB020", "column '{name}' ({meaning}) takes no unit; remove `unit:`",
                    {"name": self.name, "meaning": self.meaning.value})
            if self.unit not in units:
                raise PydanticCustomError(
                    "TAB020", "unit '{unit}' of column '{name}' is not known; use one of: {units}",
                    {"unit": self.unit, "name": self.name, "units": ", ".join(sorted(units))})
        return self


class ImageTable(_Model):
    """The annotation columns of ``images.tsv`` beside the record."""

    columns: list[TableColumn] = Field(default_factory=list, max_length=64)

    @model_validator(mode="after")
    def _unique_names(self) -> ImageTable:
        seen: set[str] = set()
        for column in self.columns:
            if column.name in seen:
                raise PydanticCustomError("TAB020", "column '{name}' is declared twice", {"name": column.name})
            seen.add(column.name)
        return self

    def column(self, name: str) -> TableColumn | None:
        return next((c for c in self.columns if c.name == name), None)
