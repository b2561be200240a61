"""DOIs through DataCite, against the local DataCite REST server of tests/support/datacite_server.py.

DataCite's test instance cannot be reached from here; the local server
implements the documented endpoints, status codes and state transitions, and
validates every request body with the datacite package's schema 4.5 validator.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.catalog.registry import DOIS_FILE, RegistryError, findable_dois, read_doi_registry
from builder.cli import main
from builder.core.settings import load_settings
from builder.curation.doi import render_markdown, sync_dois, validate_attributes
from tests.support.datacite_server import PASSWORD, PREFIX, REPOSITORY_ID
from tests.support.records import ARCHIVE_TOML, make_record, write_record

TODAY = dt.date(2026, 12, 2)
CONCEPT = f"{PREFIX}/oia-000001"
V1 = f"{PREFIX}/oia-000001.v1"
V2 = f"{PREFIX}/oia-000001.v2"


def archive(root: Path, api_url: str, **records: dict) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "archive.toml").write_text(
        ARCHIVE_TOML + 'site_url = "https://archive.example.org/"\n'
        f'\n[archive.doi]\nprefix = "{PREFIX}"\nrepository_id = "{REPOSITORY_ID}"\napi_url = "{api_url}"\n'
        'timeout_s = 5\n')
    for accession, record in records.items():
        write_record(root, record, accession)
    return root


def sync(root: Path, *, today: dt.date = TODAY, password: str = PASSWORD, **kwargs):
    return sync_dois(root, load_settings(root), today=today, password=password, **kwargs)


def attributes_sent(server) -> list[dict]:
    return [c.body["data"]["attributes"] for c in server.requests if c.method in ("POST", "PUT")]


def test_released_study_gets_findable_concept_and_version_dois(tmp_path, datacite_server):
    root = archive(tmp_path, datacite_server.url, **{"OIA-000001": make_record(release_date="2024-01-15")})
    report = sync(root)
    assert report.ok and sorted(report.created) == [CONCEPT, V1]
    assert datacite_server.dois[CONCEPT]["state"] == "findable"
    assert datacite_server.dois[V1]["state"] == "findable"
    assert datacite_server.dois[CONCEPT]["url"] == "https://archive.example.org/studies/OIA-000001/"
    relations = {(r["relationType"], r["relatedIdentifier"])
                 for r in datacite_server.dois[CONCEPT]["relatedIdentifiers"]}
    assert ("HasVersion", V1) in relations
    relations = {(r["relationType"], r["relatedIdentifier"]) for r in datacite_server.dois[V1]["relatedIdentifiers"]}
    assert ("IsVersionOf", CONCEPT) in relations
    assert datacite_server.dois[V1]["titles"] == [{"title": "Nuclear shape of mouse fibroblasts"}]
    # Every request body is DataCite 4.5 metadata, by the datacite package's own validator.
    assert not datacite_server.invalid_bodies
    for attributes in attributes_sent(datacite_server):
        assert validate_attributes(attributes) == []
    # The registry holds what DataCite confirmed, and the catalog reads findable DOIs from it.
    registry = read_doi_registry(root)
    assert registry.dois[CONCEPT].state == "findable" and registry.dois[V1].version == 1
    dois = findable_dois(root)["OIA-000001"]
    assert dois.concept == CONCEPT and dois.for_version(1) == V1


def test_a_rerun_mints_nothing_twice(tmp_path, datacite_server):
    root = archive(tmp_path, datacite_server.url, **{"OIA-000001": make_record()})
    sync(root)
    calls = len(datacite_server.requests)
    again = sync(root)
    assert again.ok and again.created == [] and again.updated == [] and again.unchanged == 2
    assert len(datacite_server.requests) == calls  # the registry says all is done: no call at all
    # With the registry lost, the server is asked first: still nothing minted twice.
    (root / DOIS_FILE).unlink()
    lost = sync(root)
    assert lost.ok and lost.created == [] and sorted(lost.updated) == [CONCEPT, V1]
    assert len(datacite_server.calls("POST")) == 2
    assert all(c.status != 422 for c in datacite_server.requests)
    # --verify asks the server about every DOI and finds it in agreement.
    verified = sync(root, verify=True)
    assert verified.unchanged == 2 and not verified.updated


def test_embargoed_study_is_registered_never_findable_until_its_release_date(tmp_path, datacite_server):
    record = make_record(release_date="2027-03-01", title="Secret title of an embargoed study")
    root = archive(tmp_path, datacite_server.url, **{"OIA-000001": record})
    report = sync(root)
    assert report.ok
    assert {datacite_server.dois[d]["state"] for d in (CONCEPT, V1)} == {"registered"}
    # Registered DOIs' metadata can be fetched by anyone who knows the DOI: it names nothing of the study.
    sent = json.dumps(attributes_sent(datacite_server))
    assert "Secret title" not in sent and "Lovelace" not in sent and "ada@example.org" not in sent
    assert findable_dois(root) == {}  # nothing for a page to show
    # The day before release: still registered; on the release date: findable, with the real metadata.
    assert sync(root, today=dt.date(2027, 2, 28)).updated == []
    released = sync(root, today=dt.date(2027, 3, 1))
    assert sorted(released.updated) == [CONCEPT, V1]
    assert datacite_server.dois[CONCEPT]["state"] == "findable"
    assert datacite_server.dois[CONCEPT]["titles"] == [{"title": "Secret title of an embargoed study"}]
    assert findable_dois(root)["OIA-000001"].concept == CONCEPT
    assert not datacite_server.invalid_bodies


def test_new_version_gets_its_doi_and_the_old_one_moves_to_its_version_page(tmp_path, datacite_server):
    root = archive(tmp_path, datacite_server.url, **{"OIA-000001": make_record()})
    sync(root)
    v2 = make_record(version=2, title="Nuclear shape of mouse fibroblasts, corrected",
                     changelog=[{"version": 2, "date": "2026-12-01", "description": "Corrected the title."}])
    write_record(root, v2, "OIA-000001")
    report = sync(root)
    assert report.ok
    assert report.created == [V2]
    assert set(report.updated) == {CONCEPT, V1}
    assert datacite_server.dois[V1]["url"] == "https://archive.example.org/studies/OIA-000001/v1/"
    assert datacite_server.dois[V1]["titles"] == [{"title": "Nuclear shape of mouse fibroblasts"}]  # v1 as it was
    assert datacite_server.dois[V2]["url"] == "https://archive.example.org/studies/OIA-000001/"
    concept = datacite_server.dois[CONCEPT]
    assert concept["version"] == "2" and concept["titles"][0]["title"].endswith("corrected")
    has = {r["relatedIdentifier"] for r in concept["relatedIdentifiers"] if r["relationType"] == "HasVersion"}
    assert has == {V1, V2}
    newer = {(r["relationType"], r["relatedIdentifier"]) for r in datacite_server.dois[V2]["relatedIdentifiers"]}
    assert ("IsNewVersionOf", V1) in newer and ("IsVersionOf", CONCEPT) in newer
    assert findable_dois(root)["OIA-000001"].versions == {1: V1, 2: V2}
    assert not datacite_server.invalid_bodies


def test_withdrawn_study_keeps_its_dois_pointing_at_the_tombstone(tmp_path, datacite_server):
    root = archive(tmp_path, datacite_server.url, **{"OIA-000001": make_record()})
    sync(root)
    v2 = make_record(version=2, status="withdrawn", withdrawal_reason="Consent was withdrawn by a donor",
                     changelog=[{"version": 2, "date": "2026-12-01", "description": "Withdrawn."}])
    write_record(root, v2, "OIA-000001")
    assert sync(root).ok
    tombstone = "https://archive.example.org/studies/OIA-000001/"
    for doi in (CONCEPT, V1, V2):
        assert datacite_server.dois[doi]["state"] == "findable"
        assert datacite_server.dois[doi]["url"] == tombstone
    descriptions = [d["description"] for d in datacite_server.dois[CONCEPT]["descriptions"]]
    assert any("Withdrawn: Consent was withdrawn" in d for d in descriptions)


def test_datacite_down_never_raises_is_reported_and_retried(tmp_path, datacite_server, monkeypatch):
    root = archive(tmp_path, datacite_server.url, **{"OIA-000001": make_record()})
    datacite_server.fail_with(503, times=100)
    report = sync(root)
    assert not report.ok and report.failures
    assert "server error (503)" in report.failures[0].message and report.failures[0].check == "DOI004"
    summary = render_markdown(report)
    assert "Failed (retried on the next run" in summary and CONCEPT in summary
    assert read_doi_registry(root).dois == {}  # nothing recorded that DataCite did not confirm
    datacite_server.failures.clear()
    retried = sync(root)
    assert retried.ok and sorted(retried.created) == [CONCEPT, V1]


def test_unreachable_datacite_and_refused_credentials(tmp_path, datacite_server, refused_url):
    root = archive(tmp_path, refused_url + "/", **{"OIA-000001": make_record()})
    report = sync(root)
    assert len(report.failures) == 1 and "could not be reached" in report.failures[0].message
    assert report.failures[0].check == "DOI001"
    root2 = archive(tmp_path / "b", datacite_server.url, **{"OIA-000001": make_record()})
    refused = sync(root2, password="wrong")
    assert [c.status for c in datacite_server.requests] == [401]  # stops at the first refusal
    assert "refused the credentials (401)" in refused.failures[0].message and refused.failures[0].check == "DOI002"
    assert "DATACITE_PASSWORD" in refused.failures[0].fix


def test_rejected_metadata_is_422_with_the_field(tmp_path, datacite_server):
    from builder.curation.doi import DataCite, Target, apply_target

    root = archive(tmp_path, datacite_server.url)
    api = DataCite(load_settings(root).doi, PASSWORD)
    bad = Target(CONCEPT, "OIA-000001", None, "findable", "https://archive.example.org/studies/OIA-000001/",
                 {"titles": [{"title": "x"}], "types": {"resourceTypeGeneral": "NotAType"}})
    with pytest.raises(Exception) as caught:
        apply_target(api, bad)
    from builder.curation.doi import _explain

    check, message = _explain(caught.value)
    assert check.id == "DOI003" and "types/resourceTypeGeneral" in message
    assert datacite_server.requests[-1].status == 422
    assert CONCEPT not in datacite_server.dois


def test_server_state_machine_as_documented(datacite_server):
    """The local server itself: draft -> registered -> findable, hide back to registered, 404s."""
    import requests

    auth = (REPOSITORY_ID, PASSWORD)
    url = datacite_server.url
    meta = {"doi": f"{PREFIX}/x1", "types": {"resourceTypeGeneral": "Dataset"}, "creators": [{"name": "A"}],
            "titles": [{"title": "T"}], "publisher": {"name": "P"}, "publicationYear": "2026",
            "schemaVersion": "http://datacite.org/schema/kernel-4"}
    body = {"data": {"type": "dois", "attributes": meta}}
    assert requests.get(url + f"dois/{PREFIX}/x1", auth=auth).status_code == 404
    assert requests.post(url + "dois", json=body, auth=("x", "y")).status_code == 401
    created = requests.post(url + "dois", json=body, auth=auth)
    assert created.status_code == 201 and created.json()["data"]["attributes"]["state"] == "draft"
    assert requests.post(url + "dois", json=body, auth=auth).status_code == 422  # already taken
    # register needs a URL
    no_url = {"data": {"type": "dois", "attributes": {"event": "register"}}}
    assert requests.put(url + f"dois/{PREFIX}/x1", json=no_url, auth=auth).status_code == 422
    register = {"data": {"type": "dois", "attributes": {"event": "register", "url": "https://e.org/x"}}}
    assert requests.put(url + f"dois/{PREFIX}/x1", json=register, auth=auth).json()["data"]["attributes"]["state"] \
        == "registered"
    assert requests.delete(url + f"dois/{PREFIX}/x1", auth=auth).status_code == 405
    publish = {"data": {"type": "dois", "attributes": {"event": "publish"}}}
    assert requests.put(url + f"dois/{PREFIX}/x1", json=publish, auth=auth).status_code == 200
    assert requests.put(url + f"dois/{PREFIX}/x1", json=register, auth=auth).status_code == 422  # not from findable
    hide = {"data": {"type": "dois", "attributes": {"event": "hide"}}}
    assert requests.put(url + f"dois/{PREFIX}/x1", json=hide, auth=auth).json()["data"]["attributes"]["state"] \
        == "registered"
    assert requests.put(url + f"dois/{PREFIX}/nope", json=hide, auth=auth).status_code == 404


def test_not_configured_or_no_password_is_reported_not_raised(tmp_path, monkeypatch, datacite_server):
    write_record(tmp_path / "plain", make_record())
    report = sync_dois(tmp_path / "plain", load_settings(tmp_path / "plain"), today=TODAY)
    assert not report.configured and "not configured" in report.problem and report.problem.startswith("DOI005")
    root = archive(tmp_path / "b", datacite_server.url, **{"OIA-000001": make_record()})
    monkeypatch.delenv("DATACITE_PASSWORD", raising=False)
    report = sync_dois(root, load_settings(root), today=TODAY)
    assert "DATACITE_PASSWORD" in report.problem and "DOI005" in report.problem and not datacite_server.requests


def test_doi_command_writes_the_job_summary_and_never_fails_the_job(tmp_path, datacite_server, monkeypatch):
    root = archive(tmp_path, datacite_server.url, **{"OIA-000001": make_record()})
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("DATACITE_PASSWORD", PASSWORD)
    datacite_server.fail_with(500, times=100)
    result = CliRunner().invoke(main, ["doi", "--root", str(root), "--today", "2026-12-02"])
    assert result.exit_code == 0, result.output
    assert "failed" in result.output and "Traceback" not in result.output
    assert "## DOIs (DataCite)" in summary.read_text() and "`DOI004`" in summary.read_text()
    datacite_server.failures.clear()
    result = CliRunner().invoke(main, ["doi", "--root", str(root), "--today", "2026-12-02", "--format", "json"])
    assert result.exit_code == 0
    assert sorted(json.loads(result.output)["created"]) == [CONCEPT, V1]
    # --strict turns a failure into exit status 1 (for a curator running it by hand).
    datacite_server.fail_with(500, times=100)
    result = CliRunner().invoke(main, ["doi", "--root", str(root), "--today", "2026-12-02", "--strict", "--verify"])
    assert result.exit_code == 1


def test_a_broken_registry_file_is_a_clear_error(tmp_path, datacite_server):
    root = archive(tmp_path, datacite_server.url, **{"OIA-000001": make_record()})
    (root / "registry").mkdir()
    (root / DOIS_FILE).write_text('{"dois": {"x": {"state": "lost"}}}')
    with pytest.raises(RegistryError, match=r"registry/dois.json: not a DOI registry .*git checkout"):
        read_doi_registry(root)
    result = CliRunner().invoke(main, ["doi", "--root", str(root)], env={"DATACITE_PASSWORD": PASSWORD})
    assert result.exit_code == 2 and "registry/dois.json" in result.output and "Traceback" not in result.output
