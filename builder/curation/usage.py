"""Reuse counts from access logs, following the COUNTER Code of Practice for Research Data.

``bioarchive usage LOGS... --month YYYY-MM`` reads the access logs of the site
host and of the archive store, in either of two formats (detected per line):

- the *combined log format* of web servers and CDNs
  (``%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"``), and
- the *S3 server access log format* (``bucket_owner bucket [time] remote_ip
  requester request_id operation key "request_uri" status ...``).

A request counts when it is a successful GET of a study's page
(``<site path>studies/<ACCESSION>/...``: a *view*, COUNTER's investigation) or
of an object of a study's data in the store (``<ACCESSION>/v<N>/<image>/...``:
a *download*, COUNTER's request; an image's chunks fetched in one burst are
one download, see double clicks). Then, as the Code of Practice says:

- robots and crawlers are excluded by the COUNTER robots list (the
  ``counter-robots`` package ships it); scripts and tools on its machines
  list are counted apart, as the "machine" access method;
- double clicks: the same user session asking for the same page or image
  again within 30 seconds counts once;
- a user session is user agent + IP address + hour. Only a salted hash of
  it is kept, in a temporary file that is deleted at the end; the salt is
  random per run, so no two runs' hashes can be linked and none reversed.

Logs are streamed line by line (lines longer than ``MAX_LINE_BYTES`` are
refused without being held), and events go to that temporary SQLite file, so
memory stays bounded whatever the size and order of the logs. Malformed lines
are counted and located (file and line number, never the line: it holds an
IP address) and never stop the count. Only the counts per study are written,
to ``usage/<YYYY-MM>.json``.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import gzip
import hashlib
import re
import secrets
import sqlite3
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import unquote, urlsplit

import counter_robots

from builder.catalog.registry import LineTally, MonthUsage, StudyUsage, UsageCounts, usage_path
from builder.core.errors import InvalidInputError
from builder.core.settings import ArchiveSettings
from builder.curation import publication_checks as checks
from builder.model.publication import is_public

DOUBLE_CLICK_SECONDS = 30
MAX_LINE_BYTES = 64 * 1024
MAX_REPORTED_MALFORMED = 20
VIEW, DOWNLOAD = 0, 1
REGULAR, MACHINE = 0, 1
VIEW_STATUSES = frozenset({200, 304})
DOWNLOAD_STATUSES = frozenset({200, 206})

_COMBINED = re.compile(
    r'^(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>[A-Z]+) (?P<target>\S+)(?: HTTP/[0-9.]+)?" '
    r'(?P<status>\d{3}) (?:\d+|-)(?: "(?:[^"\\]|\\.)*" "(?P<agent>(?:[^"\\]|\\.)*)")?'
)
_S3 = re.compile(
    r'^\S+ \S+ \[(?P<time>[^\]]+)\] (?P<ip>\S+) \S+ \S+ (?P<operation>\S+) (?P<key>\S+) "[^"]*" '
    r'(?P<status>\d{3}|-) \S+ \S+ \S+ \S+ \S+ "(?:[^"\\]|\\.)*" "(?P<agent>(?:[^"\\]|\\.)*)"'
)


class UsageError(InvalidInputError):
    """The usage run cannot start (bad month, unreadable log, logs inside the repository)."""


@dataclass
class Malformed:
    file: str
    line: int
    reason: str


@dataclass
class _Tally:
    """The running counts (a plain class: setting a pydantic field on every line cost 3 us)."""

    read: int = 0
    malformed: int = 0
    other_month: int = 0
    not_counted: int = 0
    robots: int = 0
    double_clicks: int = 0
    counted: int = 0


@dataclass
class UsageReport:
    month: MonthUsage
    output: Path
    malformed: list[Malformed] = field(default_factory=list)  # the first MAX_REPORTED_MALFORMED


@functools.lru_cache(maxsize=65536)
def access_method(agent: str) -> int | None:
    """None for a robot (not counted), MACHINE for a script or tool, REGULAR otherwise.

    The COUNTER robots list also holds the machines list (curl, python, wget...),
    so machines are recognised first: the Code of Practice counts their use
    under the "machine" access method rather than dropping it.
    """
    if not agent or agent == "-":
        return None
    if counter_robots.is_machine(agent):
        return MACHINE
    return None if counter_robots.is_robot(agent) else REGULAR


class _Classifier:
    """Maps a request path or store key to (kind, accession, item), or None."""

    def __init__(self, settings: ArchiveSettings, accessions: set[str]) -> None:
        site_path = settings.usage.site_path or urlsplit(settings.site_url).path or "/"
        site_path = "/" + site_path.strip("/") + "/" if site_path.strip("/") else "/"
        acc = re.escape(settings.accession_prefix) + rf"\d{{{settings.accession_digits}}}"
        self.accessions = accessions
        self.page = re.compile(rf"^{re.escape(site_path)}studies/(?P<acc>{acc})/(?P<rest>.*)$")
        self.data = re.compile(rf"(?:^|/)(?P<acc>{acc})/v(?P<version>\d+)/(?P<image>[^/]+)/")

    def view(self, path: str) -> tuple[str, str] | None:
        match = self.page.match(path)
        if match is None or match["acc"] not in self.accessions:
            return None
        rest = match["rest"]
        # Pages only: the page's own images, styles and exports are fetched with it.
        if rest and not rest.endswith("/") and not rest.endswith(".html"):
            return None
        return match["acc"], rest.removesuffix("index.html")

    def download(self, key: str) -> tuple[str, str] | None:
        match = self.data.search(key)
        if match is None or match["acc"] not in self.accessions:
            return None
        return match["acc"], f"v{match['version']}/{match['image']}"


def _open(path: Path) -> IO[bytes]:
    handle = path.open("rb")
    if handle.read(2) == b"\x1f\x8b":
        handle.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    handle.seek(0)
    return handle


def _lines(handle: IO[bytes]) -> Iterator[bytes | None]:
    """The file's lines; None for a line over MAX_LINE_BYTES (read past, never held)."""
    while True:
        line = handle.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = handle.readline(MAX_LINE_BYTES)
            yield None
            continue
        yield line


