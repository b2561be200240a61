"""DOIs through DataCite's REST API: a concept DOI per study, one DOI per version.

``bioarchive doi`` (run by the publish workflow before the site is built)
makes DataCite agree with the records on the published branch:

- a merged study gets a concept DOI ``<prefix>/<accession>`` (all versions)
  and a DOI ``<prefix>/<accession>.v<N>`` for its current version, linked
  ``HasVersion`` / ``IsVersionOf``;
- while the study is under embargo both are only *registered*, with
  placeholder metadata that names nothing of the study (DataCite keeps
  registered DOIs out of its search, but hands their metadata to anyone who
  asks by DOI);
- on the release date both become *findable* with the study's metadata
  (:func:`builder.catalog.citation.to_datacite`, the same document the site
  exports), and a new version updates the concept DOI's metadata and moves
  the superseded version's DOI to its own version page;
- a withdrawn study keeps its DOIs, all pointing at the tombstone page, with
  the withdrawal in the metadata.

Idempotent: the DOI names are derived from accession and version, and every
DOI the registry file (``registry/dois.json``) does not show as done is
looked up on the server before anything is created, so a rerun (or a run
after a lost registry) mints nothing twice. A DataCite failure (unreachable,
refused credentials, rejected metadata) is collected as a :class:`Failure`,
leaves that DOI's registry entry unchanged and is retried on the next run;
it never raises.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from datacite import DataCiteRESTClient, schema45
from datacite.errors import (
    DataCiteError,
    DataCiteForbiddenError,
    DataCiteNotFoundError,
    DataCiteServerError,
    DataCiteUnauthorizedError,
    HttpError,
)

from builder.catalog.registry import DOIS_FILE, DoiRecord, DoiRegistry, read_doi_registry
from builder.core.checks import Check
from builder.core.settings import ArchiveSettings, DoiSettings
from builder.curation import publication_checks as checks
from builder.model.publication import Visibility, study_visibility
from builder.model.study import Status, Study

Action = Literal["create", "update", "unchanged"]
_EVENT_FOR_STATE = {"registered": "register", "findable": "publish"}


def concept_doi(prefix: str, accession: str) -> str:
    """DataCite stores DOIs in lower case; the accession keeps its digits and hyphen."""
    return f"{prefix}/{accession.lower()}"


def version_doi(prefix: str, accession: str, version: int) -> str:
    return f"{prefix}/{accession.lower()}.v{version}"


@dataclass
class Target:
    """What DataCite should hold for one DOI."""

    doi: str
    accession: str
    version: int | None
    state: Literal["registered", "findable"]
    url: str
    # The metadata attributes; None: leave the metadata as it is (only URL and state).
    metadata: dict[str, Any] | None

    @property
    def metadata_sha256(self) -> str | None:
        if self.metadata is None:
            return None
        return hashlib.sha256(json.dumps(self.metadata, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass
class Failure:
    doi: str
    accession: str
    check: str  # a DOI check id (builder.curation.publication_checks)
    message: str
    fix: str


@dataclass
class SyncReport:
    configured: bool = True
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    failures: list[Failure] = field(default_factory=list)
    skipped_records: list[str] = field(default_factory=list)
    problem: str | None = None  # why nothing was attempted (not configured, no password)

    @property
    def ok(self) -> bool:
        return not self.failures and self.problem is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "configured": self.configured, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "problem": self.problem, "skipped_records": self.skipped_records,
            "failures": [vars(f) for f in self.failures],
        }


# ---------------------------------------------------------------- what DataCite should hold

def _site(settings: ArchiveSettings) -> str:
    return settings.site_url if settings.site_url.endswith("/") else settings.site_url + "/"


def placeholder_metadata(accession: str, settings: ArchiveSettings, release_year: int) -> dict[str, Any]:
    """Metadata of a DOI registered for an embargoed study: nothing of the study but its accession.

    The publication year (required) is the release year: it stays the same from
    merge to release, so the placeholder is sent once.
    """
    publisher = settings.publisher or settings.name
    return {
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Image study"},
        "creators": [{"name": publisher, "nameType": "Organizational"}],
        "titles": [{"title": f"Image study {accession} (not yet released)"}],
        "publisher": {"name": publisher},
        "publicationYear": f"{release_year:04d}",
        "descriptions": [{"description": "This study is under embargo. Its metadata is published with it "
                                         "on its release date.", "descriptionType": "Other"}],
        "alternateIdentifiers": [{"alternateIdentifier": accession, "alternateIdentifierType": "Accession"}],
        "schemaVersion": "http://datacite.org/schema/kernel-4",
    }


def study_targets(study: Study, settings: ArchiveSettings, registry: DoiRegistry, today: dt.date) -> list[Target]:
    """The DOIs of one study and what each should say today."""
    from builder.catalog.assembly import catalog_study
    from builder.catalog.citation import to_datacite

    prefix = settings.doi.prefix
    accession = study.accession
    concept = concept_doi(prefix, accession)
    current = version_doi(prefix, accession, study.version)
    landing = f"{_site(settings)}studies/{accession}/"
    known_versions = sorted(
        (r.version, doi) for doi, r in registry.dois.items()
        if r.accession == accession and r.version is not None and r.version < study.version
    )
    if study_visibility(study, today) is Visibility.EMBARGOED:
        placeholder = placeholder_metadata(accession, settings, study.release_date.year)
        return [
            Target(concept, accession, None, "registered", landing, placeholder),
            Target(current, accession, study.version, "registered", landing, placeholder),
        ]
    # The metadata is made without image facts (the publish job mints before it reads any
    # image): sizes say how many images, not how many bytes.
    entry = catalog_study(study, {}, settings, today)
    withdrawn = study.status is Status.WITHDRAWN
    base = to_datacite(entry, settings)
    related = base.get("relatedIdentifiers", [])

    def relation(doi: str, kind: str) -> dict[str, str]:
        return {"relatedIdentifier": doi, "relatedIdentifierType": "DOI", "relationType": kind,
                "resourceTypeGeneral": "Dataset"}

    concept_meta = dict(base, relatedIdentifiers=related + [
        relation(doi, "HasVersion") for _, doi in known_versions] + [relation(current, "HasVersion")])
    version_meta = dict(base, relatedIdentifiers=related + [relation(concept, "IsVersionOf")] + (
        [relation(known_versions[-1][1], "IsNewVersionOf")] if known_versions else []))
    targets = [
        Target(concept, accession, None, "findable", landing, concept_meta),
        Target(current, accession, study.version, "findable", landing, version_meta),
    ]
    for version, doi in known_versions:
        record = registry.dois[doi]
        # A superseded version resolves to its own version page, a withdrawn study's to the
        # tombstone. Its metadata describes that version and stays as it was registered.
        url = landing if withdrawn else f"{landing}v{version}/"
        targets.append(Target(doi, accession, version, record.state if record.state != "draft" else "registered",
                              url, None))
    return targets


def validate_attributes(attributes: dict[str, Any]) -> list[str]:
    """Errors of a request body's attributes against DataCite Metadata Schema 4.5 (the datacite package)."""
    return [f"{'/'.join(str(p) for p in e.path) or '(top)'}: {e.message}"
            for e in sorted(schema45.validator.iter_errors(attributes), key=lambda e: list(e.path))]


