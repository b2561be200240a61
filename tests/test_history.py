from __future__ import annotations

from pathlib import Path

from builder.history import version_history
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
