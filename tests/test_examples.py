"""The example studies and their data: what a newcomer sees first must be right.

Covers studies/OIA-*/study.yaml (validated by the records stage and the model),
example-data/ (each image validates as OME-Zarr and matches its record) and
scripts/make_example_data.py (it regenerates the committed bytes).
"""

from __future__ import annotations

import datetime as dt
import filecmp
import importlib.util
import json
import warnings
from pathlib import Path

import ome_zarr_models
import pytest
import yaml
import zarr

from builder.core.settings import load_settings, storage_root_path
from builder.model.publication import is_public
from builder.model.study import BiologicalScale, DataType, ImageKind, Study
from builder.records.load import load_record, validation_context

REPO = Path(__file__).resolve().parent.parent
SETTINGS = load_settings(REPO)
STORAGE = storage_root_path(SETTINGS, REPO)
RECORDS = sorted((REPO / "studies").glob("OIA-*/study.yaml"))
SIZE_BUDGET_BYTES = 15 * 1000 * 1000
SCHEMA_LINE = "# yaml-language-server: $schema=../../schema/study.schema.json"


def load_study(path: Path) -> Study:
    return Study.model_validate(yaml.safe_load(path.read_text()), context=validation_context(SETTINGS))


STUDIES = {path.parent.name: load_study(path) for path in RECORDS}
IMAGES = [(accession, image) for accession, study in STUDIES.items() for _, image in study.images()]


def ngff_version(path: Path) -> str:
    """The NGFF version of a group, from the image group up (labels may lack multiscales)."""
    if (path / "zarr.json").is_file():
        return json.loads((path / "zarr.json").read_text())["attributes"]["ome"]["version"]
    return "0.4"


def ome(path: Path) -> dict:
    if (path / "zarr.json").is_file():
        return json.loads((path / "zarr.json").read_text())["attributes"]["ome"]
    return json.loads((path / ".zattrs").read_text())


def first_image_group(path: Path, kind: ImageKind) -> Path:
    """The group whose omero block describes the channels: the image, or a plate's first field."""
    if kind is ImageKind.PLATE:
        return path / ome(path)["plate"]["wells"][0]["path"] / "0"
    return path


def test_there_are_at_least_five_examples():
    assert len(STUDIES) >= 5


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.parent.name)
def test_record_passes_the_records_stage_without_findings(path):
    result = load_record(path, SETTINGS, root=REPO)
    assert result.ok, [str(d) for d in result.diagnostics]
    # Only the embargoed study may lack a publication (its article is not out yet).
    leftovers = [d for d in result.diagnostics if not (d.check == "CMP004" and path.parent.name == "OIA-000006")]
    assert leftovers == []
    assert result.study == STUDIES[path.parent.name]


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.parent.name)
def test_record_is_well_formed(path):
    study = STUDIES[path.parent.name]
    assert path.read_text().splitlines()[0] == SCHEMA_LINE
    assert study.accession == path.parent.name
    assert SETTINGS.accession_pattern.fullmatch(study.accession)
    assert len(study.description) > 400, "examples carry a description of a few paragraphs"
    assert "synthetic" in study.description, "examples say that their images are synthetic"
    contacts = [a for a in study.authors if a.contact]
    assert len(contacts) == 1 and contacts[0].email.endswith("@example.org")
    for dataset in study.datasets:
        assert dataset.specimen.signal_contrast, "every dataset names its channels' contrast"
        assert dataset.acquisition.parameters


@pytest.mark.parametrize(("accession", "image"), IMAGES, ids=lambda v: getattr(v, "name", v))
def test_image_exists_and_validates_as_ome_zarr(accession, image):
    path = STORAGE / image.url
    assert path.is_dir(), f"{image.url} is missing under {STORAGE}"
    assert image.url.startswith(f"{accession}/"), "example data lives under the study's accession"
    version = ngff_version(path)
    group = zarr.open_group(path, mode="r", zarr_format=2 if version == "0.4" else 3)
    with warnings.catch_warnings():
        # ome-zarr-models warns that a 0.5 plate has no plate.version; 0.5 keeps it in ome.version.
        warnings.filterwarnings("ignore", message="'version' field not specified in plate metadata")
        model = ome_zarr_models.open_ome_zarr(group, version=version)
    expected = {ImageKind.IMAGE: "Image", ImageKind.PLATE: "HCS", ImageKind.LABELS: "ImageLabel"}[image.kind]
    assert type(model).__name__ == expected


