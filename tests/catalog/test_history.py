from __future__ import annotations

from pathlib import Path

from builder.catalog.history import version_history
from tests.support.gitrepo import ArchiveRepo

RECORD = Path("studies/OIA-000001/study.yaml")


def _new_version(repo: ArchiveRepo, version: int, title: str) -> None:
    text = repo.read(RECORD)
    text = text.replace(f"\nversion: {version - 1}\n", f"\nversion: {version}\n")
    text = text.replace("title: HeLa cells imaged by confocal microscopy", f"title: {title}")
    if "changelog:" not in text:
        text += "changelog:\n"
    text += f"  - version: {version}\n    date: 2025-0{version}-01\n    description: Retitled to {title}.\n"
    repo.write(RECORD, text)


def test_every_version_on_the_main_branch_is_listed(archive_repo: ArchiveRepo) -> None:
    repo = archive_repo
    repo.checkout("main")
    first = repo.git("rev-parse", "HEAD").strip()
    repo.edit_study("OIA-000001", "# Study record;", "# A study record;")  # no new version
    layout_commit = repo.commit("Comment only")
    _new_version(repo, 2, "HeLa cells in confocal, version two")
    v2 = repo.commit("Version 2")
    repo.edit_study("OIA-000002", "title: Mouse", "title: Rat")  # another study: not in this history
    repo.commit("Other study")
    # A pull request merged with a merge commit: its inner commits are not steps of main.
    repo.checkout("pr", new=True)
    _new_version(repo, 3, "HeLa cells in confocal, version three")
    repo.commit("Version 3 on a branch")
    repo.checkout("main")
    repo.git("merge", "-q", "--no-ff", "-m", "Merge pull request: version 3", "pr")
    merge = repo.git("rev-parse", "HEAD").strip()

    history = version_history(repo.root, RECORD)
    assert [(p.version, p.commit) for p in history] == [(1, layout_commit), (2, v2), (3, merge)]
    assert first != layout_commit
    assert history[1].study is not None and history[1].study.title == "HeLa cells in confocal, version two"
    assert history[2].study.changelog[-1].version == 3
    # From the base branch's point of view (before the merge) there were two versions.
    assert [p.version for p in version_history(repo.root, RECORD, ref="main~1")] == [1, 2]


def test_an_old_version_the_model_now_rejects_is_listed_without_content(archive_repo: ArchiveRepo) -> None:
    repo = archive_repo
    repo.checkout("main")
    repo.write("studies/OIA-000003/study.yaml", "schema_version: 1\naccession: OIA-000003\nversion: 1\n")
    repo.commit("An old-format record")
    history = version_history(repo.root, Path("studies/OIA-000003/study.yaml"))
    assert [(p.version, p.study) for p in history] == [(1, None)]


def test_a_study_without_history_has_no_versions(archive_repo: ArchiveRepo) -> None:
    assert version_history(archive_repo.root, Path("studies/OIA-000042/study.yaml")) == []


def test_versions_published_before_a_schema_change_keep_their_content(archive_repo: ArchiveRepo) -> None:
    repo = archive_repo
    repo.checkout("main")
    current = repo.read(RECORD)
    # Version 1 was written in the draft format (schema 1): `license`, one `organism`, one `imaging_method`.
    draft = (current.replace("schema_version: 2", "schema_version: 1")
             .replace("licence: CC-BY-4.0", "license: CC-BY-4.0")
             .replace("      organisms:\n        - id: NCBITaxon:9606\n          label: Homo sapiens",
                      "      organism:\n        id: NCBITaxon:9606\n        label: Homo sapiens")
             .replace("      imaging_method:\n        - id: FBbi:00000246\n          label: fluorescence microscopy",
                      "      imaging_method:\n        id: FBbi:00000246\n        label: fluorescence microscopy"))
    assert draft.count("schema_version: 1") == 1 and "organism:\n" in draft
    repo.write(RECORD, draft)
    repo.commit("Version 1, as published in the draft format")
    repo.write(RECORD, current)  # migrated by `bioarchive migrate` in the same pull request as version 2
    _new_version(repo, 2, "HeLa cells in confocal, version two")
    repo.commit("Version 2, migrated to schema 2")

    v1, v2 = version_history(repo.root, RECORD)
    assert v1.study is not None and v1.study.licence == "CC-BY-4.0"
    assert v1.study.organisms[0].id == "NCBITaxon:9606"
    assert str(v1.date) == "2024-01-15"  # the release date, not the day of the commit
    assert str(v2.date) == "2025-02-01"  # the changelog entry's date


def test_a_version_published_under_a_licence_no_longer_offered_keeps_it(archive_repo: ArchiveRepo) -> None:
    repo = archive_repo
    repo.checkout("main")
    repo.write("archive.toml", repo.read("archive.toml").replace('"CC0-1.0", "CC-BY-4.0"', '"CC0-1.0"'))
    repo.commit("New studies must be CC0")
    [v1] = version_history(repo.root, RECORD)
    assert v1.study is not None and v1.study.licence == "CC-BY-4.0"
