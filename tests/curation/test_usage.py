"""Reuse counts (COUNTER) from generated access logs with known answers."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.catalog.registry import read_month, usage_summaries
from builder.cli import main
from builder.core.settings import load_settings
from builder.curation.usage import UsageError, count_usage
from tests.support.records import ARCHIVE_TOML, make_record, write_record

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
OTHER_BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SCRIPT = "python-requests/2.32.3"
T0 = dt.datetime(2026, 11, 5, 10, 0, 0, tzinfo=dt.UTC)


def combined(ip: str, when: dt.datetime, path: str, agent: str, status: int = 200, method: str = "GET") -> str:
    return (f'{ip} - - [{when:%d/%b/%Y:%H:%M:%S +0000}] "{method} {path} HTTP/1.1" {status} 5120 '
            f'"https://example.org/" "{agent}"\n')


def s3(ip: str, when: dt.datetime, key: str, agent: str, status: int = 200, operation: str = "REST.GET.OBJECT") -> str:
    return (f"79a59df900b949e55d96a1e698fbaced archive-store [{when:%d/%b/%Y:%H:%M:%S +0000}] {ip} - "
            f'3E57427F3EXAMPLE {operation} {key} "GET /archive-store/{key} HTTP/1.1" {status} - 4096 4096 7 6 '
            f'"-" "{agent}" - s9lzHYrFp76ZVxRcpX9= SigV4 ECDHE-RSA-AES128-GCM-SHA256 AuthHeader '
            "archive-store.s3.eu-west-1.amazonaws.com TLSv1.3 - -\n")


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    root.mkdir()
    (root / "archive.toml").write_text(ARCHIVE_TOML + 'site_url = "https://example.github.io/archive/"\n'
                                       "\n[archive.usage]\nhighly_used_threshold = 5\n")
    write_record(root, make_record(accession="OIA-000001"), "OIA-000001")
    write_record(root, make_record(accession="OIA-000002"), "OIA-000002")
    write_record(root, make_record(accession="OIA-000003", release_date="2099-01-01"), "OIA-000003")
    return root


def run(archive: Path, *logs: Path, month: str = "2026-11"):
    return count_usage(archive, load_settings(archive), list(logs), month, today=dt.date(2026, 12, 2))


def test_views_downloads_double_clicks_robots_and_sessions(archive, tmp_path):
    site = tmp_path / "logs" / "site.log"
    site.parent.mkdir()
    site.write_text("".join([
        # A reader opens the landing page, double-clicks it (10 s later: one view), comes back later.
        combined("203.0.113.7", at(0), "/archive/studies/OIA-000001/", BROWSER),
        combined("203.0.113.7", at(10), "/archive/studies/OIA-000001/", BROWSER),
        combined("203.0.113.7", at(100), "/archive/studies/OIA-000001/", BROWSER),
        # ...and the page's thumbnail and export: fetched with the page, not views.
        combined("203.0.113.7", at(1), "/archive/studies/OIA-000001/thumb.webp", BROWSER),
        combined("203.0.113.7", at(2), "/archive/studies/OIA-000001/citation.bib", BROWSER),
        # A version page is a view of the same study; index.html is the same page as its folder.
        combined("203.0.113.7", at(200), "/archive/studies/OIA-000001/v1/index.html", BROWSER),
        # Another person, same address (a shared lab network): another session.
        combined("203.0.113.7", at(5), "/archive/studies/OIA-000001/", OTHER_BROWSER),
        # The first reader again two hours later: a new session (user agent + IP + hour).
        combined("203.0.113.7", at(7200), "/archive/studies/OIA-000001/", BROWSER),
        # A crawler: excluded by the COUNTER robots list.
        combined("66.249.66.1", at(3), "/archive/studies/OIA-000001/", GOOGLEBOT),
        combined("66.249.66.1", at(4), "/archive/studies/OIA-000002/", GOOGLEBOT),
        # Not counted: a failed request, a HEAD, a study under embargo, an unknown accession, another page.
        combined("198.51.100.2", at(6), "/archive/studies/OIA-000002/", BROWSER, status=404),
        combined("198.51.100.2", at(6), "/archive/studies/OIA-000002/", BROWSER, method="HEAD"),
        combined("198.51.100.2", at(6), "/archive/studies/OIA-000003/", BROWSER),
        combined("198.51.100.2", at(6), "/archive/studies/OIA-000999/", BROWSER),
        combined("198.51.100.2", at(6), "/archive/browse/", BROWSER),
        # Another month.
        combined("198.51.100.2", dt.datetime(2026, 10, 31, 23, 59, 59, tzinfo=dt.UTC), "/archive/studies/OIA-000002/",
                 BROWSER),
    ]))
    store = tmp_path / "logs" / "store.log"
    lines = []
    # A viewer fetches 40 chunks of one image in a burst: one download; then another image: a second.
    for i in range(40):
        lines.append(s3("198.51.100.9", at(300 + i * 0.5), f"OIA-000002/v1/cells.ome.zarr/0/c/0/{i}", BROWSER))
    lines.append(s3("198.51.100.9", at(400), "OIA-000002/v1/nuclei.ome.zarr/zarr.json", BROWSER))
    # A script downloads an image: counted, as the "machine" access method.
    lines.append(s3("192.0.2.50", at(500), "OIA-000002/v1/cells.ome.zarr/zarr.json", SCRIPT))
    # Listing the bucket and HEAD requests are no downloads; keys are URL-encoded in S3 logs.
    lines.append(s3("192.0.2.50", at(501), "-", SCRIPT, operation="REST.GET.BUCKET"))
    lines.append(s3("192.0.2.50", at(502), "OIA-000002/v1/cells.ome.zarr/zarr.json", SCRIPT,
                    operation="REST.HEAD.OBJECT"))
    lines.append(s3("192.0.2.60", at(503), "OIA-000002/v1/my%20image.ome.zarr/zarr.json", BROWSER))
    store.write_text("".join(lines))

    report = run(archive, site, store)
    one = report.month.studies["OIA-000001"]
    assert one.regular.model_dump() == {"views": 5, "downloads": 0, "unique_users": 3, "unique_downloads": 0}
    two = report.month.studies["OIA-000002"]
    assert two.regular.model_dump() == {"views": 0, "downloads": 3, "unique_users": 2, "unique_downloads": 2}
    assert two.machine.model_dump() == {"views": 0, "downloads": 1, "unique_users": 1, "unique_downloads": 1}
    assert set(report.month.studies) == {"OIA-000001", "OIA-000002"}  # nothing for the embargoed study
    tally = report.month.lines
    assert tally.robots == 2 and tally.other_month == 1 and tally.malformed == 0
    assert tally.double_clicks == 1 + 39
    assert tally.read == 16 + 45
    # Only counts reach the file: no address, no user agent, no path.
    text = report.output.read_text()
    for secret in ("203.0.113.7", "198.51.100", "Firefox", "python-requests", "cells.ome.zarr"):
        assert secret not in text
    assert read_month(report.output) == report.month
    assert report.output == archive / "usage" / "2026-11.json"


def test_malformed_lines_are_counted_and_located_never_fatal(archive, tmp_path):
    log = tmp_path / "mixed.log"
    log.write_bytes(
        combined("203.0.113.7", at(0), "/archive/studies/OIA-000001/", BROWSER).encode()
        + b"this is not a log line\n"
        + b'203.0.113.7 - - [99/Nox/2026:10:00:00 +0000] "GET /archive/studies/OIA-000001/ HTTP/1.1" 200 1 "-" "x"\n'
        + b"x" * 200_000 + b"\n"
        + b"\xff\xfe\x00 binary \x00\n"
        + b"\n"
        + combined("203.0.113.8", at(1), "/archive/studies/OIA-000001/", BROWSER).encode()
        + b'203.0.113.9 - - [05/Nov/2026:10:00:0'  # cut off mid-line at the end of the file
    )
    report = run(archive, log)
    assert report.month.lines.malformed == 6
    assert [(m.line, m.reason.split(" ")[0]) for m in report.malformed] == [
        (2, "neither"), (3, "the"), (4, "longer"), (5, "neither"), (6, "empty"), (8, "neither")]
    assert all(m.file == str(log) for m in report.malformed)
    assert report.month.studies["OIA-000001"].regular.views == 2
    result = CliRunner().invoke(main, ["usage", str(log), "--month", "2026-11", "--root", str(archive)])
    assert result.exit_code == 0, result.output
    assert f"{log}:2: USE001 malformed line" in result.output and "Traceback" not in result.output


def test_gzip_logs_folders_and_a_truncated_archive(archive, tmp_path):
    folder = tmp_path / "s3-logs"
    folder.mkdir()
    with gzip.open(folder / "2026-11-05-10-00-00-ABC.gz", "wt") as handle:
        handle.write(s3("198.51.100.9", at(0), "OIA-000001/v1/cells.ome.zarr/zarr.json", BROWSER))
    (folder / "2026-11-05-11-00-00-DEF").write_text(
        s3("198.51.100.9", at(4000), "OIA-000001/v1/cells.ome.zarr/zarr.json", BROWSER))
    whole = gzip.compress(b"".join(
        s3("198.51.100.10", at(i), f"OIA-000001/v1/img{i}.ome.zarr/zarr.json", BROWSER).encode() for i in range(50)))
    (folder / "truncated.gz").write_bytes(whole[: len(whole) // 2])
    report = run(archive, folder)
    counts = report.month.studies["OIA-000001"].regular
    assert counts.unique_users == 3  # one per hour-session and the truncated file's reader
    assert 2 < counts.downloads < 52
    assert report.month.lines.malformed == 1
    assert "ends early or is corrupt" in report.malformed[0].reason


_CHILD = """
import datetime as dt, json, resource, sys, time
from pathlib import Path
from builder.core.settings import load_settings
from builder.curation.usage import count_usage
root, log = Path(sys.argv[1]), Path(sys.argv[2])
settings = load_settings(root)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
report = count_usage(root, settings, [log], "2026-11", today=dt.date(2026, 12, 2))
print(json.dumps({"seconds": time.perf_counter() - started, "kb_before": before,
                  "kb_after": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "month": report.month.model_dump(mode="json")}))