# ---------------------------------------------------------------- talking to DataCite

class DataCite:
    """The few REST calls the archive makes, through the datacite package's client."""

    def __init__(self, settings: DoiSettings, password: str) -> None:
        self.client = DataCiteRESTClient(username=settings.repository_id, password=password,
                                         prefix=settings.prefix, url=settings.api_url, timeout=settings.timeout_s)

    def get(self, doi: str) -> dict[str, Any] | None:
        """The DOI's attributes, or None when DataCite does not know it (404)."""
        try:
            return self.client.get_metadata(doi)
        except DataCiteNotFoundError:
            return None

    def create(self, doi: str, attributes: dict[str, Any]) -> dict[str, Any]:
        self.client.post_doi({"type": "dois", "attributes": dict(attributes, doi=doi)})
        found = self.get(doi)
        if found is None:
            raise DataCiteError(f"DataCite accepted {doi} but does not return it")
        return found

    def update(self, doi: str, attributes: dict[str, Any]) -> dict[str, Any]:
        return self.client.put_doi(doi, {"type": "dois", "attributes": attributes})


def _explain(exc: Exception) -> tuple[Check, str]:
    """The check and the message of a failed DataCite call."""
    if isinstance(exc, HttpError):
        return checks.DOI_UNREACHABLE, f"DataCite could not be reached ({exc})"
    if isinstance(exc, DataCiteUnauthorizedError):
        return checks.DOI_UNAUTHORISED, "DataCite refused the credentials (401)"
    if isinstance(exc, DataCiteForbiddenError):
        return checks.DOI_UNAUTHORISED, "DataCite refused the request (403): the repository may not use this prefix"
    detail, status = str(exc), ""
    try:
        errors = json.loads(detail).get("errors", [])
        status = str(errors[0].get("status", "")) if errors else ""
        detail = "; ".join(f"{e.get('source', '')}: {e.get('title', '')}".strip(": ") for e in errors) or detail
    except (ValueError, AttributeError, TypeError):
        pass
    if status.startswith("5") or isinstance(exc, DataCiteServerError) and not status:
        return (checks.DOI_SERVER_ERROR,
                f"DataCite answered with a server error{f' ({status})' if status else ''}: {detail[:300]}")
    return checks.DOI_REJECTED, f"DataCite rejected the request{f' ({status})' if status else ''}: {detail[:500]}"


