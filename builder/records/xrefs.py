"""Identifiers records carry (`xrefs:` of a study and of its datasets), checked against
bioregistry's bundled registry: any registered prefix, in any case or synonym, with
that registry's local-id pattern. No code per prefix.

bioregistry is looked up here and not in builder.model: importing it loads requests and
its bundled registry (6.5 s under tracemalloc, 60 MB peak; load 1.05, 2 cores), which a
pure model must not do. The prefix lookup itself is builder.records.image_table's, shared
with the image tables' identifier columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from builder.core.checks import Check, Diagnostic
from builder.core.errors import InvalidInputError
from builder.model.study import CrossReference, Study
from builder.records.checks import XRF010, XRF011, XRF012
from builder.records.image_table import registry_of, registry_package
from builder.records.yaml_source import YamlDocument, format_path


@dataclass(frozen=True, slots=True)
class ResolvedXref:
    """A checked identifier: its canonical CURIE, where it resolves, and the depositor's spelling."""

    curie: str  # canonical, e.g. NCBIGene:5347 (registry's preferred prefix)
    prefix: str  # registry's preferred prefix, e.g. NCBIGene
    local: str  # local id as readers know it (CHEBI:CHEBI:15377 -> 15377, Cellosaurus keeps CVCL_0030)
    given: str  # as written in the record
    url: str | None  # resolver link (bioregistry's provider IRI)
    label: str | None
    relation: str | None


class XrefError(InvalidInputError):
    def __init__(self, check: Check, message: str) -> None:
        super().__init__(message)
        self.check = check


def _without_repeated_prefix(local: str, banana: str | None) -> str:
    # IDR and OBO files write CHEBI:CHEBI:15377 or CL:CL_0000236; the registry's pattern has no prefix.
    if banana and local.upper().startswith(banana.upper()) and local[len(banana):len(banana) + 1] in (":", "_"):
        return local[len(banana) + 1:]
    return local


def resolve(xref: CrossReference) -> ResolvedXref:
    """The canonical form of one identifier, or XrefError naming the check and what is wrong."""
    given = xref.id
    prefix, _, local = given.partition(":")
    registry = registry_of(prefix)
    if registry is None:
        raise XrefError(
            XRF010, f"'{prefix}' in '{given}' is not a prefix registered at bioregistry.io")
    candidate = local
    if registry.pattern is not None and not registry.pattern.match(candidate):
        candidate = _without_repeated_prefix(local, registry.banana)
    if registry.pattern is not None and not registry.pattern.match(candidate):
        example = registry_package().get_example(registry.prefix)
        shown = f" for example {registry.shown}:{example}" if example else ""
        raise XrefError(
            XRF011,
            f"'{local}' is not a {registry.shown} id: {registry.shown} ids match {registry.pattern.pattern}{shown}")
    # Readers know some ids with their registry's token (Cellosaurus CVCL_0030): keep it as written;
    # a repeated prefix (CHEBI:CHEBI:15377, CL:CL_0000236) goes.
    banana = (registry.banana or "").upper()
    shown_local = local if candidate != local and banana not in (registry.prefix.upper(), registry.shown.upper()) \
        else candidate
    return ResolvedXref(
        curie=f"{registry.shown}:{shown_local}",
        prefix=registry.shown,
        local=shown_local,
        given=given,
        url=registry_package().get_iri(registry.prefix, candidate),
        label=xref.label,
        relation=xref.relation,
    )


def study_xrefs(study: Study) -> Iterator[tuple[tuple[str | int, ...], CrossReference]]:
    """Every identifier of a study with its place in the record (study level, then each dataset)."""
    for i, xref in enumerate(study.xrefs):
        yield ("xrefs", i), xref
    for d, dataset in enumerate(study.datasets):
        for i, xref in enumerate(dataset.xrefs):
            yield ("datasets", d, "xrefs", i), xref


def xref_diagnostics(study: Study, doc: YamlDocument, file: str) -> list[Diagnostic]:
    """XRF010/XRF011 for ids that are wrong, XRF012 (for reviewers, with the link) for ids that look right."""
    out: list[Diagnostic] = []
    for path, xref in study_xrefs(study):
        loc = (*path, "id")
        pos = doc.position(loc)
        line, column = pos if pos is not None else (None, None)
        try:
            resolved = resolve(xref)
        except XrefError as error:
            out.append(Diagnostic.of(error.check, str(error), file=file, line=line, column=column,
                                     field=format_path(loc), extra={"curie": xref.id}))
            continue
        link = resolved.url or "no resolver known"
        out.append(Diagnostic.of(
            XRF012, f"{resolved.curie} is well formed; open {link} to check it is the entry meant",
            file=file, line=line, column=column, field=format_path(loc),
            extra={"curie": resolved.curie, "url": resolved.url}))
    return out