"""


def test_a_large_log_is_streamed_in_bounded_memory(archive, tmp_path):
    """200,000 lines (~40 MB), measured in a child process: its peak memory grows far less than the file."""
    log = tmp_path / "big.log"
    users, lines = 1000, 200_000
    with log.open("w") as handle:
        for i in range(lines):
            user = i % users
            # Each user views a page every 1000 s (never a double click) over 2.3 days.
            page = f"/archive/studies/OIA-00000{1 + user % 2}/"
            handle.write(combined(f"10.0.{user // 256}.{user % 256}", at(i), page, BROWSER + f" u{user}"))
    size = log.stat().st_size
    assert size > 35_000_000  # bigger than the whole memory growth allowed below
    child = subprocess.run([sys.executable, "-c", _CHILD, str(archive), str(log)], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parents[2], timeout=580, check=True)
    result = json.loads(child.stdout)
    month = result["month"]
    assert sum(s["regular"]["views"] for s in month["studies"].values()) == lines
    assert month["lines"]["counted"] == lines and month["lines"]["double_clicks"] == 0
    # Sessions are per user and hour: 200,000 s span 56 hours, each user active in each.
    sessions = sum(s["regular"]["unique_users"] for s in month["studies"].values())
    assert 55 * users <= sessions <= 57 * users
    growth = (result["kb_after"] - result["kb_before"]) * 1024
    assert growth < 20 * 1024 * 1024 < size, f"peak memory grew by {growth / 1e6:.1f} MB"
    print(f"\n{lines} lines ({size / 1e6:.0f} MB): {result['seconds']:.1f} s, peak memory +{growth / 1e6:.1f} MB")


def test_logs_inside_the_repository_and_bad_months_are_refused(archive, tmp_path):
    inside = archive / "access.log"
    inside.write_text(combined("203.0.113.7", at(0), "/archive/studies/OIA-000001/", BROWSER))
    with pytest.raises(UsageError, match="USE002 access logs hold IP addresses and must never be inside"):
        run(archive, inside)
    outside = tmp_path / "a.log"
    outside.write_text("")
    with pytest.raises(UsageError, match="not YYYY-MM"):
        run(archive, outside, month="2026-13")
    result = CliRunner().invoke(main, ["usage", str(tmp_path / "missing.log"), "--month", "2026-11",
                                       "--root", str(archive)])
    assert result.exit_code == 2 and "no such log file" in result.output
    assert not (archive / "usage").exists()  # nothing half-written


def test_summaries_and_the_highly_used_label(archive, tmp_path):
    for month, views in (("2026-10", 3), ("2026-11", 2)):
        log = tmp_path / f"{month}.log"
        base = dt.datetime.fromisoformat(f"{month}-03T08:00:00+00:00")
        log.write_text("".join(combined(f"192.0.2.{i}", base, "/archive/studies/OIA-000001/", BROWSER)
                               for i in range(views)))
        result = CliRunner().invoke(main, ["usage", str(log), "--month", month, "--root", str(archive),
                                           "--format", "json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["studies"]["OIA-000001"]["regular"]["views"] == views
    summaries = usage_summaries(archive, months=12, threshold=5)
    assert summaries["OIA-000001"].months == ["2026-10", "2026-11"]
    assert summaries["OIA-000001"].total.views == 5 and summaries["OIA-000001"].highly_used
    assert not usage_summaries(archive, months=1, threshold=5)["OIA-000001"].highly_used
    assert not usage_summaries(archive, months=12, threshold=0)["OIA-000001"].highly_used
