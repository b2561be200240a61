"""Facts about studies that curation commands record in the repository: DOIs and reuse counts.

Two kinds of files, written only by commands of the publish and usage
workflows (never by depositors; CODEOWNERS guards the folders):

- ``registry/dois.json``: every DOI the archive asked DataCite for, with the
  state DataCite confirmed (``draft``, ``registered``, ``findable``), written
  by ``bioarchive doi``;
- ``usage/<YYYY-MM>.json``: one month of COUNTER counts per study (no IP
  address, user agent or log line ever reaches these files), written by
  ``bioarchive usage``.

This module defines their format and reads them for the catalog. Reading is
forgiving: a missing file means "none yet", and a file that does not parse is
reported by :class:`RegistryError` naming it, never a traceback. Only
findable DOIs are handed to the catalog, so a DOI registered for an embargoed
study can never reach a page.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from builder.core.errors import InvalidInputError
from builder.core.settings import ArchiveSettings

REGISTRY_DIR = "registry"
DOIS_FILE = f"{REGISTRY_DIR}/dois.json"
USAGE_DIR = "usage"
REGISTRY_FORMAT_VERSION = 1
USAGE_FORMAT_VERSION = 1
MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

DoiState = Literal["draft", "registered", "findable"]


class RegistryError(InvalidInputError):
    """A registry or usage file that cannot be read (named in the message, with the fix)."""


# ---------------------------------------------------------------- DOIs

class DoiRecord(BaseModel):
    """One DOI as DataCite last confirmed it."""

    model_config = ConfigDict(extra="forbid")

    accession: str
    version: int | None = None  # None: the concept DOI (all versions)
    state: DoiState
    url: str
    # SHA-256 of the metadata last accepted by DataCite; None when only the URL was set.
    metadata_sha256: str | None = None
    updated: dt.date


class DoiRegistry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format_version: int = REGISTRY_FORMAT_VERSION
    prefix: str = ""
    dois: dict[str, DoiRecord] = Field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class StudyDois(BaseModel):
    """The findable DOIs of one study: what pages, citations and the API may show."""

    concept: str | None = None
    versions: dict[int, str] = Field(default_factory=dict)

    def for_version(self, version: int) -> str | None:
        return self.versions.get(version)


def read_doi_registry(root: Path) -> DoiRegistry:
    path = Path(root) / DOIS_FILE
    if not path.is_file():
        return DoiRegistry()
    try:
        return DoiRegistry.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError) as exc:
        raise RegistryError(
            f"{DOIS_FILE}: not a DOI registry ({_first_error(exc)}). It is written by `bioarchive doi`: "
            "restore it from Git history (`git checkout HEAD~1 -- registry/dois.json`) and rerun "
            "`bioarchive doi`, which checks every DOI against DataCite again."
        ) from None


def findable_dois(root: Path) -> dict[str, StudyDois]:
    """accession -> its findable DOIs. Registered and draft DOIs are left out on purpose."""
    found: dict[str, StudyDois] = {}
    for doi, record in read_doi_registry(root).dois.items():
        if record.state != "findable":
            continue
        entry = found.setdefault(record.accession, StudyDois())
        if record.version is None:
            entry.concept = doi
        else:
            entry.versions[record.version] = doi
    return found


# ---------------------------------------------------------------- reuse counts

class UsageCounts(BaseModel):
    """COUNTER metrics of one study in one month, for one access method.

    ``views`` are investigations of the study's pages, ``downloads`` are
    requests of its data (COUNTER "Total_Dataset_Requests"), each after
    double-click filtering; the unique counts are user sessions (COUNTER
    "Unique_Dataset_Investigations" counts a session that viewed or
    downloaded, "Unique_Dataset_Requests" one that downloaded).
    """

    model_config = ConfigDict(extra="forbid")

    views: int = 0
    downloads: int = 0
    unique_users: int = 0  # sessions that viewed or downloaded (Unique_Dataset_Investigations)
    unique_downloads: int = 0  # sessions that downloaded (Unique_Dataset_Requests)

    @property
    def total_investigations(self) -> int:
        return self.views + self.downloads

    def add(self, other: UsageCounts) -> UsageCounts:
        return UsageCounts(views=self.views + other.views, downloads=self.downloads + other.downloads,
                           unique_users=self.unique_users + other.unique_users,
                           unique_downloads=self.unique_downloads + other.unique_downloads)


class StudyUsage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # COUNTER's access methods: people in browsers, and scripts/tools ("machine").
    regular: UsageCounts = Field(default_factory=UsageCounts)
    machine: UsageCounts = Field(default_factory=UsageCounts)

    @property
    def total(self) -> UsageCounts:
        return self.regular.add(self.machine)


class LineTally(BaseModel):
    """What happened to the log lines (counts only; the lines themselves are never kept)."""

    model_config = ConfigDict(extra="forbid")

    read: int = 0
    malformed: int = 0
    other_month: int = 0
    not_counted: int = 0  # not a study page or data object, not a GET, or not a success
    robots: int = 0
    double_clicks: int = 0
    counted: int = 0


class MonthUsage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format_version: int = USAGE_FORMAT_VERSION
    month: str = Field(pattern=MONTH_RE.pattern)
    code_of_practice: str = "COUNTER Code of Practice for Research Data (Make Data Count), release 1"
    robots_list: str = ""  # the COUNTER robots list used, with its version
    lines: LineTally = Field(default_factory=LineTally)
    studies: dict[str, StudyUsage] = Field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class UsageSummary(BaseModel):
    """A study's counts summed over the months the catalog shows."""

    months: list[str] = Field(default_factory=list)  # the months summed, oldest first
    regular: UsageCounts = Field(default_factory=UsageCounts)
    machine: UsageCounts = Field(default_factory=UsageCounts)
    highly_used: bool = False

    @property
    def total(self) -> UsageCounts:
        return self.regular.add(self.machine)