def _event(server_state: str | None, wanted: str) -> str | None:
    if server_state == wanted:
        return None
    if wanted == "registered" and server_state == "findable":
        return "hide"  # findable -> registered: a study taken back under embargo is never findable
    return _EVENT_FOR_STATE[wanted]


def apply_target(api: DataCite, target: Target) -> tuple[Action, dict[str, Any]]:
    """Make DataCite hold ``target``; returns what was done and the DOI's attributes afterwards."""
    server = api.get(target.doi)
    attributes: dict[str, Any] = dict(target.metadata or {}, url=target.url)
    if server is None:
        if target.metadata is None:
            raise DataCiteError(f"{target.doi} is in the registry file but unknown to DataCite and its metadata "
                                "is not kept; restore it in DataCite Fabrica")
        attributes["event"] = _EVENT_FOR_STATE[target.state]
        return "create", api.create(target.doi, attributes)
    event = _event(server.get("state"), target.state)
    if event:
        attributes["event"] = event
    return "update", api.update(target.doi, attributes)


# ---------------------------------------------------------------- the run

def password_from_environment(settings: DoiSettings) -> str | None:
    return os.environ.get(settings.password_env) or None


def sync_dois(root: Path, settings: ArchiveSettings, *, today: dt.date | None = None,
              password: str | None = None, verify: bool = False,
              progress: Callable[[str], None] | None = None) -> SyncReport:
    """Bring DataCite in line with the records; write registry/dois.json with what DataCite confirmed.

    Only DOIs whose registry entry differs from what they should be are sent
    (``verify`` checks every one against the server).
    """
    from builder.records.load import load_records

    today = today or dt.date.today()
    report = SyncReport()
    doi_settings = settings.doi
    if not doi_settings.enabled:
        report.configured = False
        report.problem = (f"{checks.DOI_NOT_SET_UP.id}: DOIs are not configured: set prefix and repository_id "
                          "under [archive.doi] in archive.toml to mint them.")
        return report
    password = password or password_from_environment(doi_settings)
    if not password:
        report.problem = (f"{checks.DOI_NOT_SET_UP.id}: no DataCite password: the environment variable "
                          f"{doi_settings.password_env} is not set. Give the publish job the secret "
                          "(docs/guides/policies.md, DOIs).")
        return report
    registry = read_doi_registry(root)
    registry.prefix = doi_settings.prefix
    api = DataCite(doi_settings, password)
    records = load_records(root, settings, hints=False)
    for result in records.records:
        if not (result.ok and result.study is not None):
            report.skipped_records.append(result.file)
    studies = sorted(records.studies.values(), key=lambda s: s.accession)
    for study in studies:
        for target in study_targets(study, settings, registry, today):
            known = registry.dois.get(target.doi)
            wanted_sha = target.metadata_sha256 if target.metadata is not None else (
                known.metadata_sha256 if known is not None else None)
            done = (known is not None and known.state == target.state and known.url == target.url
                    and known.metadata_sha256 == wanted_sha)
            if done and not verify:
                report.unchanged += 1
                continue
            try:
                if done:  # verify: ask the server whether it still agrees
                    server = api.get(target.doi)
                    if server is not None and server.get("state") == target.state and server.get("url") == target.url:
                        report.unchanged += 1
                        continue
                action, attributes = apply_target(api, target)
            except (DataCiteError, HttpError) as exc:
                check, message = _explain(exc)
                report.failures.append(Failure(target.doi, target.accession, check.id, message, check.fix))
                if isinstance(exc, (HttpError, DataCiteUnauthorizedError)):
                    # Every further call would fail the same way; the next run retries them all.
                    return _finish(root, registry, report)
                continue
            registry.dois[target.doi] = DoiRecord(
                accession=target.accession, version=target.version,
                state=attributes.get("state", target.state), url=attributes.get("url", target.url),
                metadata_sha256=wanted_sha, updated=today,
            )
            (report.created if action == "create" else report.updated).append(target.doi)
            if progress is not None:
                progress(f"{action}d {target.doi} ({registry.dois[target.doi].state})")
    return _finish(root, registry, report)


