"""The scaffold of a new study record: the next free accession and a commented study.yaml.

The accession is the highest number in studies/ plus one, so numbers are never
reused. The scaffold validates once title, author, email, organism and imaging
method are given; guidance texts left in it are flagged by MOD050 until replaced.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from builder.core.errors import CommandError
from builder.core.layout import RECORD_NAME, STUDIES_DIR
from builder.core.settings import ArchiveSettings
from builder.records.load import SCAFFOLD_TEXTS

SCHEMA_LINE = "# yaml-language-server: $schema=../../schema/study.schema.json"


def next_accession(root: Path, settings: ArchiveSettings) -> str:
    studies = root / STUDIES_DIR
    numbers = []
    if studies.is_dir():
        for folder in studies.iterdir():
            if folder.is_dir():
                number = settings.accession_number(folder.name)
                if number is not None:
                    numbers.append(number)
    return settings.format_accession(max(numbers, default=0) + 1)


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML), safe for any text."""
    return json.dumps(value, ensure_ascii=False)


def scaffold_text(
    *,
    accession: str,
    title: str,
    author: str,
    email: str,
    organism_id: str,
    organism_label: str,
    method_id: str,
    method_label: str,
    licence: str,
    licences: list[str],
    today: dt.date,
) -> str:
    from builder.model.study import SCHEMA_VERSION, BiologicalScale, DataType, is_human_taxon

    data_types = ", ".join(t.value for t in DataType)
    scales = ", ".join(s.value for s in BiologicalScale)
    human = ""
    if is_human_taxon(organism_id):
        human = """
# Images of people need ethics approval, consent and de-identification.
human_data:
  ethics_statement: ""   # approving body and reference number
  consent_statement: ""  # how informed consent was obtained
  deidentified: false    # set to true once no image carries identifying information
"""
    return f"""{SCHEMA_LINE}
# Study record for {accession}. Fields are explained in the metadata reference;
# check your edits with:  bioarchive validate studies/{accession}
schema_version: {SCHEMA_VERSION}
accession: {accession}  # assigned by `bioarchive new`; never change it

title: {_q(title)}  # at least 10 characters
# Markdown; at least 25 characters, 200 or more recommended.
description: {_q(SCAFFOLD_TEXTS["description"])}

authors:
  - name: {_q(author)}
    email: {_q(email)}
    contact: true  # exactly one author is the corresponding contact
    # orcid: 0000-0002-1825-0097
    # affiliations:
    #   - name: European Molecular Biology Laboratory
    #     ror: https://ror.org/03mstc592
    # roles: [data acquisition, writing]

licence: {licence}  # one of: {", ".join(licences)}
keywords: []  # e.g. [mitosis, HeLa, time-lapse]
release_date: {today.isoformat()}  # a future date keeps the study embargoed until then
data_type: reference images  # one of: {data_types}
biological_scale: [cell]  # any of: {scales}

# funding:
#   - funder: Wellcome Trust
#     grant_id: "221052/Z/20/Z"
# publications:
#   - title: ...
#     authors: Lovelace A, Babbage C
#     year: 2024
#     doi: 10.1234/abcd
{human}
# A dataset groups images sharing biosample, specimen preparation and acquisition.
datasets:
  - name: dataset1  # letters, digits, '.', '_' and '-'
    title: {_q(SCAFFOLD_TEXTS["dataset_title"])}
    biosample:
      organisms:
        - id: {organism_id}  # NCBI Taxonomy
          label: {_q(organism_label)}
      biological_entity: {_q(SCAFFOLD_TEXTS["biological_entity"])}
    specimen:
      preparation_protocol: {_q(SCAFFOLD_TEXTS["preparation_protocol"])}
      # signal_contrast:
      #   - channel: DAPI
      #     contrast: Hoechst 33342
      #     target: nuclei
    acquisition:
      imaging_method:
        - id: {method_id}  # FBbi
          label: {_q(method_label)}
      instrument: {_q(SCAFFOLD_TEXTS["instrument"])}
      # parameters: 63x/1.4 oil objective, 0.1 um pixels, 200 ms exposure
    images:
      # s3://bucket/path.ome.zarr, https://host/path.ome.zarr, or a path below the storage root
      - name: image1
        url: dataset1/image1.ome.zarr
"""


def write_scaffold(root: Path, settings: ArchiveSettings, **fields: object) -> Path:
    """Create studies/<next accession>/study.yaml from ``fields`` (see :func:`scaffold_text`); returns its path."""
    accession = next_accession(root, settings)
    folder = root / STUDIES_DIR / accession
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except FileExistsError as exc:  # another `new` ran at the same moment
        raise CommandError(f"{folder} appeared while scaffolding; run the command again") from exc
    path = folder / RECORD_NAME
    path.write_text(
        scaffold_text(accession=accession, licences=list(settings.licences), today=dt.datetime.now(dt.UTC).date(),
                      **fields),  # type: ignore[arg-type]
        encoding="utf-8",
    )
    return path
