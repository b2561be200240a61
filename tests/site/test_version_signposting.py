"""Signposting of earlier versions (RFC 5829 relations as FAIR Signposting uses them) on a real build with
Git history: OIA-000002 gets a version 2, so its version 1 has its own page, linkset and RO-Crate; and
DataCite's formats as `describedby` links of a study with a findable DOI."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import pytest
import yaml
from rocrate.rocrate import ROCrate

from builder.catalog.assembly import build_catalog
from builder.catalog.registry import StudyDois
from builder.core.settings import load_settings
from builder.model.study import Study
from builder.site.signposting import DATACITE_FORMATS, LINKSET_FILE, ROCRATE_FILE, head_links, study_links
from tests.site.test_derived import sections
from tests.site.test_signposting import head_of
from tests.support.catalog import settings_for_tests, study_record

SOURCE = "OIA-000002"


def _git(root: Path, *args: str) -> None:
    env = {"GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "T",
           "GIT_COMMITTER_EMAIL": "t@example.org", "PATH": "/usr/bin:/bin", "HOME": str(root)}
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def versioned_site(built_site, tmp_path_factory):
    from builder.site.build import build

    root = tmp_path_factory.mktemp("versions") / "archive"
    shutil.copytree(built_site.root, root, ignore=shutil.ignore_patterns("site", ".site.*"))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "v1")
    record = root / "studies" / SOURCE / "study.yaml"
    data = yaml.safe_load(record.read_text())
    data["version"] = 2
    data["changelog"] = [{"version": 2, "date": built_site.today.isoformat(),
                          "description": "Corrected the instrument name of the light-sheet microscope."}]
    data["datasets"][0]["acquisition"]["instrument"] += " (corrected)"
    record.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    _git(root, "commit", "-q", "-am", "v2")
    site = root / "site"
    build(root, site_dir=site, today=built_site.today, console=None, history=True, allow_invalid=True)
    return root, site


def rels(text: str) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for link in head_of(text):
        found.setdefault(link.get("rel", ""), []).append(link)
    return found


def test_the_latest_page_links_its_predecessor_and_the_version_page_signposts_itself(versioned_site):
    root, site = versioned_site
    public = load_settings(root).site_url.rstrip("/") + "/"
    latest_url, v1_url = f"{public}studies/{SOURCE}/", f"{public}studies/{SOURCE}/v1/"
    latest = rels((site / "studies" / SOURCE / "index.html").read_text())
    assert [link["href"] for link in latest["predecessor-version"]] == [v1_url]
    assert "latest-version" not in latest

    v1 = rels((site / "studies" / SOURCE / "v1" / "index.html").read_text())
    assert [link["href"] for link in v1["cite-as"]] == [v1_url]  # no DOI: the version's own stable page
    assert [link["href"] for link in v1["latest-version"]] == [latest_url]
    assert [link["href"] for link in v1["successor-version"]] == [latest_url]
    assert "predecessor-version" not in v1
    (described,) = v1["describedby"]  # its own RO-Crate; the API document describes the latest only
    assert described["href"] == v1_url + ROCRATE_FILE
    assert [link["href"] for link in v1["linkset"]] == [v1_url + LINKSET_FILE]


def test_the_version_linkset_and_ro_crate_exist_and_describe_that_version(versioned_site):
    root, site = versioned_site
    public = load_settings(root).site_url.rstrip("/") + "/"
    folder = site / "studies" / SOURCE / "v1"
    (context,) = json.loads((folder / LINKSET_FILE).read_text())["linkset"]
    assert context["anchor"] == f"{public}studies/{SOURCE}/v1/"
    assert context["latest-version"] == [{"href": f"{public}studies/{SOURCE}/"}]
    assert context["describedby"] == [{"href": f"{public}studies/{SOURCE}/v1/{ROCRATE_FILE}",
                                       "type": "application/ld+json",
                                       "profile": "https://w3id.org/ro/crate/1.2"}]
    crate = ROCrate(str(folder))
    assert crate.root_dataset["version"] == "1"
    assert crate.root_dataset["identifier"] == f"{public}studies/{SOURCE}/v1/"
    assert "(corrected)" not in json.dumps(crate.metadata.generate())
    current = json.loads((site / "studies" / SOURCE / LINKSET_FILE).read_text())["linkset"][0]
    assert current["predecessor-version"] == [{"href": f"{public}studies/{SOURCE}/v1/"}]


def test_a_derived_study_pinned_to_an_earlier_version_links_that_version_page(versioned_site):
    _, site = versioned_site
    page = site / "studies" / "OIA-000007" / "index.html"
    (href,) = sections(page.read_text())["derived-from"][:1]
    target = urljoin("https://x.invalid/studies/OIA-000007/", href)
    assert target == f"https://x.invalid/studies/{SOURCE}/v1/"
    assert (site / "studies" / SOURCE / "v1" / "index.html").is_file()


def test_datacite_formats_are_describedby_links_through_content_negotiation_when_a_doi_is_findable():
    settings = settings_for_tests()
    studies = [Study.model_validate(study_record("OIA-000001")), Study.model_validate(study_record("OIA-000002"))]
    catalog = build_catalog(studies, {}, settings, dt.date(2026, 6, 1), dois={
        "OIA-000001": StudyDois(concept="10.5555/oia.000001", versions={1: "10.5555/oia.000001.v1"})})
    with_doi, without = catalog.get("OIA-000001"), catalog.get("OIA-000002")
    described = {link.type: link.href for link in study_links(with_doi, settings) if link.rel == "describedby"}
    for media_type, _profile in DATACITE_FORMATS:
        assert described[media_type] == f"https://data.crosscite.org/{media_type}/10.5555/oia.000001.v1"
    assert not any("crosscite" in link.href for link in study_links(without, settings))
    assert "data.crosscite.org" in head_links(with_doi, settings)
