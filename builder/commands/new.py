"""`bioarchive new`: scaffold studies/<next free accession>/study.yaml.

The accession is the highest number in studies/ plus one, so numbers are
never reused. Flags fill in what they can; an interactive terminal is asked
for the rest; ``--yes`` (or no terminal, as in CI) never asks. Ontology ids
are looked up in the offline term lists to fill in their labels. With the
title, author, email, organism and imaging method given, the scaffold
validates; guidance texts left in it are flagged by MOD050 until replaced.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from builder.records.load import RECORD_NAME, SCAFFOLD_TEXTS, STUDIES_DIR

SCHEMA_LINE = "# yaml-language-server: $schema=../../schema/study.schema.json"


def stdin_is_terminal() -> bool:
    """Prompts only make sense when a person is typing (not in CI or a pipe)."""
    return sys.stdin.isatty()


def next_accession(root: Path, settings) -> str:
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


@click.command("new")
@click.option("--title", help="Study title (at least 10 characters).")
@click.option("--author", help="Name of the corresponding author.")
@click.option("--email", help="Email of the corresponding author.")
@click.option("--organism", metavar="NCBITaxon:ID", help="Organism imaged, e.g. NCBITaxon:10090.")
@click.option("--imaging-method", "imaging_method", metavar="FBbi:ID", help="Imaging method, e.g. FBbi:00000251.")
@click.option("--licence", help="Licence (SPDX id from the archive's list).")
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="Never prompt; use flags and defaults only.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Archive root (default: the folder holding archive.toml above the current one).")
def command(title, author, email, organism, imaging_method, licence, assume_yes, root) -> None:
    """Scaffold a new study record under the next free accession."""
    from builder.model.identifiers import EMAIL_RE, split_curie
    from builder.core.settings import find_root, load_settings
    from builder.records.terms import load_term_index

    root = find_root(root)
    try:
        settings = load_settings(root)
    except Exception as exc:  # archive.toml is the maintainers' file; say what is wrong with it
        raise click.ClickException(f"cannot read {root / 'archive.toml'}: {exc}") from exc
    terms, _ = load_term_index(root)
    interactive = not assume_yes and stdin_is_terminal()

    def ask(value, text, default=None, **kw):
        if value is not None or not interactive:
            return value if value is not None else default
        return click.prompt(text, default=default, **kw)

    title = ask(title, "Study title", default="")
    author = ask(author, "Corresponding author's name", default="")
    email = ask(email, "Corresponding author's email", default="")
    organism = ask(organism, "Organism (NCBI Taxonomy id)", default="NCBITaxon:10090")
    imaging_method = ask(imaging_method, "Imaging method (FBbi id)", default="FBbi:00000246")
    default_licence = "CC-BY-4.0" if "CC-BY-4.0" in settings.licences else settings.licences[0]
    licence = ask(licence, "Licence", default=default_licence, type=click.Choice(settings.licences))

    for given, prefix, option in ((organism, "NCBITaxon", "--organism"), (imaging_method, "FBbi", "--imaging-method")):
        parts = split_curie(given or "")
        if parts is None or parts[0] != prefix:
            raise click.BadParameter(f"'{given}' is not a {prefix} id such as {prefix}:{'10090' if prefix == 'NCBITaxon' else '00000246'}",
                                     param_hint=option)
    if email and not EMAIL_RE.match(email):
        raise click.BadParameter(f"'{email}' is not an email address", param_hint="--email")
    if licence not in settings.licences:
        raise click.BadParameter(f"'{licence}' is not accepted; use one of: {', '.join(settings.licences)}",
                                 param_hint="--licence")

    def label_of(curie: str, what: str) -> str:
        known = terms.label(curie)
        if known is not None:
            return known
        if interactive:
            return click.prompt(f"{curie} is not in the offline term lists; its {what} name", default="")
        click.echo(f"note: {curie} is not in the offline term lists; write its label in the record.", err=True)
        return ""

    organism_label = label_of(organism, "NCBI Taxonomy")
    method_label = label_of(imaging_method, "FBbi")

    accession = next_accession(root, settings)
    folder = root / STUDIES_DIR / accession
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except FileExistsError as exc:  # another `new` ran at the same moment
        raise click.ClickException(f"{folder} appeared while scaffolding; run the command again") from exc
    path = folder / RECORD_NAME
    path.write_text(
        scaffold_text(
            accession=accession, title=title or "", author=author or "", email=email or "",
            organism_id=organism, organism_label=organism_label, method_id=imaging_method,
            method_label=method_label, licence=licence, licences=list(settings.licences),
            today=dt.datetime.now(dt.UTC).date(),
        ),
        encoding="utf-8",
    )
    rel = path.relative_to(root).as_posix()
    click.echo(f"created {rel} ({accession})")
    click.echo(f"next: describe your study in {rel}, then run `bioarchive validate {STUDIES_DIR}/{accession}`")
