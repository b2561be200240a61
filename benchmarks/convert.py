"""Conversion figures for benchmarks/README.md.

    python benchmarks/convert.py codecs            # lossless ratio and speed of each codec on each example modality
    python benchmarks/convert.py stack --gb 2      # a TIFF stack: our convert vs ngff-zarr's CLI vs ome-zarr-py

`stack` writes an uncompressed uint16 TIFF of 2048 x 2048 planes (smooth
structure plus Poisson-like noise, as a fluorescence stack), then runs each
converter in its own process and samples the resident memory of that process
tree every 0.1 s. Bytes and objects are counted in the output folders.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def _examples() -> dict[str, np.ndarray]:
    """Up to 64 MB of level 0 of each example image: the modalities the example studies stand for."""
    import zarr

    found = {
        "HCS widefield (plate field, OIA-000001)": None,
        "light-sheet, cleared brain (OIA-000002)": ROOT / "example-data/OIA-000002/brain.ome.zarr",
        "cryo-ET tomogram (OIA-000003)": ROOT / "example-data/OIA-000003/tomogram.ome.zarr",
        "3D time-lapse, embryo (OIA-000004)": ROOT / "example-data/OIA-000004/embryo.ome.zarr",
    }
    plates = sorted((ROOT / "example-data/OIA-000001").glob("*.zarr"))
    out = {}
    for name, path in found.items():
        if path is None:
            if not plates:
                continue
            group = zarr.open_group(str(plates[0]), mode="r")
            well = group.attrs.asdict().get("ome", group.attrs.asdict())["plate"]["wells"][0]["path"]
            path = plates[0] / well / "0"
        group = zarr.open_group(str(path), mode="r")
        attrs = group.attrs.asdict()
        level = attrs.get("ome", attrs)["multiscales"][0]["datasets"][0]["path"]
        array = group[level]
        budget = 64 * 2**20 // array.dtype.itemsize
        index = []
        remaining = int(np.prod(array.shape))
        for n in array.shape:  # take leading planes until the budget is met
            remaining //= n
            index.append(slice(0, max(1, min(n, budget // max(1, remaining)))))
        out[name] = np.asarray(array[tuple(index)])
    return out


def _codecs():
    import numcodecs

    return {
        "blosc-zstd (shuffle, 5)": numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
        "blosc-zstd (bitshuffle, 5)": numcodecs.Blosc(cname="zstd", clevel=5, shuffle=numcodecs.Blosc.BITSHUFFLE),
        "blosc-lz4 (shuffle, 5)": numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
        "blosc-lz4hc (shuffle, 5)": numcodecs.Blosc(cname="lz4hc", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
        "zstd (3)": numcodecs.Zstd(level=3),
        "zstd (9)": numcodecs.Zstd(level=9),
        "gzip (6)": numcodecs.GZip(level=6),
    }


def run_codecs() -> None:
    from builder.convert.writer import PLANE_CHUNK

    examples = _examples()
    print("| modality | dtype | MB | codec | ratio | encode MB/s | decode MB/s |")
    print("|---|---|---|---|---|---|---|")
    for name, data in examples.items():
        flat = data.reshape(-1, *data.shape[-2:])
        chunks = [
            np.ascontiguousarray(flat[i, y : y + PLANE_CHUNK, x : x + PLANE_CHUNK])
            for i in range(flat.shape[0])
            for y in range(0, flat.shape[1], PLANE_CHUNK)
            for x in range(0, flat.shape[2], PLANE_CHUNK)
        ]
        raw = sum(c.nbytes for c in chunks)
        for codec_name, codec in _codecs().items():
            start = time.perf_counter()
            encoded = [codec.encode(c) for c in chunks]
            encode_s = time.perf_counter() - start
            start = time.perf_counter()
            for e, c in zip(encoded, chunks, strict=False):
                decoded = np.frombuffer(codec.decode(e), dtype=c.dtype)
                assert np.array_equal(decoded, c.ravel())  # lossless, checked
            decode_s = time.perf_counter() - start
            size = sum(len(e) for e in encoded)
            print(
                f"| {name} | {data.dtype} | {raw / 2**20:.0f} | {codec_name} | {raw / size:.2f} | "
                f"{raw / 2**20 / encode_s:.0f} | {raw / 2**20 / decode_s:.0f} |",
                flush=True,
            )


def write_stack(path: Path, gb: float) -> tuple[int, ...]:
    import tifffile

    planes = max(1, int(gb * 2**30 // (2048 * 2048 * 2)))
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:2048, 0:2048]
    noise = [rng.poisson(800, size=(2048, 2048)).astype(np.int32) - 800 for _ in range(4)]  # reused: cheap to write
    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        for z in range(planes):
            base = 800 + 600 * np.sin((xx + 7 * z) / 90.0) * np.cos((yy - 5 * z) / 70.0)
            plane = np.clip(base.astype(np.int32) + np.roll(noise[z % 4], z, axis=1), 0, 65535).astype(np.uint16)
            tw.write(plane, contiguous=True, metadata={"axes": "ZYX"} if z == 0 else None)
    return (planes, 2048, 2048)


def measure(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    parent = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()[-2000:] if proc.stderr else ""
    if proc.returncode:
        raise SystemExit(f"{cmd[:3]} failed ({proc.returncode}):\n{err}")
    return {"wall_s": wall, "peak_rss_mb": peak / 2**20}


def tree_size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


OME_ZARR_PY = """
import sys, dask.array as da, tifffile, zarr
from ome_zarr.format import FormatV05
from ome_zarr.scale import Scaler
from ome_zarr.writer import write_image
src, out = sys.argv[1], sys.argv[2]
with tifffile.TiffFile(src) as tf:
    data = da.from_zarr(tf.series[0].aszarr()).rechunk((8, 2048, 2048))
    group = zarr.open_group(out, mode="w", zarr_format=3)
    write_image(data, group, axes="zyx", fmt=FormatV05(), scaler=Scaler(max_layer=3, method="nearest"),
                storage_options={"chunks": (1, 512, 512), "shards": (8, 2048, 2048)})
