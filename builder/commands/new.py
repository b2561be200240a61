"""`bioarchive new`: scaffold studies/<next free accession>/study.yaml.

Flags fill in what they can; an interactive terminal is asked for the rest;
``--yes`` (or no terminal, as in CI) never asks. Ontology ids are looked up in
the offline term lists to fill in their labels. The scaffold itself is
builder.records.scaffold's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from builder.core.layout import STUDIES_DIR


def stdin_is_terminal() -> bool:
    """Prompts only make sense when a person is typing (not in CI or a pipe)."""
    return sys.stdin.isatty()


@click.command("new")
@click.option("--title", help="Study title (at least 10 characters).")
@click.option("--author", help="Name of the corresponding author.")
@click.option("--email", help="Email of the corresponding author.")
@click.option("--organism", metavar="NCBITaxon:ID", help="Organism imaged, e.g. NCBITaxon:10090.")
@click.option("--imaging-method", "imaging_method", metavar="FBbi:ID", help="Imaging method, e.g. FBbi:00000251.")
@click.option("--licence", help="Licence (SPDX id from the archive's list).")
@click.option("--from", "from_images", multiple=True, type=click.Path(path_type=Path, exists=True),
              help="Image file (TIFF, CZI, MRC, PNG, JPEG, or converted .ome.zarr) to prefill images, channels "
                   "and instrument from; repeatable.")
@click.option("--yes", "-y", "assume_yes", is_flag=True, help="Never prompt; use flags and defaults only.")
@click.option("--root", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Archive root (default: the folder holding archive.toml above the current one).")
def command(title, author, email, organism, imaging_method, licence, from_images, assume_yes, root) -> None:
    """Scaffold a new study record under the next free accession."""
    from builder.core.settings import find_root, load_settings
    from builder.model.identifiers import EMAIL_RE, split_curie
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

    method_given = imaging_method is not None
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
            example = "10090" if prefix == "NCBITaxon" else "00000246"
            raise click.BadParameter(f"'{given}' is not a {prefix} id such as {prefix}:{example}", param_hint=option)
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

    from builder.core.errors import ArchiveError
    from builder.records.scaffold import write_scaffold

    try:
        path = write_scaffold(
            root, settings, title=title or "", author=author or "", email=email or "",
            organism_id=organism, organism_label=organism_label, method_id=imaging_method,
            method_label=method_label, licence=licence,
        )
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from exc
    accession = path.parent.name
    if from_images:
        from builder.convert.prefill import prefill_or_exit

        prefill_or_exit(path, list(from_images), settings, method_given=method_given)
    rel = path.relative_to(root).as_posix()
    click.echo(f"created {rel} ({accession})")
    click.echo(f"next: describe your study in {rel}, then run `bioarchive validate {STUDIES_DIR}/{accession}`")