def log_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{path}: no such log file or folder")
    return files


def _month_bounds(month: str) -> tuple[int, int]:
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
        raise UsageError(f"--month {month!r} is not YYYY-MM (for example 2026-11)")
    year, number = int(month[:4]), int(month[5:])
    start = dt.datetime(year, number, 1, tzinfo=dt.UTC)
    end = dt.datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=dt.UTC)
    return int(start.timestamp()), int(end.timestamp())


def count_usage(root: Path, settings: ArchiveSettings, logs: list[Path], month: str, *,
                accessions: set[str] | None = None, today: dt.date | None = None) -> UsageReport:
    """Count one month of the logs and write usage/<month>.json.

    ``accessions`` are the studies that may be counted (default: the released
    studies of the archive's records); requests for any other path are left out.
    """
    start, end = _month_bounds(month)
    root = Path(root).resolve()
    files = log_files(logs)
    for path in files:
        if path.resolve().is_relative_to(root):
            raise UsageError(f"{path}: {checks.USAGE_LOGS_IN_REPOSITORY.id} access logs hold IP addresses and must "
                             "never be inside the archive's repository, where they could be committed. "
                             "Move them out (e.g. to /tmp) and rerun.")
    if accessions is None:
        accessions = released_accessions(root, settings, today or dt.date.today())
    classifier = _Classifier(settings, accessions)
    tally = _Tally()
    malformed: list[Malformed] = []
    salt = secrets.token_bytes(16)

    with tempfile.TemporaryDirectory(prefix="bioarchive-usage-") as tmp:
        db = sqlite3.connect(Path(tmp) / "events.sqlite")
        try:
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            db.execute("PRAGMA cache_size = -8192")  # 8 MiB: bounded memory, the rest on disk
            db.execute("CREATE TABLE events (session BLOB, kind INT, study TEXT, item TEXT, method INT, ts INT)")
            for path in files:
                _read_file(path, root, db, classifier, salt, start, end, tally, malformed)
            studies = _count(db, tally)
        finally:
            db.close()
    result = MonthUsage(month=month, robots_list=f"counter-robots {counter_robots.__version__}",
                        lines=LineTally(**vars(tally)),
                        studies=dict(sorted(studies.items())))
    output = usage_path(root, month)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_suffix(".json.tmp")
    temporary.write_text(result.to_json(), "utf-8")
    temporary.replace(output)  # whole or not at all
    return UsageReport(month=result, output=output, malformed=malformed)