"""


def run_stack(gb: float, memory_mb: int, keep: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="convert-bench-", dir=os.environ.get("BENCH_DIR")))
    source = work / "stack.tif"
    t = time.perf_counter()
    shape = write_stack(source, gb)
    print(
        f"input: {source.stat().st_size / 2**30:.2f} GiB uint16 TIFF, shape {shape}, "
        f"written in {time.perf_counter() - t:.0f} s;"
        f" load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
        flush=True,
    )
    runs = {
        "bioarchive convert (0.5, sharded, blosc-zstd)": (
            [
                str(Path(PYTHON).parent / "bioarchive"),
                "convert",
                str(source),
                "-o",
                str(work / "ours.ome.zarr"),
                "--memory",
                str(memory_mb),
            ],
            work / "ours.ome.zarr",
        ),
        "ngff-zarr CLI (0.5, sharded, dask_bin_shrink)": (
            [
                str(Path(PYTHON).parent / "ngff-zarr"),
                "-i",
                str(source),
                "-o",
                str(work / "ngff.ome.zarr"),
                "--ome-zarr-version",
                "0.5",
                "-c",
                "512",
                "--chunks-per-shard",
                "4",
                "-m",
                "dask_bin_shrink",
                "--memory-target",
                str(memory_mb * 2**20 // 4),
                # no --cache-dir: ngff-zarr 0.50's CLI crashes on it (Path.makedirs)
                "-q",
            ],
            work / "ngff.ome.zarr",
        ),
        "ome-zarr-py write_image (0.5, sharded, default codec)": (
            [PYTHON, "-c", OME_ZARR_PY, str(source), str(work / "omezarr.ome.zarr")],
            work / "omezarr.ome.zarr",
        ),
    }
    print("| converter | wall s | peak RSS MB | bytes written (MB) | objects |")
    print("|---|---|---|---|---|")
    results = {}
    for name, (cmd, out) in runs.items():
        subprocess.run(["sync"], check=False)
        figures = measure(cmd)
        size, objects = tree_size(out)
        results[name] = {**figures, "bytes": size, "objects": objects}
        print(
            f"| {name} | {figures['wall_s']:.0f} | {figures['peak_rss_mb']:.0f} | {size / 2**20:.0f} | {objects} |",
            flush=True,
        )
    print(json.dumps({"load_average_end": os.getloadavg()[0], "results": results}))
    if not keep:
        import shutil

        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    sub.add_parser("codecs")
    stack = sub.add_parser("stack")
    stack.add_argument("--gb", type=float, default=2.0)
    stack.add_argument("--memory-mb", type=int, default=1536, help="bioarchive convert --memory (worker RLIMIT_AS)")
    stack.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if args.what == "codecs":
        run_codecs()
    else:
        run_stack(args.gb, args.memory_mb, args.keep)


if __name__ == "__main__":
    main()
