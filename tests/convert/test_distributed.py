"""bioarchive convert --scheduler: many files converted on a Dask distributed cluster, each in an isolated child."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import zarr
from click.testing import CliRunner

from builder.cli import main
from builder.convert.errors import ConversionError
from builder.convert.run import convert_files
from builder.core.settings import ArchiveSettings
from tests.support.stores import free_port


def _stacks(folder: Path, count: int) -> dict[str, np.ndarray]:
    import tifffile

    rng = np.random.default_rng(3)
    arrays = {}
    for i in range(count):
        array = rng.integers(0, 60000, size=(3, 200, 260), dtype=np.uint16)
        tifffile.imwrite(folder / f"stack{i}.ome.tif", array, ome=True, metadata={"axes": "ZYX"})
        arrays[f"stack{i}"] = array
    return arrays


def test_many_files_convert_on_a_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    arrays = _stacks(tmp_path, 3)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client, distributed.get_task_stream(client) as stream:
        result = CliRunner().invoke(
            main,
            ["convert", *(str(tmp_path / f"{n}.ome.tif") for n in arrays), "-o", str(tmp_path / "out"),
             "--scheduler", cluster.scheduler_address],
            catch_exceptions=False,
        )
    assert result.exit_code == 0, result.output
    assert [t for t in stream.data if "isolated_batch" in t["key"]]  # the files were converted as Dask tasks
    for name, array in arrays.items():
        group = zarr.open_group(str(tmp_path / "out" / f"{name}.ome.zarr"), mode="r")
        level0 = group.attrs.asdict()["ome"]["multiscales"][0]["datasets"][0]["path"]
        np.testing.assert_array_equal(np.asarray(group[level0][:]), array)


def test_a_bad_file_on_the_cluster_is_its_own_error_and_leaves_nothing(tmp_path):
    distributed = pytest.importorskip("distributed")
    _stacks(tmp_path, 1)
    (tmp_path / "cut.ome.tif").write_bytes((tmp_path / "stack0.ome.tif").read_bytes()[:3000])
    cluster_options = {"n_workers": 1, "threads_per_worker": 2, "processes": False, "dashboard_address": None}
    with distributed.LocalCluster(**cluster_options) as cluster:
        with pytest.raises(ConversionError) as info:
            convert_files(
                [tmp_path / "stack0.ome.tif", tmp_path / "cut.ome.tif"],
                tmp_path / "out",
                settings=ArchiveSettings(),
                root=tmp_path,
                scheduler=cluster.scheduler_address,
            )
    assert info.value.code in ("CNV002", "CNV008") and "cut.ome.tif" in info.value.file
    assert not list((tmp_path / "out").iterdir())  # neither file's image is left behind


def test_a_scheduler_that_does_not_answer_is_cnv012(tmp_path):
    _stacks(tmp_path, 1)
    address = f"tcp://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        main, ["convert", str(tmp_path / "stack0.ome.tif"), "-o", str(tmp_path / "o.ome.zarr"), "--scheduler", address]
    )
    assert result.exit_code == 1 and "CNV012" in result.output and address in result.output
    assert "Traceback" not in result.output and not (tmp_path / "o.ome.zarr").exists()
