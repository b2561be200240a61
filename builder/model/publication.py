"""What is public when: the archive's one publication policy. Pure, no I/O.

- A study is public from its ``release_date`` on, that day included, in UTC
  (the caller's ``today``). Before it, nothing of it is published: no page,
  citation, export, feed or search entry, and its images are not read.
- A withdrawn study stays public as a tombstone: accession, metadata,
  citation and the withdrawal reason, but no image access, thumbnail or facet
  counts, so nothing invites reuse of data that was taken down.
- An earlier version is public when its own record was released (a version
  committed under embargo and replaced before release was never published);
  it became public on the later of its commit and its release date. A
  withdrawal of the current version takes the data of every version down.

The catalog (builder.catalog.assembly), the site build (which images it
reads), the version pages and the submission rules all ask these functions;
none decides on its own.
"""

from __future__ import annotations

import datetime as dt
import enum

from builder.model.study import Status, Study


class Visibility(enum.Enum):
    """How much of a study (or of one of its versions) the archive publishes."""

    EMBARGOED = "embargoed"  # nothing: not released yet
    TOMBSTONE = "tombstone"  # withdrawn: metadata, citation and reason, no data
    PUBLISHED = "published"  # everything, data included


def is_released(release_date: dt.date | None, today: dt.date) -> bool:
    """Released on or before ``today`` (the release day itself counts); an unknown date never is."""
    return release_date is not None and release_date <= today


def study_visibility(study: Study, today: dt.date) -> Visibility:
    if not is_released(study.release_date, today):
        return Visibility.EMBARGOED
    if study.status is Status.WITHDRAWN:
        return Visibility.TOMBSTONE
    return Visibility.PUBLISHED


def is_public(study: Study, today: dt.date) -> bool:
    """The study has a page (published or tombstone)."""
    return study_visibility(study, today) is not Visibility.EMBARGOED


def data_is_public(study: Study, today: dt.date) -> bool:
    """The study's images are shown and linked (so the build reads them)."""
    return study_visibility(study, today) is Visibility.PUBLISHED


def version_visibility(version: int, record: Study | None, current: Study, today: dt.date) -> Visibility | None:
    """What is published of an earlier ``version`` of ``current`` whose record was ``record``.

    None when ``version`` is not earlier than the current one (the current
    version is :func:`study_visibility`'s question). ``record`` is None when
    the old record no longer reads; such a version is listed, without content.
    """
    if version >= current.version:
        return None
    if record is not None and not is_released(record.release_date, today):
        return Visibility.EMBARGOED
    if current.status is Status.WITHDRAWN:
        return Visibility.TOMBSTONE
    return Visibility.PUBLISHED


def published_on(committed: dt.date, release_date: dt.date) -> dt.date:
    """The day a version became public: a version committed under embargo became public on its release date."""
    return max(committed, release_date)
