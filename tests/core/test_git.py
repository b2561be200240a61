from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from builder.core.git import GitError, changed_paths, file_at, list_dir_at, merge_base, resolve_commit
from tests.support.gitrepo import ArchiveRepo, study_text


def test_no_changes_means_no_paths(archive_repo: ArchiveRepo) -> None:
    assert changed_paths(archive_repo.root, "main") == []


def test_committed_staged_unstaged_and_untracked_changes_all_count(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003", lock=False)
    archive_repo.commit("Add OIA-000003")
    archive_repo.write("studies/OIA-000001/study.yaml", study_text("OIA-000001", title="An edited study title"))
    archive_repo.write("notes/staged.txt", "staged")
    archive_repo.git("add", "notes/staged.txt")
    archive_repo.write("notes/untracked.txt", "new")
    assert changed_paths(archive_repo.root, "main") == [
        Path("notes/staged.txt"),
        Path("notes/untracked.txt"),
        Path("studies/OIA-000001/study.yaml"),
        Path("studies/OIA-000003/study.yaml"),
    ]


def test_rename_is_a_delete_plus_an_add(archive_repo: ArchiveRepo) -> None:
    archive_repo.git("mv", "studies/OIA-000002", "studies/OIA-000009")
    archive_repo.commit("Move")
    assert changed_paths(archive_repo.root, "main") == [
        Path("studies/OIA-000002/images.lock"),
        Path("studies/OIA-000002/study.yaml"),
        Path("studies/OIA-000009/images.lock"),
        Path("studies/OIA-000009/study.yaml"),
    ]


def test_changes_on_the_base_after_branching_are_not_the_branch_s(archive_repo: ArchiveRepo) -> None:
    archive_repo.checkout("main")
    archive_repo.add_study("OIA-000005", lock=False)
    archive_repo.commit("Someone else's study, merged meanwhile")
    archive_repo.checkout("submission")
    archive_repo.add_study("OIA-000003", lock=False)
    archive_repo.commit("Mine")
    assert changed_paths(archive_repo.root, "main") == [Path("studies/OIA-000003/study.yaml")]
    assert merge_base(archive_repo.root, "main") != resolve_commit(archive_repo.root, "main")


def test_file_at_and_list_dir_at_read_the_base(archive_repo: ArchiveRepo) -> None:
    archive_repo.add_study("OIA-000003", lock=False)
    archive_repo.commit("Add")
    assert (
        file_at(archive_repo.root, "main", Path("studies/OIA-000001/study.yaml")) == study_text("OIA-000001").encode()
    )
    assert file_at(archive_repo.root, "main", Path("studies/OIA-000003/study.yaml")) is None
    assert file_at(archive_repo.root, "main", Path("studies")) is None  # a folder is not a file
    assert list_dir_at(archive_repo.root, "main", Path("studies")) == ["OIA-000001", "OIA-000002"]
    assert list_dir_at(archive_repo.root, "HEAD", "studies") == ["OIA-000001", "OIA-000002", "OIA-000003"]
    assert list_dir_at(archive_repo.root, "main", Path("nothing-here")) == []


def test_unknown_ref_says_how_to_fetch(archive_repo: ArchiveRepo) -> None:
    with pytest.raises(GitError, match=r"git fetch origin main"):
        changed_paths(archive_repo.root, "origin/main")
    with pytest.raises(GitError, match="not a Git ref"):
        file_at(archive_repo.root, "--output=/tmp/x", Path("archive.toml"))


def test_not_a_repository_says_so(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not inside a Git repository"):
        changed_paths(tmp_path, "main")


def test_paths_outside_the_archive_are_refused(archive_repo: ArchiveRepo) -> None:
    with pytest.raises(GitError, match="inside the archive"):
        file_at(archive_repo.root, "main", Path("../etc/passwd"))


def test_works_from_a_remote_tracking_branch_in_a_clone(archive_repo: ArchiveRepo, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(archive_repo.root), str(clone)], check=True)
    (clone / "studies" / "OIA-000003").mkdir(parents=True)
    (clone / "studies" / "OIA-000003" / "study.yaml").write_text(study_text("OIA-000003"))
    assert changed_paths(clone, "origin/main") == [Path("studies/OIA-000003/study.yaml")]


def test_files_at_reads_many_versions_in_one_go(archive_repo: ArchiveRepo) -> None:
    from builder.core.git import files_at

    main = resolve_commit(archive_repo.root, "main")
    archive_repo.edit_study("OIA-000001", "title: HeLa", "title: New HeLa")
    head = archive_repo.commit("Edit")
    record = Path("studies/OIA-000001/study.yaml")
    old, new, missing, folder = files_at(
        archive_repo.root,
        [(main, record), (head, record), (main, Path("studies/OIA-000009/study.yaml")), (main, Path("studies"))],
    )
    assert old == study_text("OIA-000001").encode()
    assert new is not None and b"title: New HeLa" in new
    assert missing is None and folder is None
    assert files_at(archive_repo.root, []) == []