def _finish(root: Path, registry: DoiRegistry, report: SyncReport) -> SyncReport:
    path = Path(root) / DOIS_FILE
    text = registry.to_json()
    if not path.is_file() or path.read_text("utf-8") != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole, then renamed: a killed run never leaves half a registry.
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(text, "utf-8")
        tmp.replace(path)
    return report


def render_markdown(report: SyncReport) -> str:
    """The job summary: what was minted, and every failure with its fix."""
    lines = ["## DOIs (DataCite)", ""]
    if report.problem:
        lines += [f"DOIs were not updated: {report.problem}", "",
                  "Publishing went on without them; the next run tries again."]
        return "\n".join(lines) + "\n"
    lines.append(f"{len(report.created)} created, {len(report.updated)} updated, {report.unchanged} unchanged, "
                 f"{len(report.failures)} failed.")
    for title, dois in (("Created", report.created), ("Updated", report.updated)):
        if dois:
            lines += ["", f"### {title}", ""] + [f"- `{d}`" for d in dois]
    if report.failures:
        lines += ["", "### Failed (retried on the next run; the site was published without them)", "",
                  "| DOI | study | check | problem | fix |", "|---|---|---|---|---|"]
        for f in report.failures:
            lines.append(f"| `{f.doi}` | {f.accession} | `{f.check}` | {_cell(f.message)} | {_cell(f.fix)} |")
    if report.skipped_records:
        lines += ["", "Records with errors were left out: " + ", ".join(f"`{p}`" for p in report.skipped_records)]
    return "\n".join(lines) + "\n"


def render_text(report: SyncReport) -> str:
    if report.problem:
        return f"DOIs not updated: {report.problem}\n"
    out = [f"DOIs: {len(report.created)} created, {len(report.updated)} updated, {report.unchanged} unchanged, "
           f"{len(report.failures)} failed"]
    for f in report.failures:
        out.append(f"  {f.doi} ({f.accession}): {f.check} {f.message}\n    fix: {f.fix}")
    return "\n".join(out) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
