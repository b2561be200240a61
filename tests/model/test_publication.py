"""The publication policy: what is public when (builder.model.publication), and that the catalog follows it."""

from __future__ import annotations

import datetime as dt

from builder.catalog.assembly import PastVersion, build_catalog, past_version_entry
from builder.model.publication import (
    Visibility,
    data_is_public,
    is_public,
    is_released,
    published_on,
    study_visibility,
    version_visibility,
)
from builder.model.study import Study
from tests.support.catalog import example_image_facts, settings_for_tests, study_record

RELEASE = dt.date(2026, 3, 14)
WITHDRAWN = {"status": "withdrawn", "withdrawal_reason": "The images were mislabelled by the depositors."}


def study(**overrides) -> Study:
    return Study.model_validate(study_record("OIA-000001", **{"release_date": RELEASE.isoformat(), **overrides}))


def test_the_day_of_release_is_public_and_the_day_before_is_not():
    assert not is_released(RELEASE, RELEASE - dt.timedelta(days=1))
    assert is_released(RELEASE, RELEASE)
    assert is_released(RELEASE, RELEASE + dt.timedelta(days=400))
    assert not is_released(None, RELEASE)  # a record without a readable date is never released
    assert study_visibility(study(), RELEASE - dt.timedelta(days=1)) is Visibility.EMBARGOED
    assert study_visibility(study(), RELEASE) is Visibility.PUBLISHED


def test_embargoed_is_never_public_even_when_withdrawn():
    before = RELEASE - dt.timedelta(days=1)
    for s in (study(), study(**WITHDRAWN)):
        assert study_visibility(s, before) is Visibility.EMBARGOED
        assert not is_public(s, before)
        assert not data_is_public(s, before)


def test_withdrawn_shows_a_tombstone_without_data():
    s = study(**WITHDRAWN)
    assert study_visibility(s, RELEASE) is Visibility.TOMBSTONE
    assert is_public(s, RELEASE) and not data_is_public(s, RELEASE)


def test_the_catalog_follows_the_policy():
    settings = settings_for_tests()
    images = example_image_facts()
    embargoed = Study.model_validate(
        study_record("OIA-000002", release_date=(RELEASE + dt.timedelta(days=1)).isoformat())
    )
    withdrawn = Study.model_validate(study_record("OIA-000003", release_date=RELEASE.isoformat(), **WITHDRAWN))
    catalog = build_catalog([study(), embargoed, withdrawn], images, settings, RELEASE)
    entries = {e.accession: e for e in catalog.studies}
    assert set(entries) == {"OIA-000001", "OIA-000003"}
    assert entries["OIA-000001"].images and not entries["OIA-000001"].withdrawn
    tombstone = entries["OIA-000003"]
    assert tombstone.withdrawn and tombstone.images == [] and tombstone.card_thumbnail is None
    assert tombstone.withdrawal_reason == WITHDRAWN["withdrawal_reason"]
    assert [e.accession for e in catalog.listed_studies] == ["OIA-000001"]


def test_past_versions():
    current = study(version=3)
    released_v1 = study(version=1)
    never_released_v2 = study(version=2, release_date="2026-09-01")  # replaced while still under embargo
    today = RELEASE
    assert version_visibility(1, released_v1, current, today) is Visibility.PUBLISHED
    assert version_visibility(2, never_released_v2, current, today) is Visibility.EMBARGOED
    assert version_visibility(3, current, current, today) is None  # the current version is not a past one
    assert version_visibility(4, None, current, today) is None
    # An old record that no longer reads is still listed (without content).
    assert version_visibility(1, None, current, today) is Visibility.PUBLISHED
    # A withdrawal of the current version takes the data of every version down.
    assert version_visibility(1, released_v1, study(version=3, **WITHDRAWN), today) is Visibility.TOMBSTONE


def test_past_version_entries_and_their_version_list():
    settings = settings_for_tests()
    images = example_image_facts()
    history = [
        PastVersion(version=1, date=dt.date(2026, 1, 5), commit="a" * 40, study=study(version=1)),
        PastVersion(
            version=2, date=dt.date(2026, 4, 1), commit="b" * 40, study=study(version=2, release_date="2026-09-01")
        ),
    ]
    changelog = [{"version": 3, "date": "2026-05-01", "description": "Added a second dataset of nuclei."}]
    for current_study, tombstone in (
        (study(version=3, changelog=changelog), False),
        (study(version=3, changelog=changelog, **WITHDRAWN), True),
    ):
        catalog = build_catalog([current_study], images, settings, dt.date(2026, 6, 1), history={"OIA-000001": history})
        current = catalog.studies[0]
        # v2 was replaced under embargo: never published, so not listed.
        assert [v.version for v in current.versions] == [3, 1]
        # v1 was committed before its release date: it became public on the release date.
        assert current.versions[1].date == RELEASE
        v1 = past_version_entry(current, history[0], images, settings, dt.date(2026, 6, 1))
        assert v1 is not None and v1.versions == current.versions
        assert v1.withdrawn is tombstone and (v1.images == []) is tombstone
        assert past_version_entry(current, history[1], images, settings, dt.date(2026, 6, 1)) is None
        # Not earlier than the current version: no page of its own.
        same = PastVersion(version=3, date=dt.date(2026, 5, 1), commit="c" * 40, study=current_study)
        assert past_version_entry(current, same, images, settings, dt.date(2026, 6, 1)) is None


def test_published_on():
    assert published_on(dt.date(2026, 1, 5), RELEASE) == RELEASE
    assert published_on(dt.date(2026, 5, 1), RELEASE) == dt.date(2026, 5, 1)
