"""Checks on a pull request as a whole: accessions, versions, deletions, embargo, lock files.

They compare the records a pull request changes with the base branch (see
builder.curation.submission and builder.curation.lock); records validation itself lives in
builder.records.checks.
"""

from __future__ import annotations

from builder.core.checks import Severity, register

AREA = "submission"

ACCESSION_TAKEN = register(
    "SUB001",
    Severity.ERROR,
    "New study uses an accession that is already taken on the base branch",
    "Move your study to the next free accession: run `bioarchive renumber studies/<ACCESSION>` "
    "and commit the result.",
    area=AREA,
)
VERSION_NOT_RAISED = register(
    "SUB002",
    Severity.ERROR,
    "Published study changed without raising `version` by one",
    "Set `version` to the published version plus one (published studies are immutable; "
    "every change makes a new version).",
    area=AREA,
)
CHANGELOG_MISSING = register(
    "SUB003",
    Severity.ERROR,
    "New version of a published study has no changelog entry saying what changed and why",
    "Add to `changelog` an entry `{version: <new version>, date: <today>, description: <what changed and why>}`.",
    area=AREA,
)
STUDY_DELETED = register(
    "SUB004",
    Severity.ERROR,
    "Study deleted",
    "Restore the study folder and withdraw the study instead: set `status: withdrawn`, write a "
    "`withdrawal_reason`, raise `version` and add a changelog entry. Its page stays as a tombstone.",
    area=AREA,
)
ACCESSION_CHANGED = register(
    "SUB005",
    Severity.ERROR,
    "The accession of an existing study was changed",
    "Put the original accession back: accessions never change once assigned.",
    area=AREA,
)
EMBARGOED = register(
    "SUB006",
    Severity.INFO,
    "Study is embargoed until its release date",
    "Nothing to fix: the study is reviewed now and published by the daily build on its release date.",
    area=AREA,
)
WITHDRAWN = register(
    "SUB007",
    Severity.INFO,
    "Study is withdrawn",
    "Nothing to fix: the study's page stays as a tombstone showing the withdrawal reason.",
    area=AREA,
)
RE_EMBARGOED = register(
    "SUB008",
    Severity.ERROR,
    "A published study was given a future release date",
    "Put the published `release_date` back: a released study cannot be embargoed again "
    "(withdraw it instead if it must go).",
    area=AREA,
)
CHANGELOG_REWRITTEN = register(
    "SUB009",
    Severity.ERROR,
    "Changelog entries of earlier versions were changed or removed",
    "Restore the earlier changelog entries exactly as published; add a new entry for the new version instead.",
    area=AREA,
)
NEW_STUDY_VERSION = register(
    "SUB010",
    Severity.WARNING,
    "A new study should start at version 1 with an empty changelog",
    "Set `version: 1` and remove `changelog` entries: versions count changes after publication.",
    area=AREA,
)
RECORD_UNREADABLE_AT_BASE = register(
    "SUB011",
    Severity.WARNING,
    "The base branch's copy of this record could not be read, so version rules were not checked",
    "Ask a curator to repair the record on the base branch.",
    area=AREA,
)
STRAY_FILE = register(
    "SUB012",
    Severity.WARNING,
    "A study folder holds files other than study.yaml and images.lock",
    "Remove the file: images belong in object storage (referenced by URL), and everything else "
    "about the study belongs in study.yaml.",
    area=AREA,
)
CHANGELOG_DATE = register(
    "SUB013",
    Severity.WARNING,
    "The new changelog entry's date is in the future or before the previous entry",
    "Date the entry with the day the change is made (YYYY-MM-DD), no earlier than the previous entry.",
    area=AREA,
)
LICENCE_CHANGED = register(
    "SUB014",
    Severity.WARNING,
    "The licence of a published study was changed",
    "Make sure every rights holder agrees and say why in the changelog entry; versions already "
    "published stay available under their licence, which cannot be revoked.",
    area=AREA,
)
SYMLINK = register(
    "SUB015",
    Severity.ERROR,
    "A study folder holds a symbolic link",
    "Commit the file itself, not a link: a link could make the checks read files outside the archive.",
    area=AREA,
)
MIXED_WITH_ARCHIVE_FILES = register(
    "SUB016",
    Severity.ERROR,
    "A study submission also changes files that decide how studies are checked or published",
    "Take those changes out of this pull request (git checkout origin/main -- <path>) and propose them "
    "in a pull request of their own: settings, term lists, the builder and the workflows are reviewed "
    "by maintainers on their own, so no submission can loosen the checks that judge it.",
    area=AREA,
)
OUTSIDE_STUDY_FILES = register(
    "SUB017",
    Severity.WARNING,
    "A study submission also changes files outside the study folders",
    "Check each listed file before merging: hand-written pages in docs/ are published as they are "
    "(scripts included), files under the storage root may be another study's data, and tests run in CI. "
    "If the change is not part of the study, take it out (git checkout origin/main -- <path>) and propose it "
    "in a pull request of its own.",
    area=AREA,
)
LOCK_IMAGE_MISSING = register(
    "SUB020",
    Severity.ERROR,
    "An image of the study is not pinned in images.lock",
    "Run `bioarchive lock studies/<ACCESSION>` and commit images.lock.",
    area=AREA,
)
LOCK_FINGERPRINT_CHANGED = register(
    "SUB021",
    Severity.ERROR,
    "An image's metadata no longer matches the fingerprint pinned in images.lock",
    "If the change to the data is intended, run `bioarchive lock studies/<ACCESSION>` and commit "
    "images.lock (for a published study also raise `version` and add a changelog entry); "
    "otherwise restore the data.",
    area=AREA,
)
LOCK_STALE_ENTRY = register(
    "SUB022",
    Severity.WARNING,
    "images.lock pins an image the record no longer lists, or with another URL",
    "Run `bioarchive lock studies/<ACCESSION>` and commit images.lock.",
    area=AREA,
)
LOCK_UNREADABLE = register(
    "SUB023",
    Severity.ERROR,
    "images.lock is not a lock file this builder wrote",
    "Do not edit images.lock by hand: delete it, run `bioarchive lock studies/<ACCESSION>` and commit it.",
    area=AREA,
)
LOCK_MISSING = register(
    "SUB024",
    Severity.ERROR,
    "The study has no images.lock",
    "Run `bioarchive lock studies/<ACCESSION>` and commit studies/<ACCESSION>/images.lock.",
    area=AREA,
)
IMAGE_UNREACHABLE = register(
    "SUB030",
    Severity.ERROR,
    "A published image could not be read during the fixity check",
    "Check that the data is still at its URL and publicly readable; restore it, or withdraw the study.",
    area=AREA,
)

