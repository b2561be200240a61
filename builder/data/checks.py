"""Checks of image data: NGFF metadata (IMG), reachability (NET), safety refusals (SAF).

Every diagnostic of the data stage names the URL, the Zarr path and the offending
key in its message, so a depositor can find the problem without the builder.
"""

from __future__ import annotations

from builder.core.checks import Severity, register

_A = "image"

# -- NGFF metadata and structure ------------------------------------------------
IMG001 = register(
    "IMG001", Severity.ERROR, "No OME-NGFF metadata at this location",
    "Point the record at the OME-Zarr group that holds `multiscales` (an image), `plate` (an HCS plate) "
    "or `image-label` (a label image); for NGFF 0.5 it lives under `attributes.ome` in zarr.json, "
    "for 0.4 at the top of .zattrs.", area=_A)
IMG002 = register(
    "IMG002", Severity.ERROR, "NGFF metadata does not follow the specification",
    "Fix the key named in the message so the metadata follows the NGFF specification; "
    "`ome-zarr-models validate <url>` checks most of its rules (a few, such as integer acquisition ids and "
    "non-empty label colours, only the archive checks).", area=_A)
IMG003 = register(
    "IMG003", Severity.ERROR, "Unsupported NGFF version",
    "Write the image as OME-NGFF 0.4 (Zarr v2) or 0.5 (Zarr v3), e.g. with ome-zarr-py or bioformats2raw.",
    area=_A)
IMG004 = register(
    "IMG004", Severity.ERROR, "Axes are missing, misordered or of the wrong type",
    "Give 2 to 5 axes: 2 or 3 of type space (named y and x, optionally z), at most one of type time and "
    "at most one channel or custom axis (a custom axis may have any other type or none), ordered time, "
    "channel or custom, then space; space and time units come from the NGFF unit list.", area=_A)
IMG005 = register(
    "IMG005", Severity.ERROR, "Bad coordinate transformations",
    "Give each dataset exactly one `scale` transformation (optionally followed by one `translation`) "
    "with one positive number per axis.", area=_A)
IMG006 = register(
    "IMG006", Severity.ERROR, "Pyramid levels are inconsistent",
    "Every level must have one dimension per axis, the same dtype, and sizes that never grow from one "
    "level to the next (level 0 is the full resolution).", area=_A)
IMG007 = register(
    "IMG007", Severity.WARNING, "Unusual chunk shape",
    "Use chunks of 64-1024 pixels along y and x and 1 along t and c (e.g. 1x1x1x512x512); "
    "tiny chunks cost one request each, huge ones must be read whole for any thumbnail.", area=_A)
IMG008 = register(
    "IMG008", Severity.ERROR, "Invalid omero channel colour",
    "Write `omero.channels[i].color` as six hexadecimal digits without '#', e.g. \"FF00FF\".", area=_A)
IMG009 = register(
    "IMG009", Severity.ERROR, "Invalid omero channel window",
    "Give `omero.channels[i].window` with numbers start < end, both within the dtype's range; start and end "
    "outside min/max are only a hint (viewers clip their slider).", area=_A)
IMG010 = register(
    "IMG010", Severity.ERROR, "The record's image kind differs from the data",
    "Set `kind:` in study.yaml to what the data is (image, plate or labels), or point `url:` at the right "
    "group.", area=_A)
IMG011 = register(
    "IMG011", Severity.ERROR, "Array metadata missing or unreadable",
    "Every `datasets[].path` of `multiscales` must name a Zarr array (zarr.json for Zarr v3, .zarray for v2) "
    "next to the group metadata.", area=_A)
IMG012 = register(
    "IMG012", Severity.ERROR, "Plate or well metadata is inconsistent",
    "Make `plate.wells[].path` name existing well groups ('<row>/<column>') whose `well.images` list their "
    "fields, with row and column indexes inside `plate.rows` and `plate.columns`.", area=_A)
IMG013 = register(
    "IMG013", Severity.ERROR, "The pixel data could not be read",
    "Re-write the chunks named in the message; they are missing or do not decode with the array's "
    "declared codecs, dtype and chunk shape.", area=_A)
IMG014 = register(
    "IMG014", Severity.INFO, "Plate montage shows only some wells",
    "Nothing to fix: the montage stops when the per-image request budget is used up; raise "
    "`limits.max_image_requests` in archive.toml to show more wells.", area=_A)
IMG015 = register(
    "IMG015", Severity.WARNING, "Label images are listed but unusable",
    "Make every name in `labels/` metadata `labels: [...]` a label image with `image-label` metadata and "
    "the same y/x size as the image (at some pyramid level).", area=_A)
IMG016 = register(
    "IMG016", Severity.WARNING, "Default plane outside the image",
    "Set `omero.rdefs.defaultZ`/`defaultT` to an index inside the z/t size of level 0.", area=_A)
IMG017 = register(
    "IMG017", Severity.WARNING, "Channel metadata does not match the channel axis",
    "Give one `omero.channels` entry per index of the 'c' axis.", area=_A)
IMG018 = register(
    "IMG018", Severity.ERROR, "Label image pixels are not integers",
    "Store label images with an integer dtype (e.g. uint16 or uint32): each pixel's value is the id of the "
    "object it belongs to, as the NGFF specification requires.", area=_A)

# -- reachability ------------------------------------------------------------------
NET001 = register(
    "NET001", Severity.ERROR, "Storage unreachable",
    "Check the host name and port in the URL and that the server or bucket endpoint is running and public.",
    area=_A)
