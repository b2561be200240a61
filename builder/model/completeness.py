"""How complete a study's metadata is: a score from 0 to 100 and a hint for
each recommended field that is missing. Pure: a Study in, a report out.

Required fields are the model's business; this rewards what makes data
findable and reusable beyond the minimum (identifiers for people and places,
publications, funding, acquisition details, descriptions). Each criterion has
a weight; partial credit is the fraction of authors, affiliations or datasets
that meet it. Hints are INFO diagnostics (ids CMP0xx), never errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from builder.model.study import Study

Loc = tuple[str | int, ...]

# criterion -> weight; the weights add up to 100
WEIGHTS: dict[str, int] = {
    "orcid": 15,
    "affiliations": 5,
    "ror": 10,
    "roles": 5,
    "keywords": 10,
    "publication_doi": 15,
    "funding": 10,
    "acquisition_parameters": 10,
    "signal_contrast": 10,
    "description": 5,
    "dataset_descriptions": 5,
}
GOOD_DESCRIPTION_CHARS = 200


@dataclass(frozen=True, slots=True)
class Hint:
    check: str
    path: Loc  # where to point: the nearest thing the record has
    message: str
    field: str | None = None  # the recommended field that is missing, when it differs from path


@dataclass(slots=True)
class Completeness:
    score: int
    parts: dict[str, float] = field(default_factory=dict)  # criterion -> 0..1
    hints: list[Hint] = field(default_factory=list)


def _fraction(good: int, total: int) -> float:
    return 1.0 if total == 0 else good / total


def assess(study: Study) -> Completeness:
    hints: list[Hint] = []
    parts: dict[str, float] = {}

    authors = study.authors
    with_orcid = 0
    with_affiliation = 0
    with_roles = 0
    affiliations = 0
    with_ror = 0
    for i, author in enumerate(authors):
        if author.orcid:
            with_orcid += 1
        else:
            hints.append(
                Hint("CMP001", ("authors", i, "name"), f"author {author.name} has no ORCID iD", f"authors[{i}].orcid")
            )
        if author.affiliations:
            with_affiliation += 1
        else:
            hints.append(
                Hint(
                    "CMP010",
                    ("authors", i, "name"),
                    f"author {author.name} has no affiliation",
                    f"authors[{i}].affiliations",
                )
            )
        if author.roles:
            with_roles += 1
        for j, affiliation in enumerate(author.affiliations):
            affiliations += 1
            if affiliation.ror:
                with_ror += 1
            else:
                hints.append(
                    Hint(
                        "CMP002",
                        ("authors", i, "affiliations", j, "name"),
                        f"affiliation '{affiliation.name}' of {author.name} has no ROR id",
                        f"authors[{i}].affiliations[{j}].ror",
                    )
                )
    parts["orcid"] = _fraction(with_orcid, len(authors))
    parts["affiliations"] = _fraction(with_affiliation, len(authors))
    parts["ror"] = _fraction(with_ror, affiliations) if affiliations else 0.0
    parts["roles"] = _fraction(with_roles, len(authors))
    if with_roles == 0:
        hints.append(Hint("CMP011", ("authors",), "no author has `roles:` describing their contribution"))

    parts["keywords"] = min(len(study.keywords), 3) / 3
    if not study.keywords:
        hints.append(Hint("CMP003", ("keywords",), "the study has no `keywords:`", "keywords"))

    parts["publication_doi"] = 1.0 if any(p.doi for p in study.publications) else 0.0
    if not parts["publication_doi"]:
        where: Loc = ("publications",)
        hints.append(Hint("CMP004", where, "no publication with a DOI is listed", "publications"))

    parts["funding"] = 1.0 if study.funding else 0.0
    if not study.funding:
        hints.append(Hint("CMP005", ("funding",), "no funding is listed", "funding"))

    datasets = study.datasets
    with_parameters = 0
    with_signal = 0
    with_description = 0
    for d, dataset in enumerate(datasets):
        if dataset.acquisition.parameters:
            with_parameters += 1
        else:
            hints.append(
                Hint(
                    "CMP006",
                    ("datasets", d, "acquisition"),
                    f"dataset '{dataset.name}' does not describe its acquisition parameters",
                    f"datasets[{d}].acquisition.parameters",
                )
            )
        if dataset.specimen.signal_contrast:
            with_signal += 1
        else:
            hints.append(
                Hint(
                    "CMP007",
                    ("datasets", d, "specimen"),
                    f"dataset '{dataset.name}' does not describe the signal and contrast of its channels",
                    f"datasets[{d}].specimen.signal_contrast",
                )
            )
        if dataset.description:
            with_description += 1
        else:
            hints.append(
                Hint(
                    "CMP009",
                    ("datasets", d, "name"),
                    f"dataset '{dataset.name}' has no description",
                    f"datasets[{d}].description",
                )
            )
    parts["acquisition_parameters"] = _fraction(with_parameters, len(datasets))
    parts["signal_contrast"] = _fraction(with_signal, len(datasets))
    parts["dataset_descriptions"] = _fraction(with_description, len(datasets))

    length = len(study.description)
    parts["description"] = min(length, GOOD_DESCRIPTION_CHARS) / GOOD_DESCRIPTION_CHARS
    if length < GOOD_DESCRIPTION_CHARS:
        hints.append(
            Hint(
                "CMP008",
                ("description",),
                f"the description has {length} characters; {GOOD_DESCRIPTION_CHARS} or more help others reuse the data",
            )
        )

    score = round(sum(WEIGHTS[k] * parts[k] for k in WEIGHTS))
    return Completeness(score=max(0, min(100, score)), parts=parts, hints=hints)


def channel_hints(study: Study, channels: dict[str, int]) -> list[Hint]:
    """Hints from what the data stage found: ``channels`` maps a dataset name to
    the most channels any of its images has. Only partial descriptions are
    flagged here; a dataset describing no channel at all already gets CMP007.
    The score stays independent of image data, so it is the same with --no-data.
    """
    hints: list[Hint] = []
    for d, dataset in enumerate(study.datasets):
        found = channels.get(dataset.name, 0)
        described = len(dataset.specimen.signal_contrast)
        if 0 < described < found:
            hints.append(
                Hint(
                    "CMP012",
                    ("datasets", d, "specimen", "signal_contrast"),
                    f"the images of dataset '{dataset.name}' have {found} channels, "
                    f"but signal_contrast describes {described}",
                    f"datasets[{d}].specimen.signal_contrast",
                )
            )
    return hints