# ---------------------------------------------------------------- custody (bioarchive ingest, the archive store)
CUSTODY = "custody"

CONTENT_NOT_AS_LOCKED = register(
    "ARC001", Severity.ERROR, "The image's content is not the content pinned in images.lock",
    "The source changed after review: restore the reviewed data, or run `bioarchive lock studies/<ACCESSION>`, "
    "review the change and raise `version`. Nothing of this version was marked archived.",
    area=CUSTODY,
)
ARCHIVED_VERSION_IMMUTABLE = register(
    "ARC002", Severity.ERROR, "An archived version would be overwritten",
    "Archived versions never change: publish the new content as a new version (raise `version`, add a "
    "changelog entry, re-lock), or restore the source to the archived content.",
    area=CUSTODY,
)
TRANSFER_CORRUPTED = register(
    "ARC003", Severity.ERROR, "Bytes changed in transfer (checksum or size differs); nothing was stored",
    "Run `bioarchive ingest` again; if it persists, the source serves changing or truncated objects.",
    area=CUSTODY,
)
NOT_READY_FOR_CUSTODY = register(
    "ARC004", Severity.ERROR, "The study cannot be ingested: no images.lock with content checksums",
    "Run `bioarchive lock studies/<ACCESSION>` (lock version 2 pins content checksums) and commit images.lock.",
    area=CUSTODY,
)
OVER_CUSTODY_LIMITS = register(
    "ARC005", Severity.ERROR, "The image is larger than the archive accepts ([archive.store] limits)",
    "Split the image, rechunk it (fewer, larger chunks), or ask the maintainers to raise max_object_bytes, "
    "max_image_objects or max_image_bytes in archive.toml.",
    area=CUSTODY,
)
ARCHIVE_ENTRY_UNREADABLE = register(
    "ARC006", Severity.ERROR, "An entry of the archive store is not one the builder wrote",
    "Check the archive store's integrity (`bioarchive fixity`); restore the entry from the bucket's versions.",
    area=CUSTODY,
)
BUILT_FROM_ARCHIVE = register(
    "ARC007", Severity.WARNING, "The source could not be read; the site shows the archived copy",
    "Nothing to do for the site; tell the depositor their copy is unreachable (the archive's copy is intact).",
    area=CUSTODY,
)
INGEST_ON_DASK_FAILED = register(
    "ARC008", Severity.ERROR, "Ingest on the Dask cluster did not finish (scheduler unreachable or a worker failed)",
    "Start the scheduler first (`dask scheduler`, or a distributed.LocalCluster) and give its address as "
    "tcp://host:port, or leave out --scheduler; then run `bioarchive ingest` again: it continues where it stopped.",
    area=CUSTODY,
)

