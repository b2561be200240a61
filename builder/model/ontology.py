"""Ontology term logic: term lists in, findings out. Pure: no files, no network.

The archive checks terms offline against small bundled lists (builder/terms/)
plus the archive's own lists (ontology/ at the repository root). A term whose
label differs from the list's is a likely wrong id (NCBITaxon:9601 instead of
9606), so reviewers see both names; a term not in the lists is merely
unverified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from builder.model.identifiers import CURIE_RULES, split_curie


@dataclass(frozen=True, slots=True)
class Term:
    id: str
    label: str
    synonyms: tuple[str, ...] = ()
    source: str = ""  # which list defined it, for messages
    obsolete: bool = False  # retired by the ontology: still resolvable, no longer to be used


@dataclass(slots=True)
class TermIndex:
    terms: dict[str, Term] = field(default_factory=dict)

    def get(self, curie: str) -> Term | None:
        return self.terms.get(curie)

    def label(self, curie: str) -> str | None:
        term = self.terms.get(curie)
        return term.label if term else None

    def extend(self, terms: Iterable[Term]) -> None:
        """Later lists win: an archive may correct or add to the bundled ones."""
        for term in terms:
            self.terms[term.id] = term

    def __len__(self) -> int:
        return len(self.terms)


def parse_term_list(data: Any, source: str) -> tuple[list[Term], list[str]]:
    """Terms from one term-list document, plus readable problems.

    The format (YAML)::

        terms:
          NCBITaxon:9606: Homo sapiens              # just the label, or
          NCBITaxon:10090: {label: Mus musculus, synonyms: [mouse]}
          FBbi:00000242: {label: wide field light micrograph, obsolete: true}
    """
    problems: list[str] = []
    if not isinstance(data, Mapping) or not isinstance(data.get("terms"), Mapping):
        return [], ["the file must be a mapping with a `terms:` mapping of CURIE to label"]
    terms: list[Term] = []
    for curie, entry in data["terms"].items():
        curie = str(curie)
        parts = split_curie(curie)
        if parts is None or parts[0] not in CURIE_RULES or not CURIE_RULES[parts[0]].match(parts[1]):
            problems.append(f"`{curie}` is not a CURIE with a known prefix ({', '.join(sorted(CURIE_RULES))})")
            continue
        if isinstance(entry, str):
            label, synonyms = entry, ()
        elif isinstance(entry, Mapping) and isinstance(entry.get("label"), str):
            label = entry["label"]
            raw_synonyms = entry.get("synonyms") or []
            if not isinstance(raw_synonyms, list) or not all(isinstance(s, str) for s in raw_synonyms):
                problems.append(f"`{curie}`: synonyms must be a list of text")
                raw_synonyms = []
            synonyms = tuple(raw_synonyms)
            if not isinstance(entry.get("obsolete", False), bool):
                problems.append(f"`{curie}`: obsolete must be true or false")
        else:
            problems.append(f"`{curie}`: give the label as text or as {{label: ..., synonyms: [...]}}")
            continue
        obsolete = isinstance(entry, Mapping) and entry.get("obsolete") is True
        terms.append(Term(id=curie, label=label.strip(), synonyms=synonyms, source=source, obsolete=obsolete))
    return terms, problems


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def label_matches(term: Term, label: str) -> bool:
    wanted = _norm(label)
    return wanted == _norm(term.label) or any(wanted == _norm(s) for s in term.synonyms)


@dataclass(frozen=True, slots=True)
class TermFinding:
    kind: Literal["label_mismatch", "unknown", "obsolete"]
    path: tuple[str | int, ...]  # of the term (its `id` field is path + ("id",))
    curie: str
    given_label: str
    known_label: str | None = None

    @property
    def message(self) -> str:
        if self.kind == "label_mismatch":
            return f"{self.curie} is '{self.known_label}', but the record says '{self.given_label}'"
        if self.kind == "obsolete":
            return f"{self.curie} ('{self.known_label}') is obsolete: the ontology no longer uses it"
        return (
            f"{self.curie} ('{self.given_label}') is not in the archive's term lists, "
            "so it could not be checked offline"
        )


def check_terms(
    terms: Iterable[tuple[tuple[str | int, ...], str, str]], index: TermIndex
) -> list[TermFinding]:
    """Check (path, curie, label) triples against the index."""
    findings: list[TermFinding] = []
    for path, curie, label in terms:
        term = index.get(curie)
        if term is None:
            findings.append(TermFinding("unknown", path, curie, label))
        elif not label_matches(term, label):
            findings.append(TermFinding("label_mismatch", path, curie, label, term.label))
        if term is not None and term.obsolete:
            findings.append(TermFinding("obsolete", path, curie, label, term.label))
    return findings


def study_terms(study: Any) -> list[tuple[tuple[str | int, ...], str, str]]:
    """Every ontology term of a Study with its path in the record."""
    out: list[tuple[tuple[str | int, ...], str, str]] = []
    for d, dataset in enumerate(study.datasets):
        for o, term in enumerate(dataset.biosample.organisms):
            out.append((("datasets", d, "biosample", "organisms", o), term.id, term.label))
        for m, term in enumerate(dataset.acquisition.imaging_method):
            out.append((("datasets", d, "acquisition", "imaging_method", m), term.id, term.label))
    return out


def raw_terms(raw: Any) -> list[tuple[tuple[str | int, ...], str, str]]:
    """The well-formed terms of a record that failed validation, so a wrong
    taxon is still shown next to the other errors."""
    out: list[tuple[tuple[str | int, ...], str, str]] = []
    datasets = raw.get("datasets") if isinstance(raw, Mapping) else None
    if not isinstance(datasets, list):
        return out
    for d, dataset in enumerate(datasets):
        if not isinstance(dataset, Mapping):
            continue
        for section, name in (("biosample", "organisms"), ("acquisition", "imaging_method")):
            block = dataset.get(section)
            terms = block.get(name) if isinstance(block, Mapping) else None
            if not isinstance(terms, list):
                continue
            for t, term in enumerate(terms):
                if isinstance(term, Mapping) and isinstance(term.get("id"), str) and isinstance(term.get("label"), str):
                    curie = term["id"].strip()
                    if split_curie(curie) is not None:
                        out.append((("datasets", d, section, name, t), curie, term["label"].strip()))
    return out


def use_known_labels(study: Any, terms: TermIndex) -> None:
    """Show every known term under the term list's label, whatever the record wrote.

    The record's own label is kept in Git and a mismatch is reported to the
    reviewer (ONT003); the published pages, browse URLs and facets must not
    depend on how a depositor spelled a term.
    """
    for dataset in study.datasets:
        for term in (*dataset.biosample.organisms, *dataset.acquisition.imaging_method):
            known = terms.label(term.id)
            if known:
                term.label = known