NET002 = register(
    "NET002", Severity.ERROR, "Not found (404)",
    "Check the URL's spelling and that the upload finished; the object named in the message must exist.",
    area=_A)
NET003 = register(
    "NET003", Severity.ERROR, "Access denied (401/403)",
    "Make the bucket or folder publicly readable (anonymous GET), e.g. a bucket policy allowing "
    "s3:GetObject for everyone.", area=_A)
NET004 = register(
    "NET004", Severity.ERROR, "Storage too slow",
    "The server did not answer within the time limit; retry later, or move the data to storage that "
    "answers within `limits.request_timeout_s`.", area=_A)
NET005 = register(
    "NET005", Severity.ERROR, "Redirect to another host",
    "Point the record directly at the final location; the archive does not follow redirects to other hosts.",
    area=_A)
NET006 = register(
    "NET006", Severity.WARNING, "CORS not enabled",
    "Browser viewers such as vizarr cannot open this image; enable CORS on the bucket "
    "(Access-Control-Allow-Origin: * for GET and HEAD).", area=_A)
NET007 = register(
    "NET007", Severity.ERROR, "Storage answered with an error",
    "The server returned an unexpected HTTP status; check the URL and the server's logs.", area=_A)
NET008 = register(
    "NET008", Severity.ERROR, "Host did not answer its probe",
    "The host accepted no request within `limits.host_probe_timeout_s`, so none of its images was read; "
    "check that the server is up and public (open the URL in a browser), then run the check again.", area=_A)
NET009 = register(
    "NET009", Severity.ERROR, "Time budget used up before this image",
    "Reading this record's (or this host's) earlier images used up `limits.record_timeout_s` "
    "(`limits.host_timeout_s`); move the data to storage that answers faster, then run the check again.",
    area=_A)

# -- safety refusals ------------------------------------------------------------------
SAF001 = register(
    "SAF001", Severity.ERROR, "Path outside the storage root",
    "Give a path inside the archive's storage root, without '..' or symbolic links leading out of it.",
    area=_A)
SAF002 = register(
    "SAF002", Severity.ERROR, "URL scheme or address refused",
    "Use an s3:// or https:// URL on a public host, or a path relative to the storage root; file://, "
    "plain http:// (except on 127.0.0.1) and private network addresses are refused.", area=_A)
SAF003 = register(
    "SAF003", Severity.ERROR, "Codec not allowed",
    "Re-write the array with a standard codec: blosc, zstd, gzip, zlib, lz4, bz2 (Zarr v2) or bytes, "
    "transpose, blosc, zstd, gzip, crc32c, sharding_indexed (Zarr v3).", area=_A)
SAF004 = register(
    "SAF004", Severity.ERROR, "Data type not allowed",
    "Store pixels as bool, (u)int8-64 or float32/64; object, string and structured dtypes are refused.",
    area=_A)
SAF005 = register(
    "SAF005", Severity.ERROR, "Chunks too large",
    "Re-chunk the array so one decoded chunk stays under `limits.max_chunk_bytes` (e.g. 1x1x1x1024x1024).",
    area=_A)
SAF006 = register(
    "SAF006", Severity.ERROR, "Thumbnail would read too much",
    "Add smaller pyramid levels (each halving y and x) so a thumbnail can be read from a level under "
    "`limits.max_selection_bytes`.", area=_A)
SAF007 = register(
    "SAF007", Severity.ERROR, "Declared shape is absurd",
    "Declare the array's real shape; dimensions above `limits.max_array_dimension`, negative or "
    "zero-sized chunks are refused.", area=_A)
SAF008 = register(
    "SAF008", Severity.ERROR, "Read budget exceeded",
    "The image needed more requests, bytes or time than `limits` allow; add smaller pyramid levels "
    "or larger chunks, or raise the limits in archive.toml.", area=_A)
SAF009 = register(
    "SAF009", Severity.ERROR, "Decoding exceeded the memory limit",
    "A chunk inflated beyond `limits.worker_memory_bytes` (a decompression bomb or a wrongly declared "
    "chunk shape); re-write the chunks with their real shape.", area=_A)
SAF010 = register(
    "SAF010", Severity.ERROR, "Image worker failed",
    "Reading this image crashed or hung its worker process and it was stopped after "
    "`limits.image_timeout_s`; check the data and the server, then retry.", area=_A)
SAF011 = register(
    "SAF011", Severity.ERROR, "Metadata document refused",
    "Each zarr.json/.zattrs/.zarray must be a JSON object under `limits.max_metadata_bytes`, and a multiscales "
    "list at most 64 pyramid levels.", area=_A)


def image_diagnostic(
    check, message: str, *, url: str, doc: str = "", key: str = "", severity=None, zarr_path: str | None = None
):
    """A diagnostic about one image: ``<url>: <document> <key>: <message>`` plus the same in ``extra``.

    It has no file/line: the records stage places it on the record's url line.
    """
    from builder.core.checks import Diagnostic

    if zarr_path is None:
        zarr_path = doc.rsplit("/", 1)[0] if "/" in doc else ""
    where = " ".join(part for part in (doc, key) if part)
    text = f"{url}: {where}: {message}" if where else f"{url}: {message}"
    return Diagnostic.of(
        check,
        text,
        severity=severity,
        field=f"{doc}#{key}" if key else (doc or None),
        extra={"url": url, "zarr_path": zarr_path or "/", "document": doc, "key": key},
    )
