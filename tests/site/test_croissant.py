"""Each study's Croissant description, validated by mlcroissant and loaded the way ML tools load it:
the records of its image list read from the served site (checksum checked by mlcroissant)."""

from __future__ import annotations

import json
import logging

import mlcroissant as mlc
import pytest

from builder.core.settings import load_settings
from builder.site.signposting import CROISSANT_FILE


def test_every_croissant_description_validates_and_its_images_load(built_site, site_url, tmp_path, caplog):
    settings = load_settings(built_site.root)
    public = settings.site_url.rstrip("/") + "/"
    catalog = json.loads((built_site.site / "catalog.json").read_text())
    listed = [s for s in catalog["studies"] if not s["withdrawn"]]
    assert listed
    for study in listed:
        document = json.loads((built_site.site / study["url_path"] / CROISSANT_FILE).read_text())
        # The published one validates as it is, with no warning (a non-standard context is one).
        with caplog.at_level(logging.WARNING):
            caplog.clear()
            dataset = mlc.Dataset(jsonld=str(built_site.site / study["url_path"] / CROISSANT_FILE))
            assert not [r for r in caplog.records if r.levelno >= logging.WARNING], study["accession"]
        assert dataset.metadata.name == document["name"] and dataset.metadata.url == study["url"]
        # Loading reads the study's record from the site: point it at the served copy.
        for file_object in document["distribution"]:
            assert file_object["contentUrl"].startswith(public)
            file_object["contentUrl"] = site_url.rstrip("/") + "/" + file_object["contentUrl"][len(public):]
        local = tmp_path / f"{study['accession']}.json"
        local.write_text(json.dumps(document))
        records = list(mlc.Dataset(jsonld=str(local)).records("images"))
        names = [r["images/name"].decode() if isinstance(r["images/name"], bytes) else r["images/name"]
                 for r in records]
        assert names == [i["name"] for i in study["images"]], study["accession"]


def test_a_changed_record_fails_the_checksum(built_site, site_url, tmp_path):
    """The description pins its record by SHA-256: a record that changed is refused, not read."""
    settings = load_settings(built_site.root)
    public = settings.site_url.rstrip("/") + "/"
    study = next(s for s in json.loads((built_site.site / "catalog.json").read_text())["studies"]
                 if not s["withdrawn"])
    document = json.loads((built_site.site / study["url_path"] / CROISSANT_FILE).read_text())
    document["distribution"][0]["sha256"] = "0" * 64
    document["distribution"][0]["contentUrl"] = (site_url.rstrip("/") + "/"
                                                 + document["distribution"][0]["contentUrl"][len(public):])
    local = tmp_path / "changed.json"
    local.write_text(json.dumps(document))
    with pytest.raises(Exception) as caught:  # mlcroissant wraps the cause in its own GenerationError
        list(mlc.Dataset(jsonld=str(local)).records("images"))
    causes, exc = [], caught.value
    while exc is not None:
        causes.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    assert any("Hash of downloaded file" in text and "0" * 64 in text for text in causes), causes