# ---------------------------------------------------------------- content checksums (images.lock v2) and fixity
LOCK_NO_CONTENT = register(
    "SUB025",
    Severity.WARNING,
    "images.lock pins no content checksum for an image (lock version 1)",
    "Run `bioarchive lock studies/<ACCESSION>` (it reads every byte once and pins the content checksum) "
    "and commit images.lock.",
    area=AREA,
)
LOCK_CONTENT_CHANGED = register(
    "SUB026",
    Severity.ERROR,
    "An image's bytes are not the content pinned in images.lock",
    "If the change to the data is intended, run `bioarchive lock studies/<ACCESSION>` and commit images.lock "
    "(for a published study also raise `version`); otherwise restore the data as it was locked.",
    area=AREA,
)

FIXITY = "fixity"

FIXITY_OBJECT_MISSING = register(
    "FIX001", Severity.ERROR, "An archived object listed in the version's manifest is missing from the store",
    "Restore the object from the bucket's previous versions (object versioning), or re-ingest the version "
    "from its source after checking the source still matches images.lock.",
    area=FIXITY,
)
FIXITY_OBJECT_EXTRA = register(
    "FIX002", Severity.ERROR, "The store holds an object under an archived version that its manifest does not list",
    "Find out who wrote it (the bucket's access logs); delete the stray object, since the builder never writes "
    "into an archived version.",
    area=FIXITY,
)
FIXITY_OBJECT_RESIZED = register(
    "FIX003", Severity.ERROR, "An archived object's size differs from its manifest",
    "Restore the object from the bucket's previous versions, or re-ingest the version.",
    area=FIXITY,
)
FIXITY_OBJECT_CORRUPTED = register(
    "FIX004", Severity.ERROR, "An archived object's SHA-256 differs from its manifest",
    "Restore the object from the bucket's previous versions, or re-ingest the version; check the storage "
    "service for media errors.",
    area=FIXITY,
)
FIXITY_MANIFEST_UNREADABLE = register(
    "FIX005", Severity.ERROR, "A version's manifest in the archive store cannot be read",
    "Restore manifest.json from the bucket's previous versions; never write it by hand.",
    area=FIXITY,
)
FIXITY_BUDGET_TOO_SMALL = register(
    "FIX006", Severity.WARNING, "The fixity byte budget cannot re-hash every object within the configured runs",
    "Raise [archive.fixity] byte_budget (or cycle_runs) in archive.toml to at least the size the message names.",
    area=FIXITY,
)