@pytest.mark.parametrize(
    ("accession", "image"),
    [(a, i) for a, i in IMAGES if i.kind is not ImageKind.LABELS],  # label images have no channels
    ids=lambda v: getattr(v, "name", v),
)
def test_record_channels_match_the_image(accession, image):
    study = STUDIES[accession]
    dataset = next(d for d in study.datasets if image in d.images)
    omero = ome(first_image_group(STORAGE / image.url, image.kind))["omero"]
    labels = [c["label"] for c in omero["channels"]]
    assert labels == [s.channel for s in dataset.specimen.signal_contrast]


def test_examples_cover_scales_types_and_versions():
    scales = {s for study in STUDIES.values() for s in study.biological_scale}
    types = {study.data_type for study in STUDIES.values()}
    versions = {ngff_version(STORAGE / image.url) for _, image in IMAGES}
    kinds = {image.kind for _, image in IMAGES}
    assert len(scales) >= 4, scales
    assert len(types - {DataType.OTHER}) >= 4, types
    assert versions == {"0.4", "0.5"}
    assert kinds == {ImageKind.IMAGE, ImageKind.PLATE, ImageKind.LABELS}
    assert BiologicalScale.ORGANISM in scales and BiologicalScale.CELL in scales


def test_one_example_is_embargoed_and_the_rest_released():
    today = dt.date.today()
    embargoed = [a for a, s in STUDIES.items() if not is_public(s, today)]
    assert embargoed == ["OIA-000006"]
    assert STUDIES["OIA-000006"].release_date.year == 2027


def test_human_cell_line_study_has_human_data_statements():
    study = STUDIES["OIA-000001"]
    assert any(t.id == "NCBITaxon:9606" for t in study.organisms)
    assert study.human_data is not None and study.human_data.deidentified


def test_every_example_image_folder_is_used_by_a_record():
    used = {image.url.split("/")[1] for _, image in IMAGES}
    on_disk = {p.name for p in STORAGE.glob("OIA-*/*.ome.zarr")}
    assert on_disk == used


def test_example_data_stays_within_the_size_budget():
    total = sum(p.stat().st_size for p in STORAGE.rglob("*") if p.is_file())
    assert total < SIZE_BUDGET_BYTES, f"example-data holds {total / 1e6:.1f} MB"


def load_generator():
    spec = importlib.util.spec_from_file_location("make_example_data", REPO / "scripts" / "make_example_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("accession", ["OIA-000003", "OIA-000006"])
def test_generator_reproduces_the_committed_bytes(tmp_path, accession):
    generator = load_generator()
    generator.GENERATORS[accession](tmp_path)
    comparison = filecmp.dircmp(tmp_path / accession, STORAGE / accession)
    pending = [comparison]
    while pending:
        current = pending.pop()
        assert not current.left_only and not current.right_only, (current.left, current.left_only, current.right_only)
        _, mismatch, errors = filecmp.cmpfiles(current.left, current.right, current.common_files, shallow=False)
        assert not mismatch and not errors, (current.left, mismatch, errors)
        pending.extend(current.subdirs.values())


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.parent.name)
def test_images_lock_pins_the_committed_data(path):
    """Each example commits images.lock, as depositors do; regenerate it after changing the data."""
    from builder.curation.lock import contents_of, image_contents, image_targets, lock_from_outcomes, read_lock
    from builder.data.inspection import inspect_image

    study = STUDIES[path.parent.name]
    pinned = read_lock(REPO, study.accession)
    assert pinned is not None, f"run: bioarchive lock studies/{study.accession}"
    outcomes = {t.key: inspect_image(t, SETTINGS, REPO) for t in image_targets(study)}
    manifests, unread = image_contents(study, SETTINGS, REPO)
    live, problems = lock_from_outcomes(study, outcomes, contents_of(manifests))
    assert problems == [] and unread == []
    assert live == pinned, f"the data changed: run bioarchive lock studies/{study.accession}"