def usage_path(root: Path, month: str) -> Path:
    if not MONTH_RE.match(month):
        raise RegistryError(f"month {month!r} is not YYYY-MM (for example 2026-11)")
    return Path(root) / USAGE_DIR / f"{month}.json"


def read_month(path: Path) -> MonthUsage:
    try:
        return MonthUsage.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError) as exc:
        raise RegistryError(
            f"{USAGE_DIR}/{path.name}: not a usage file ({_first_error(exc)}). It is written by "
            "`bioarchive usage`: restore it from Git history or make it again from the month's logs."
        ) from None


def usage_summaries(root: Path, *, months: int, threshold: int) -> dict[str, UsageSummary]:
    """accession -> counts over the latest ``months`` month files; "highly used" at ``threshold``.

    The label compares views plus downloads of all access methods with the
    threshold (0 disables it).
    """
    folder = Path(root) / USAGE_DIR
    if not folder.is_dir():
        return {}
    names = sorted(p.stem for p in folder.glob("*.json") if MONTH_RE.match(p.stem))[-months:]
    summaries: dict[str, UsageSummary] = {}
    for name in names:
        month = read_month(folder / f"{name}.json")
        for accession, usage in month.studies.items():
            summary = summaries.setdefault(accession, UsageSummary())
            summary.months.append(name)
            summary.regular = summary.regular.add(usage.regular)
            summary.machine = summary.machine.add(usage.machine)
    for summary in summaries.values():
        summary.highly_used = threshold > 0 and summary.total.total_investigations >= threshold
    return summaries


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err.get("loc", ()))
        return f"{where}: {err.get('msg')}" if where else str(err.get("msg"))
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


class RegistryFacts(BaseModel):
    """What the build hands the catalog from the registry files, and what it could not read."""

    dois: dict[str, StudyDois] = Field(default_factory=dict)
    usage: dict[str, UsageSummary] = Field(default_factory=dict)
    problems: list[str] = Field(default_factory=list)


def registry_facts(root: Path, settings: ArchiveSettings) -> RegistryFacts:
    """Findable DOIs and reuse counts for the build. Never raises: a file that cannot be read
    is reported and left out, so a broken registry never stops publishing (pages show no DOI
    or count until it is fixed)."""
    facts = RegistryFacts()
    try:
        facts.dois = findable_dois(root)
    except RegistryError as exc:
        facts.problems.append(str(exc))
    try:
        facts.usage = usage_summaries(root, months=settings.usage.highly_used_months,
                                      threshold=settings.usage.highly_used_threshold)
    except RegistryError as exc:
        facts.problems.append(str(exc))
    return facts
