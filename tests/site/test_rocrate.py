"""The RO-Crate of each study version, loaded back with the rocrate library; sizes and checksums from custody's
manifests when the study is ingested (moto's S3 on 127.0.0.1 as the archive store)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from rocrate.rocrate import ROCrate

from builder.core import layout
from builder.core.settings import load_settings
from builder.site.signposting import ROCRATE_FILE, ROCRATE_PROFILE
from tests.support.custody import ingested_s3_archive

for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.setdefault(_name, "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

REPO = Path(__file__).resolve().parents[2]
ACCESSION = "OIA-000002"


def _entities(folder: Path) -> dict[str, object]:
    crate = ROCrate(str(folder))
    return {entity.id: entity for entity in crate.get_entities()}


def test_every_study_of_the_example_site_has_a_crate_with_record_images_authors_licence_publications(built_site):
    catalog = json.loads((built_site.site / "catalog.json").read_text())
    listed = [s for s in catalog["studies"] if not s["withdrawn"]]
    assert listed
    for study in listed:
        folder = built_site.site / study["url_path"]
        document = json.loads((folder / ROCRATE_FILE).read_text())
        descriptor = next(e for e in document["@graph"] if e["@id"] == ROCRATE_FILE)
        assert descriptor["conformsTo"]["@id"] == ROCRATE_PROFILE
        crate = ROCrate(str(folder))
        root = crate.root_dataset
        assert root["name"] == " ".join(study["study"]["title"].split())
        assert root["version"] == str(study["version"]) and root["datePublished"] == study["release_date"]
        assert root["license"].id == study["licence"]["url"]
        assert [a.type for a in root["author"]] == ["Person"] * len(study["study"]["authors"])
        orcids = {f"https://orcid.org/{a['orcid']}" for a in study["study"]["authors"] if a.get("orcid")}
        assert orcids <= {a.id for a in root["author"]}
        dois = {f"https://doi.org/{p['doi']}" for p in study["study"]["publications"] if p.get("doi")}
        assert dois <= {p.id for p in (root.get("citation") or [])}
        parts = {e.id: e for e in root["hasPart"]}
        assert any(i.endswith(f"api/studies/{study['accession']}.json") for i in parts), "the record"
        images = {(i["access"]["https"].rstrip("/") + "/") for i in study["images"] if i["access"]["https"]}
        assert images <= set(parts)
        for url in images:
            assert parts[url].type == "Dataset" and parts[url]["encodingFormat"] == "OME-Zarr"


def test_an_ingested_study_crate_carries_custodys_sizes_and_checksums(tmp_path, s3_server):
    root = tmp_path / "repo"
    bucket = ingested_s3_archive(root, s3_server, ACCESSION, "crate")
    from builder.site.build import build

    site = root / "site"
    build(root, site_dir=site, console=None, history=False, allow_invalid=True)
    manifest = json.loads(s3_server.client().get_object(
        Bucket=bucket, Key=f"store/{layout.manifest_key(ACCESSION, 1)}")["Body"].read())
    entities = _entities(site / "studies" / ACCESSION)
    archived = {(e["contentSize"], e["identifier"]["value"], e["numberOfItems"])
                for e in entities.values() if e.type == "Dataset" and e.get("identifier") is not None
                and e.id != "./"}
    public = load_settings(root).store.public_url
    assert all(e.id.startswith(public) for e in entities.values()
               if e.type == "Dataset" and e.get("numberOfItems")), "the archive's copies"
    linkset = json.loads((site / "studies" / ACCESSION / "linkset.json").read_text())["linkset"][0]
    assert {"type": "application/json", "href": f"{load_settings(root).site_url.rstrip('/')}/studies/{ACCESSION}/"
            "download.json"} in linkset["item"]
    expected = {(str(m["total_bytes"]), m["tree_checksum"], len(m["objects"])) for m in manifest["images"].values()}
    assert archived == expected and expected


@pytest.mark.parametrize("withdrawn", [True])
def test_a_tombstone_has_no_crate(sample_catalog, catalog_settings, withdrawn):
    from builder.site.signposting import study_metadata_documents

    study = sample_catalog.studies[0].model_copy(update={"withdrawn": withdrawn})
    paths = [p for p, _ in study_metadata_documents(study, catalog_settings, api_json="{}")]
    assert paths == [study.url_path + "linkset.json"]