def released_accessions(root: Path, settings: ArchiveSettings, today: dt.date) -> set[str]:
    """Studies whose counts may be published: released ones (an embargoed study's page does not exist)."""
    from builder.records.load import load_records

    records = load_records(root, settings, hints=False)
    return {acc for acc, study in records.studies.items() if is_public(study, today)}


def _read_file(path: Path, root: Path, db: sqlite3.Connection, classifier: _Classifier, salt: bytes,
               start: int, end: int, tally: _Tally, malformed: list[Malformed]) -> None:
    shown = str(path)
    batch: list[tuple[bytes, int, str, str, int, int]] = []

    def bad(number: int, reason: str) -> None:
        tally.malformed += 1
        if len(malformed) < MAX_REPORTED_MALFORMED:
            malformed.append(Malformed(shown, number, reason))

    try:
        handle = _open(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    with handle:
        try:
            for number, raw in enumerate(_lines(handle), start=1):
                tally.read += 1
                if raw is None:
                    bad(number, f"longer than {MAX_LINE_BYTES} bytes")
                    continue
                event = _parse(raw, classifier)
                if isinstance(event, str):
                    if event == "not counted":
                        tally.not_counted += 1
                    else:
                        bad(number, event)
                    continue
                when, ip, agent, kind, study, item = event
                if not start <= when < end:
                    tally.other_month += 1
                    continue
                method = access_method(agent)
                if method is None:
                    tally.robots += 1
                    continue
                hour = when // 3600
                session = hashlib.blake2b(f"{agent}\x00{ip}\x00{hour}".encode(), key=salt, digest_size=16).digest()
                batch.append((session, kind, study, item, method, when))
                if len(batch) >= 10_000:
                    db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", batch)
                    batch.clear()
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            # A truncated or corrupt compressed log: what was read counts, the rest is reported.
            bad(tally.read, f"the file ends early or is corrupt ({exc})")
    if batch:
        db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", batch)
    db.commit()


def _parse(raw: bytes, classifier: _Classifier) -> tuple[int, str, str, int, str, str] | str:
    """(unix time, ip, agent, kind, study, item), "not counted", or why the line is malformed."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        line = raw.decode("latin-1")  # log writers escape most bytes; a stray one is no reason to drop the line
    line = line.rstrip("\r\n")
    if not line.strip():
        return "empty line"
    # The time in brackets is the third field of an S3 log line, the fourth of a combined one.
    fields = line.split(" ", 3)
    s3 = _S3.match(line) if len(fields) > 2 and fields[2][:1] == "[" else None
    if s3 is not None:
        if s3["operation"] != "REST.GET.OBJECT" or s3["status"] == "-" or int(s3["status"]) not in DOWNLOAD_STATUSES:
            return _checked_time(s3["time"]) or "not counted"
        target = classifier.download(unquote(s3["key"]))
        kind = DOWNLOAD
    else:
        combined = _COMBINED.match(line)
        if combined is None:
            return "neither the combined log format nor the S3 server access log format"
        status = int(combined["status"])
        path = unquote(combined["target"].split("?", 1)[0])
        if combined["method"] != "GET":
            return _checked_time(combined["time"]) or "not counted"
        target = classifier.view(path) if status in VIEW_STATUSES else None
        kind = VIEW
        if target is None and status in DOWNLOAD_STATUSES:
            target = classifier.download(path)  # the store behind an HTTPS host or CDN
            kind = DOWNLOAD
        s3 = combined
    when = _time(s3["time"])
    if when is None:
        return f"the time [{s3['time'][:40]}] is not day/Mon/year:hh:mm:ss +zone"
    if target is None:
        return "not counted"
    agent = (s3["agent"] or "").replace('\\"', '"')
    return when, s3["ip"], agent, kind, target[0], target[1]


def _checked_time(text: str) -> str | None:
    return None if _time(text) is not None else f"the time [{text[:40]}] is not day/Mon/year:hh:mm:ss +zone"


_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}
_TIME_RE = re.compile(r"^(\d{2})/([A-Z][a-z]{2})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$")


def _time(text: str) -> int | None:
    """Unix time of a log time such as 05/Nov/2026:10:00:00 +0000 (strptime cost 80 us a line)."""
    match = _TIME_RE.match(text)
    if match is None or match[2] not in _MONTHS:
        return None
    day, _, year, hour, minute, second, sign, zone_h, zone_m = match.groups()
    start = _day_start(int(year), _MONTHS[match[2]], int(day))
    if start is None or int(hour) > 23 or int(minute) > 59 or int(second) > 60:
        return None
    offset = (int(zone_h) * 3600 + int(zone_m) * 60) * (1 if sign == "+" else -1)
    return start + int(hour) * 3600 + int(minute) * 60 + int(second) - offset


@functools.lru_cache(maxsize=1024)
def _day_start(year: int, month: int, day: int) -> int | None:
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return calendar.timegm((year, month, day, 0, 0, 0))


def _count(db: sqlite3.Connection, tally: _Tally) -> dict[str, StudyUsage]:
    """Double-click filtering and unique sessions, streamed from the sorted events."""
    totals: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    rows = db.execute("SELECT session, kind, study, item, method, ts FROM events "
                      "ORDER BY session, kind, study, item, method, ts")
    previous: tuple[bytes, int, str, str, int] | None = None
    previous_ts = 0
    session_seen: set[tuple[str, int, int]] = set()  # (study, method, kind) of the current session
    current_session: bytes | None = None

    def close_click(key: tuple[bytes, int, str, str, int]) -> None:
        _session, kind, study, _item, method = key
        totals[(study, method)][kind] += 1
        tally.counted += 1
        session_seen.add((study, method, kind))

    def close_session() -> None:
        users = {(study, method) for study, method, _ in session_seen}
        for study, method in users:
            totals[(study, method)][2] += 1
        for study, method, kind in session_seen:
            if kind == DOWNLOAD:
                totals[(study, method)][3] += 1
        session_seen.clear()

    for session, kind, study, item, method, ts in rows:
        key = (session, kind, study, item, method)
        if key == previous:
            if ts - previous_ts <= DOUBLE_CLICK_SECONDS:
                tally.double_clicks += 1  # the earlier click is dropped, the later one kept
            else:
                close_click(key)
            previous_ts = ts
            continue
        if previous is not None:
            close_click(previous)
        if session != current_session:
            close_session()
            current_session = session
        previous, previous_ts = key, ts
    if previous is not None:
        close_click(previous)
    close_session()

    studies: dict[str, StudyUsage] = {}
    for (study, method), (views, downloads, users, unique_downloads) in totals.items():
        usage = studies.setdefault(study, StudyUsage())
        counts = UsageCounts(views=views, downloads=downloads, unique_users=users, unique_downloads=unique_downloads)
        if method == MACHINE:
            usage.machine = counts
        else:
            usage.regular = counts
    return studies


def render_text(report: UsageReport) -> str:
    lines = report.month.lines
    out = [
        f"{report.month.month}: {lines.read} lines read, {lines.counted} counted; left out: {lines.robots} robots, "
        f"{lines.double_clicks} double clicks, {lines.other_month} of other months, {lines.not_counted} "
        f"not study pages or data, {lines.malformed} malformed",
        f"{len(report.month.studies)} studies with use; written to {report.output}",
    ]
    for m in report.malformed:
        out.append(f"  {m.file}:{m.line}: {checks.USAGE_MALFORMED_LINE.id} malformed line ({m.reason})")
    if lines.malformed > len(report.malformed):
        out.append(f"  ... and {lines.malformed - len(report.malformed)} more malformed lines")
    if lines.malformed:
        out.append(f"  fix: {checks.USAGE_MALFORMED_LINE.fix}")
    return "\n".join(out) + "\n"
