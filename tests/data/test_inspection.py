"""builder.data.inspection: every kind and NGFF version, read from a local folder, HTTP and S3, in workers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from builder.core.settings import ArchiveSettings, Limits
from builder.data.inspection import ImageOutcome, ImageTarget, inspect_image, inspect_images
from builder.testing.ngff_writer import write_image

KINDS = {"image2d": "image", "image3d": "image", "image4d": "image", "image5d": "image", "plate": "plate"}
SHAPES = {"image2d": [96, 128], "image3d": [5, 64, 80], "image4d": [2, 3, 96, 128], "image5d": [2, 2, 3, 64, 64]}


def targets_for(base_url: str, samples: dict[str, Path]) -> list[ImageTarget]:
    out = []
    for name, path in samples.items():
        kind = KINDS[name.split("-")[0]]
        out.append(ImageTarget(f"OIA-000001/{name}/img", f"{base_url}/{path.name}", kind, untrusted=False))
        if name.startswith("image4d"):
            out.append(ImageTarget(f"OIA-000001/{name}/cells", f"{base_url}/{path.name}/labels/cells", "labels",
                                   untrusted=False))
    return out


@pytest.fixture(scope="module")
def s3_samples(s3_server, ngff_samples) -> str:
    for path in ngff_samples.values():
        s3_server.upload(path, f"samples/{path.name}")
    return f"s3://{s3_server.bucket}/samples"


@pytest.fixture(scope="module")
def outcomes(http_server, ngff_samples, s3_server, s3_samples, tmp_path_factory):
    """One inspection (with thumbnails) of every sample from each store."""
    settings = ArchiveSettings(storage_root=str(http_server.root / "samples"),
                               s3_endpoint_url=s3_server.endpoint_url)
    root = http_server.root
    results = {}
    for store, base in (("local", str(http_server.root / "samples")), ("http", f"{http_server.url}/samples"),
                        ("s3", s3_samples)):
        cache = tmp_path_factory.mktemp(f"cache-{store}")
        targets = targets_for(base, ngff_samples)
        results[store] = (inspect_images(targets, settings, root, thumbnails=True, cache_dir=cache), cache, targets)
    return settings, results


@pytest.mark.parametrize("store", ["local", "http", "s3"])
def test_every_kind_and_version_from_every_store(outcomes, store):
    settings, results = outcomes
    by_key, cache, targets = results[store]
    assert set(by_key) == {t.key for t in targets}
    for key, outcome in by_key.items():
        assert isinstance(outcome, ImageOutcome)
        assert [d for d in outcome.diagnostics if d.severity.value == "error"] == [], (key, outcome.diagnostics)
        facts = outcome.facts
        name, version = key.split("/")[1].rsplit("-", 1)
        assert facts.ngff_version == version
        assert set(facts.thumbnails) >= {"card", "preview"}
        for size_name, file_name in facts.thumbnails.items():
            with Image.open(cache / file_name) as im:
                size = settings.thumbnail_sizes.get(size_name, settings.thumbnail_sizes["card"])
                assert im.size == (size, size) and im.format == "WEBP"
        assert facts.thumbnail_alt and facts.fingerprint.startswith("sha256:")
        if key.endswith("/cells"):
            assert facts.kind == "labels" and facts.shape == [3, 96, 128] and facts.dtype == "uint8"
            assert "Label image" in facts.thumbnail_alt
        elif name == "plate":
            assert facts.kind == "plate" and facts.plate.wells == 3 and facts.plate.rows == 2
            assert facts.plate.columns == 2 and facts.plate.fields_per_well == 1
            assert facts.shape == [2, 64, 64] and "plate" in facts.thumbnail_alt
        else:
            assert facts.kind == "image" and facts.shape == SHAPES[name] and facts.dtype == "uint16"
            assert len(facts.levels) == 3 and facts.levels[0].path == "0"
            assert [a.name for a in facts.axes] == list({"image2d": "yx", "image3d": "zyx", "image4d": "czyx",
                                                          "image5d": "tczyx"}[name])
        if name == "image4d" and not key.endswith("/cells"):
            assert facts.labels == ["cells"] and "labels" in facts.thumbnails
            assert [c.label for c in facts.channels] == ["Channel 0", "Channel 1"] or len(facts.channels) == 2


def test_same_data_same_fingerprint_and_thumbnails_everywhere(outcomes):
    _, results = outcomes
    local, http, s3 = (results[s][0] for s in ("local", "http", "s3"))
    for key in local:
        assert local[key].facts.fingerprint == http[key].facts.fingerprint == s3[key].facts.fingerprint
    lc, hc = results["local"][1], results["http"][1]
    key = "OIA-000001/image4d-0.5/img"
    assert (lc / local[key].facts.thumbnails["card"]).read_bytes() == \
        (hc / http[key].facts.thumbnails["card"]).read_bytes()


def test_sizes_are_learned_where_listing_is_cheap(outcomes):
    _, results = outcomes
    key = "OIA-000001/image3d-0.4/img"
    assert results["local"][0][key].facts.size_bytes > 0
    assert results["s3"][0][key].facts.size_bytes == results["local"][0][key].facts.size_bytes
    assert results["http"][0][key].facts.size_bytes is None


def test_http_requests_are_minimal(http, ngff_samples, tmp_path):
    settings = ArchiveSettings(storage_root=str(http.root))
    url = http.url_for(ngff_samples["image3d-0.5"])
    outcome = inspect_image(ImageTarget("k", url, "image", untrusted=False), settings, http.root,
                            thumbnails=True, cache_dir=tmp_path)
    paths = [r.path.split("image3d-0.5.zarr/")[1] for r in http.log]
    # group, three levels, one labels probe (HTTP cannot list), then chunks of one plane of one level
    assert paths[:5] == ["zarr.json", "0/zarr.json", "1/zarr.json", "2/zarr.json", "labels/zarr.json"]
    assert http.not_found == 1
    chunks = paths[5:]
    assert chunks and all(c.startswith("0/c/2/") for c in chunks)  # level 0 (64x80 < 256), middle z = 2
    assert len(chunks) == 2 * 3  # 64x80 in 32x32 chunks
    assert outcome.requests == len(http.log)
    # 0.4: the one extra 404 for zarr.json
    http.reset()
    inspect_image(ImageTarget("k", http.url_for(ngff_samples["image3d-0.4"]), "image", untrusted=False), settings,
                  http.root)
    assert [r.path.rsplit("/", 1)[1] for r in http.log if r.status == 404] == ["zarr.json", ".zattrs"]


def test_unchanged_images_cost_only_metadata(http, tmp_path):
    data = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    path = write_image(http.root / "cached.zarr", data, axes="yx", version="0.5", levels=2, chunks=(32, 32))
    settings = ArchiveSettings(storage_root=str(http.root))
    target = ImageTarget("k", http.url_for(path), "image", untrusted=False)
    first = inspect_images([target], settings, http.root, thumbnails=True, cache_dir=tmp_path)["k"]
    assert not first.cached and any("/c/" in r.path for r in http.log)
    http.reset()
    again = inspect_images([target], settings, http.root, thumbnails=True, cache_dir=tmp_path)["k"]
    assert again.cached and again.facts == first.facts
    assert not any("/c/" in r.path for r in http.log)  # no chunk fetched
    assert again.requests == 4  # zarr.json, two levels, labels probe
    # a changed image (new metadata) is always read again
    write_image(path, data[:, :48], axes="yx", version="0.5", levels=2, chunks=(32, 32))
    http.reset()
    changed = inspect_images([target], settings, http.root, thumbnails=True, cache_dir=tmp_path)["k"]
    assert not changed.cached and changed.facts.shape == [64, 48]
    assert changed.facts.thumbnails["card"] != first.facts.thumbnails["card"]


def test_chunk_only_changes_are_seen_where_the_store_lists(tmp_path):
    data = np.zeros((64, 64), dtype=np.uint16)
    root = tmp_path / "storage"
    fixed = [{"label": "a", "window": (0, 1000)}]  # a fixed window keeps the metadata identical
    path = write_image(root / "img.zarr", data, axes="yx", version="0.4", levels=1, chunks=(32, 32), channels=fixed)
    settings = ArchiveSettings(storage_root=str(root))
    target = ImageTarget("k", "img.zarr", "image")
    first = inspect_image(target, settings, tmp_path, thumbnails=True, cache_dir=tmp_path / "cache")
    write_image(path, data + 500, axes="yx", version="0.4", levels=1, chunks=(32, 32), channels=fixed)
    second = inspect_image(target, settings, tmp_path, thumbnails=True, cache_dir=tmp_path / "cache")
    assert first.facts.fingerprint == second.facts.fingerprint  # same metadata ...
    assert not second.cached  # ... but the listing shows new chunks


def test_missing_cors_is_a_warning(http, ngff_samples, tmp_path):
    http.cors = False
    outcome = inspect_images([ImageTarget("k", http.url_for(ngff_samples["image2d-0.5"]), "image", untrusted=False)],
                             ArchiveSettings(storage_root=str(http.root)), http.root)["k"]
    assert outcome.facts is not None
    [d] = outcome.diagnostics
    assert d.check == "NET006" and d.severity.value == "warning" and "vizarr" in d.message


def test_kind_mismatch(ngff_samples, http_server):
    settings = ArchiveSettings(storage_root=str(http_server.root / "samples"))
    outcome = inspect_image(ImageTarget("k", "plate-0.5.zarr", "image"), settings, http_server.root)
    assert [d.check for d in outcome.diagnostics] == ["IMG010"]
    assert "says kind 'image' but the data is a plate" in outcome.diagnostics[0].message
    assert outcome.facts.kind == "plate"


def test_plate_montage_stops_at_the_request_budget(ngff_samples, http_server, tmp_path):
    settings = ArchiveSettings(storage_root=str(http_server.root / "samples"),
                               limits=Limits(max_image_requests=20))
    outcome = inspect_image(ImageTarget("k", "plate-0.4.zarr", "plate"), settings, http_server.root,
                            thumbnails=True, cache_dir=tmp_path)
    assert [d.check for d in outcome.diagnostics] == ["IMG014"]
    assert "montage shows" in outcome.diagnostics[0].message and outcome.diagnostics[0].severity.value == "info"
    assert set(outcome.facts.thumbnails) == {"card", "preview"}


def test_dask_scheduler_runs_the_same_work(ngff_samples, http_server, tmp_path):
    distributed = pytest.importorskip("distributed")
    settings = ArchiveSettings(storage_root=str(http_server.root / "samples"))
    targets = [ImageTarget("a", "image2d-0.4.zarr", "image"), ImageTarget("b", "plate-0.5.zarr", "plate")]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        out = inspect_images(targets, settings, http_server.root, thumbnails=True, cache_dir=tmp_path,
                             scheduler=cluster.scheduler_address)
    assert out["a"].facts.shape == [96, 128] and out["b"].facts.kind == "plate"
    assert all((tmp_path / f).is_file() for o in out.values() for f in o.facts.thumbnails.values())


def test_thumbnails_are_deterministic(ngff_samples, http_server, tmp_path):
    settings = ArchiveSettings(storage_root=str(http_server.root / "samples"), thumbnail_format="png")
    target = ImageTarget("k", "image5d-0.4.zarr", "image")
    a = inspect_image(target, settings, http_server.root, thumbnails=True, cache_dir=tmp_path / "a")
    b = inspect_image(target, settings, http_server.root, thumbnails=True, cache_dir=tmp_path / "b")
    assert a.facts.thumbnails == b.facts.thumbnails and a.facts.thumbnails["card"].endswith(".png")
    assert (tmp_path / "a" / a.facts.thumbnails["card"]).read_bytes() == \
        (tmp_path / "b" / b.facts.thumbnails["card"]).read_bytes()


def test_missing_well_is_reported_and_the_rest_is_shown(tmp_path):
    from builder.testing.ngff_writer import write_plate

    field = np.ones((1, 32, 32), dtype=np.uint8)
    root = tmp_path / "storage"
    path = write_plate(root / "p.zarr", {("A", "1"): [field], ("A", "2"): [field], ("B", "1"): [field]},
                       version="0.5", axes="cyx", levels=1, chunks=(1, 32, 32))
    import shutil

    shutil.rmtree(path / "B" / "1")
    settings = ArchiveSettings(storage_root=str(root))
    outcome = inspect_image(ImageTarget("k", "p.zarr", "plate"), settings, tmp_path, thumbnails=True,
                            cache_dir=tmp_path / "c")
    [d] = outcome.diagnostics
    assert d.check == "IMG012" and "well 'B/1'" in d.message and d.extra["document"] == "B/1/zarr.json"
    assert outcome.facts.plate.wells == 3 and "card" in outcome.facts.thumbnails


def test_listed_labels_that_are_missing_are_a_warning(tmp_path):
    root = tmp_path / "storage"
    data = np.zeros((32, 32), dtype=np.uint8)
    path = write_image(root / "img.zarr", data, axes="yx", version="0.4", levels=1)
    (path / "labels").mkdir()
    (path / "labels" / ".zattrs").write_text('{"labels": ["nuclei"]}')
    outcome = inspect_image(ImageTarget("k", "img.zarr"), ArchiveSettings(storage_root=str(root)), tmp_path)
    [d] = outcome.diagnostics
    assert d.check == "IMG015" and d.severity.value == "warning" and "'nuclei'" in d.message
    assert outcome.facts.labels == ["nuclei"]


@pytest.mark.filterwarnings("ignore:Consolidated metadata is currently not part")
def test_consolidated_v3_metadata_needs_one_metadata_request(http, tmp_path):
    import zarr

    data = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    path = write_image(http.root / "consolidated.zarr", data, axes="yx", version="0.5", levels=2, chunks=(32, 32))
    zarr.consolidate_metadata(str(path))
    settings = ArchiveSettings(storage_root=str(http.root))
    outcome = inspect_image(ImageTarget("k", http.url_for(path), "image", untrusted=False), settings, http.root,
                            thumbnails=True, cache_dir=tmp_path)
    assert outcome.diagnostics == [] and outcome.facts.levels[1].shape == [32, 32]
    metadata = [r.path for r in http.log if r.path.endswith("zarr.json")]
    assert metadata == ["consolidated.zarr/zarr.json"] and http.not_found == 0  # no labels probe either
    assert all("/c/" in r.path for r in http.log[1:])


def test_progress_lines_name_each_image(ngff_samples, http_server, capsys):
    settings = ArchiveSettings(storage_root=str(http_server.root / "samples"))
    targets = [ImageTarget("OIA-000001/a/one", "image2d-0.5.zarr"), ImageTarget("OIA-000001/a/two", "nothing.zarr")]
    inspect_images(targets, settings, http_server.root, progress=True)
    lines = sorted(capsys.readouterr().err.splitlines())
    assert lines == ["[1/2] OIA-000001/a/one: ok", "[2/2] OIA-000001/a/two: errors"] or \
        lines == ["[1/2] OIA-000001/a/two: errors", "[2/2] OIA-000001/a/one: ok"]
