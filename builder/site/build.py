"""`bioarchive build`: the whole pipeline from studies/ to site/.

records -> data (image facts and thumbnails, cached in .cache/) -> catalog
(also written as catalog.json) -> pages (templates/ rendered: pages in the
nav into a staging docs folder next to a copy of docs/, one frame per kind
of other page) -> `mkdocs build` into a fresh folder -> study pages filled
into their frames, with exports and the search index, by worker processes ->
swap into site/.

A record with errors stops the build unless ``allow_invalid`` (previews),
which leaves such records out. Anything else that fails (a template, MkDocs,
an export, a worker) stops the build before the swap, so site/ always holds
the last complete site.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
import multiprocessing
import os
import pickle
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from builder.catalog.assembly import Catalog, CatalogStudy, PastVersion
from builder.core.checks import Diagnostic, Severity
from builder.core.errors import StageError
from builder.core.layout import image_key
from builder.core.settings import ArchiveSettings, load_settings
from builder.model.image import ImageFacts
from builder.model.publication import data_is_public
from builder.model.study import Study
from builder.site.docs_sanitise import sanitise_hand_written_pages
from builder.site.frames import Frames, refuse_page_dependent_features
from builder.site.mkdocs_site import (
    MKDOCS_CONFIG,
    SiteBuildError,
    clear_interrupted_builds,
    discard,
    merge_into,
    new_site_dir,
    run_mkdocs,
    scratch_dir,
    stage_overrides,
    swap_in,
    write_mkdocs_config,
)
from builder.site.pages import (
    GeneratedPage,
    PagesResult,
    ThumbnailStore,
    copy_hand_written_docs,
    doc_pages,
    entry_pages,
    framed_study_pages,
    make_environment,
    render_site_pages,
    template_search_path,
    write_reference_pages,
)
from builder.site.templates import mkdocs_config_for, theme_search_path

CACHE_FOLDER = ".cache"
SEARCH_INDEX_FILE = "search/catalog-index.json"
SEARCH_STORE_FILE = "search/catalog-store.json"


class BuildFailed(StageError):
    """The build stopped; site/ was left as it was."""


@dataclass
class BuildReport:
    site_dir: Path
    studies_loaded: int = 0
    studies_skipped: list[str] = field(default_factory=list)  # record files left out
    diagnostics: list[Diagnostic] = field(default_factory=list)
    images_read: int = 0
    images_failed: int = 0
    published: int = 0
    withdrawn: int = 0
    pages: int = 0
    thumbnails: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    mkdocs_warnings: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]


class Progress:
    """Stage timings and one line per stage on a rich console."""

    def __init__(self, console: Console | None, report: BuildReport) -> None:
        self.console = console
        self.report = report

    @contextmanager
    def stage(self, name: str, message: str) -> Iterator[None]:
        started = time.perf_counter()
        if self.console is not None:
            with self.console.status(f"[bold]{message}…"):
                yield
        else:
            yield
        seconds = time.perf_counter() - started
        self.report.timings[name] = seconds
        self.say(f"[green]✓[/] {message} [dim]({seconds:.1f} s)[/]")

    def say(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text)


class InvalidRecords(StageError):
    """Records with errors stopped the build; nothing was written."""

    def __init__(self, report: BuildReport) -> None:
        self.report = report
        super().__init__(f"{len(report.studies_skipped)} record(s) have errors: " + ", ".join(report.studies_skipped))


# ---------------------------------------------------------------- stage 1: records

def load_studies(root: Path, settings: ArchiveSettings, report: BuildReport) -> list[Study]:
    """Valid records; the others are reported and skipped."""
    from builder.records.load import load_records

    records = load_records(root, settings)
    studies: list[Study] = []
    for result in records.records:
        if result.ok and result.study is not None:
            studies.append(result.study)
        else:
            report.studies_skipped.append(result.file)
    report.diagnostics.extend(records.diagnostics)
    report.studies_loaded = len(studies)
    return studies


# ---------------------------------------------------------------- stage 2: data

def inspect_study_images(
    studies: list[Study],
    settings: ArchiveSettings,
    root: Path,
    today: dt.date,
    cache_dir: Path,
    report: BuildReport,
    *,
    scheduler: str | None = None,
    progress: bool = True,
) -> dict[str, ImageFacts]:
    """Facts and thumbnails of the images of released studies only.

    Embargoed studies' images are not even read: nothing about them can leak,
    and their storage may not be public yet. Withdrawn studies need no data.
    """
    from builder.data.archive import archive_fallback, archived_image_facts
    from builder.data.inspection import ImageTarget, inspect_images

    released = [s for s in studies if data_is_public(s, today)]
    # Ingested images come from the archive's store: stored facts and thumbnails, no pixel data.
    archived = archived_image_facts(released, settings, root, cache_dir)
    facts: dict[str, ImageFacts] = {key: a.facts for key, a in archived.items() if a.current}
    targets = [
        ImageTarget(key=image_key(s.accession, d.name, img.name), url=img.url, kind=img.kind.value)
        for s in released
        for d, img in s.images()
        if image_key(s.accession, d.name, img.name) not in facts
    ]
    outcomes = inspect_images(
        targets, settings, root, thumbnails=True, cache_dir=cache_dir, scheduler=scheduler, progress=progress
    ) if targets else {}
    for key, outcome in outcomes.items():
        problems = getattr(outcome, "diagnostics", []) or []
        if outcome.facts is not None:
            facts[key] = outcome.facts
            report.diagnostics.extend(problems)
        elif key in archived:  # unreadable source, an earlier version archived: the site keeps that copy
            facts[key] = archived[key].facts
            report.diagnostics.append(archive_fallback(archived[key], problems))
        else:
            report.diagnostics.extend(problems)
            report.images_failed += 1
    report.images_read = len(facts)
    return facts


def study_histories(root: Path, studies: list[Study], settings: ArchiveSettings) -> dict[str, list[PastVersion]]:
    """Earlier versions from Git, when the archive is a Git repository."""
    from builder.catalog.history import version_history
    from builder.core.git import GitError

    if not (root / ".git").exists():
        return {}
    histories: dict[str, list[PastVersion]] = {}
    for study in studies:
        if study.version <= 1:
            continue  # nothing earlier to show
        try:
            histories[study.accession] = version_history(
                root, Path("studies") / study.accession / "study.yaml", settings=settings
            )
        except GitError:
            continue
    return histories


# ---------------------------------------------------------------- stages 4-6: pages, exports, site

# Generated from the model and the check registry (builder.site.pages.write_reference_pages).
REFERENCE_PAGES = ["reference/metadata/", "reference/checks/"]
# Study pages are rendered by the worker processes in chunks of about this
# many per worker, so that the workers finish close together.
CHUNKS_PER_WORKER = 12


@dataclass
class SiteJob:
    """What the worker processes of one build share. Workers are forked, so
    they inherit it (and the catalog) without copying or pickling it."""

    catalog: Catalog
    settings: ArchiveSettings
    env: Any
    docs_dir: Path
    cache_dir: Path | None
    history: dict[str, list[PastVersion]] | None
    images: dict[str, ImageFacts] | None
    catalog_json: str | None
    root: Path | None = None  # the archive (its store holds the content manifests the RO-Crates cite)
    # Page frames by the file they were pickled to, unpickled once per worker process.
    frames: dict[str, Frames] = field(default_factory=dict)
    # The catalog's studies by accession, made in a worker for its first earlier version (derived studies' sources).
    published: dict[str, CatalogStudy] | None = None

    def frames_from(self, frames_file: str) -> Frames:
        frames = self.frames.get(frames_file)
        if frames is None:
            frames = self.frames[frames_file] = pickle.loads(Path(frames_file).read_bytes())
        return frames


# The job of the build in progress, set by SiteWorkers for its lifetime. A
# module attribute because that is what a forked worker inherits for free: the
# tasks below receive only small arguments, never the catalog.
_INHERITED_JOB: SiteJob | None = None


def _job() -> SiteJob:
    if _INHERITED_JOB is None:  # pragma: no cover - a worker is always forked from a build that set it
        raise BuildFailed("a site worker started without its build")
    return _INHERITED_JOB


def _write_exports_task(out: Path, sitemap_pages: list[str]) -> None:
    from builder.site.exports import write_exports

    job = _job()
    # The folder is new and private until merged into the site: no file needs
    # a temporary name of its own. Study API documents come with the pages.
    write_exports(job.catalog, out, job.settings, extra_pages=sitemap_pages, atomic=False, studies=False)


def _write_downloads_task(root: Path, out: Path) -> None:
    from builder.site.downloads import write_download_manifests

    job = _job()
    write_download_manifests(job.catalog, job.settings, root, out)


def _write_image_tables_task(root: Path, out: Path) -> None:
    from builder.site.image_tables import write_image_tables

    write_image_tables(_job().catalog, root, out)


def _write_search_index_task(out: Path) -> None:
    job = _job()
    write_search_index(job.catalog, job.settings, out, thumbnail_url=ThumbnailStore(job.cache_dir).url)


def _write_catalog_json_task(out: Path) -> None:
    job = _job()
    write_catalog_json(job.catalog, out, job.catalog_json)


def _timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """fn(*args) and the CPU seconds it took in this process (the build reports them per stage)."""
    started = time.process_time()
    return fn(*args), time.process_time() - started


def _study_pages_task(start: int, stop: int, frames_file: str, site: Path) -> tuple[list[GeneratedPage], set[str]]:
    """Pages and API documents of catalog.studies[start:stop], written into the site; thumbnails linked.

    Returns the pages and the names of the thumbnails they use."""
    from builder.catalog.assembly import past_version_entry
    from builder.site.exports import study_api_json, study_api_path
    from builder.site.signposting import archived_manifest, write_study_metadata, write_version_metadata

    job = _job()
    frames = job.frames_from(frames_file)
    made: set[str] = set()

    def write_api(entry: Any) -> None:
        target = site / study_api_path(entry)
        if target.parent.as_posix() not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent.as_posix())
        api_json = study_api_json(entry, job.settings)
        with open(target, "w", encoding="utf-8", newline="") as fh:
            fh.write(api_json)
        write_study_metadata(site, entry, job.settings, api_json=api_json,
                             manifest=archived_manifest(entry, job.settings, job.root))
        history = (job.history or {}).get(entry.accession, [])
        if history and job.published is None:
            job.published = job.catalog.by_accession()
        pasts = [past_version_entry(entry, p, job.images or {}, job.settings, job.catalog.generated, job.published)
                 for p in history]
        write_version_metadata(site, entry, [p for p in pasts if p is not None], job.settings, job.root)

    result = render_site_pages(
        job.catalog, job.settings, docs_dir=job.docs_dir, env=job.env, cache_dir=job.cache_dir,
        history=job.history, images=job.images, site_pages=False, studies=job.catalog.studies[start:stop],
        framed=lambda page: frames.write(page, site), on_study=write_api,
    )
    result.thumbnails.copy_into(site)
    return result.pages, result.thumbnails.used


# Each worker ends up with a private copy of the memory pages of the catalog
# objects it reads (reference counts are writes), so the default stays small.
MAX_DEFAULT_WORKERS = 4


def default_workers() -> int:
    """One worker per core this process may run on (a container or CI runner may
    allow fewer than the machine has), at most MAX_DEFAULT_WORKERS."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, MAX_DEFAULT_WORKERS))


class SiteWorkers:
    """Worker processes that write the site's files: the exports, search index
    and catalog.json while this process runs MkDocs, then the study pages.

    Forked (they share the catalog without a copy); where fork is missing,
    every task runs here, one after the other. The build has frozen the
    catalog's objects out of the garbage collector's sight (gc.freeze) before
    the workers fork, so their collections do not scan (and copy) them.
    """

    def __init__(self, job: SiteJob, workers: int) -> None:
        global _INHERITED_JOB
        _INHERITED_JOB = job
        self.pool: ProcessPoolExecutor | None = None
        if "fork" in multiprocessing.get_all_start_methods() and workers > 0:
            self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
        self.workers = max(1, workers)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future:
        """Run fn(*args) in a worker; the future's result is (result, CPU seconds)."""
        if self.pool is not None:
            try:
                return self.pool.submit(_timed, fn, *args)
            except BrokenProcessPool as exc:  # a worker died (say, killed for memory) before this task
                raise BuildFailed(f"a worker process of the build stopped unexpectedly ({exc}); "
                                  "the machine may be out of memory") from None
        future: Future = Future()
        try:
            future.set_result(_timed(fn, *args))
        except BaseException as exc:  # noqa: BLE001 - raised by result(), like a pool's
            future.set_exception(exc)
        return future

    @staticmethod
    def result(future: Future, what: str | None = None) -> Any:
        """The task's result; its error as it was (``what`` None) or as a BuildFailed saying what failed."""
        try:
            return future.result()
        except BrokenProcessPool as exc:
            raise BuildFailed(f"a worker process of the build stopped unexpectedly ({exc}); "
                              "the machine may be out of memory") from None
        except Exception as exc:
            if what is None:
                raise
            raise BuildFailed(f"{what} failed: {type(exc).__name__}: {exc}") from exc

    def close(self, *, cancel: bool = False) -> None:
        global _INHERITED_JOB
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=cancel)
            self.pool = None
        # Without workers the tasks ran here: drop the job and its frames (`serve` builds again and again).
        _INHERITED_JOB = None


@dataclass
class BuildFolders:
    """The temporary folders of one site build; site_dir itself changes only at the swap."""

    staging: Path  # docs, theme overrides, mkdocs.yml and the pickled frames
    new_site: Path  # MkDocs writes here, then the study pages; swapped in at the end
    extra: Path  # exports, search index and catalog.json, written while MkDocs runs; merged at the end

    @classmethod
    def create(cls, site_dir: Path) -> BuildFolders:
        return cls(scratch_dir("bioarchive-staging-"), new_site_dir(site_dir), new_site_dir(site_dir, "extra"))

    @property
    def docs_dir(self) -> Path:
        return self.staging / "docs"

    @property
    def overrides_dir(self) -> Path:
        return self.staging / "overrides"


def _start_side_tasks(pool: SiteWorkers, root: Path, folders: BuildFolders) -> list[tuple[str, Future]]:
    """Exports, search index and catalog.json, in workers while this process renders and runs MkDocs."""
    job = _job()
    sitemap_pages = doc_pages(root / "docs") + entry_pages(job.catalog, job.settings) + REFERENCE_PAGES
    return [
        ("writing the exports", pool.submit(_write_exports_task, folders.extra, sitemap_pages)),
        ("writing the search index", pool.submit(_write_search_index_task, folders.extra)),
        ("writing catalog.json", pool.submit(_write_catalog_json_task, folders.extra)),
        ("writing the download manifests", pool.submit(_write_downloads_task, root, folders.extra)),
        ("writing the image tables", pool.submit(_write_image_tables_task, root, folders.extra)),
    ]


def _render_nav_pages(root: Path, search_path: list[Path], folders: BuildFolders) -> tuple[PagesResult, Frames]:
    """The pages in the nav into the docs folder, and one frame per kind of other page."""
    job = _job()
    stage_overrides(theme_search_path(root), folders.overrides_dir)
    write_reference_pages(folders.docs_dir, search_path, job.settings)
    result = render_site_pages(job.catalog, job.settings, docs_dir=folders.docs_dir, env=job.env,
                               cache_dir=job.cache_dir, history=job.history, images=job.images, studies=[])
    frames = Frames.for_pages(doc_pages(folders.docs_dir))
    for page in [*result.framed, *framed_study_pages(job.catalog, job.history)]:
        frames.need(frames.kind_of(page)[0])
    frames.write_docs(folders.docs_dir)
    return result, frames


def _run_mkdocs(base_config: Path, folders: BuildFolders, report: BuildReport) -> None:
    config = write_mkdocs_config(
        base_config=base_config, docs_dir=folders.docs_dir, site_dir=folders.new_site,
        custom_dir=folders.overrides_dir, settings=_job().settings, target=folders.staging / "mkdocs.yml",
    )
    mkdocs_run = run_mkdocs(config)
    report.timings["mkdocs_build"] = mkdocs_run.seconds
    report.mkdocs_warnings = mkdocs_run.warnings


def _write_study_pages(pool: SiteWorkers, result: PagesResult, frames: Frames, folders: BuildFolders,
                       report: BuildReport) -> None:
    """Study pages (in workers, in chunks) and the other framed pages into the new site; thumbnails linked."""
    studies = _job().catalog.studies
    site = folders.new_site
    frames.parse(site)
    frames_file = folders.staging / "frames.pickle"
    frames_file.write_bytes(pickle.dumps(frames, protocol=pickle.HIGHEST_PROTOCOL))
    size = max(1, -(-len(studies) // (pool.workers * CHUNKS_PER_WORKER)))
    chunks = [pool.submit(_study_pages_task, start, min(start + size, len(studies)), str(frames_file), site)
              for start in range(0, len(studies), size)]
    for page in result.framed:
        frames.write(page, site)
    result.thumbnails.copy_into(site)
    thumbnails = set(result.thumbnails.used)
    pages = list(result.pages)
    cpu = 0.0
    for chunk in chunks:
        (chunk_pages, used), seconds = pool.result(chunk)
        pages.extend(chunk_pages)
        thumbnails |= used
        cpu += seconds
    report.thumbnails = len(thumbnails)
    report.timings["studies_cpu"] = cpu
    report.pages = len(pages)


def _finish_side_tasks(pool: SiteWorkers, side_tasks: list[tuple[str, Future]], folders: BuildFolders,
                       report: BuildReport) -> None:
    """Wait for the exports, search index and catalog.json, then move them into the new site."""
    waited = time.perf_counter()
    for what, task in side_tasks:
        _, seconds = pool.result(task, what)
        report.timings[what.removeprefix("writing ").replace(" ", "_") + "_cpu"] = seconds
    # Time spent waiting for the exports once the pages were written (0 when they finished first).
    report.timings["exports_wait"] = time.perf_counter() - waited
    pool.close()
    # The exports' sitemap lists what the archive publishes; MkDocs' own goes.
    if (folders.extra / "sitemap.xml").exists():
        (folders.new_site / "sitemap.xml.gz").unlink(missing_ok=True)
    merge_into(folders.extra, folders.new_site)


def build_site_from_catalog(
    catalog: Catalog,
    settings: ArchiveSettings,
    root: Path,
    site_dir: Path,
    *,
    cache_dir: Path | None,
    history: dict[str, list[PastVersion]] | None = None,
    images: dict[str, ImageFacts] | None = None,
    template_dirs: list[Path] | None = None,
    report: BuildReport | None = None,
    progress: Progress | None = None,
    keep_staging: Path | None = None,
    catalog_json: str | None = None,
    workers: int | None = None,
) -> BuildReport:
    """Render, export, run MkDocs and swap the result into site_dir.

    Everything is written to temporary folders; site_dir changes only at the
    very end, and only if every step succeeded. ``catalog_json`` is
    ``catalog.to_json()`` when the caller has it already. ``workers`` is the
    number of worker processes (default: one per core).

    The order: worker processes start on the exports, the search index and
    catalog.json; this process renders the pages in the nav and one frame per
    kind of other page (builder/frames.py) and runs `mkdocs build` on them;
    then the workers render the study pages into the frames, in chunks, and
    write them straight into the new site with each study's API document.
    """
    report = report or BuildReport(site_dir=site_dir)
    progress = progress or Progress(None, report)
    base_config = mkdocs_config_for(root, MKDOCS_CONFIG)
    refuse_page_dependent_features(base_config)
    clear_interrupted_builds(site_dir)
    folders = BuildFolders.create(site_dir)
    pool: SiteWorkers | None = None
    # The catalog's millions of objects live until the build ends: keep them
    # out of the garbage collector's full scans (a third of the page rendering
    # time at 10,000 studies). Forked workers inherit them frozen.
    gc.freeze()
    try:
        search_path = template_search_path(root, template_dirs or [])
        # Hand-written pages go in first (generated pages of the same path replace them).
        copy_hand_written_docs(root / "docs", folders.docs_dir)
        job = SiteJob(catalog, settings, make_environment(search_path), folders.docs_dir, cache_dir, history, images,
                      catalog_json, root)
        pool = SiteWorkers(job, workers if workers is not None else default_workers())
        side_tasks = _start_side_tasks(pool, root, folders)
        with progress.stage("pages", "Rendering the site's pages and page frames"):
            result, frames = _render_nav_pages(root, search_path, folders)
        with progress.stage("mkdocs", "Running mkdocs build"):
            _run_mkdocs(base_config, folders, report)
            sanitise_hand_written_pages(root / "docs", folders.docs_dir, folders.new_site)  # raw HTML in docs/
        with progress.stage("studies", f"Writing the pages of {len(catalog.studies):,} studies"):
            _write_study_pages(pool, result, frames, folders, report)
            _finish_side_tasks(pool, side_tasks, folders, report)
        for warning in report.mkdocs_warnings:
            progress.say(f"[yellow]![/] mkdocs: {warning.removeprefix('WARNING').strip(' -')}")
        if keep_staging is not None:
            shutil.copytree(folders.staging, keep_staging, dirs_exist_ok=True)
        swap_in(folders.new_site, site_dir, delete_old_in_background=True)
    except BaseException:
        if pool is not None:
            pool.close(cancel=True)
        discard(folders.new_site)
        raise
    finally:
        # Rendering leaves garbage in reference cycles (Jinja's contexts) that
        # still points at the catalog; collected now, while the catalog is
        # frozen, it costs little, and the caller frees the catalog by
        # reference counting instead of a full collection (~4 s at 10,000).
        gc.collect()
        gc.unfreeze()
        discard(folders.staging)
        discard(folders.extra)
    report.published = len(catalog.listed_studies)
    report.withdrawn = catalog.stats.withdrawn
    return report


def write_catalog_json(catalog: Catalog, site: Path, catalog_json: str | None = None) -> None:
    """catalog.json (``catalog_json`` is ``catalog.to_json()`` when the caller has it)."""
    text = catalog_json if catalog_json is not None else catalog.to_json()
    (site / "catalog.json").write_text(text, encoding="utf-8")


def write_search_index(catalog: Catalog, settings: ArchiveSettings, site: Path, *,
                       thumbnail_url: Callable[[str], str | None] | None = None) -> None:
    """The catalog search page's prebuilt index and store (builder.site.search_index)."""
    from builder.site.search_index import build_search_index

    if thumbnail_url is None:
        index_json, store_json = build_search_index(catalog, settings)
    else:
        index_json, store_json = build_search_index(catalog, settings, thumbnail_url=thumbnail_url)
    for name, text in ((SEARCH_INDEX_FILE, index_json), (SEARCH_STORE_FILE, store_json)):
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text if isinstance(text, str) else json.dumps(text, separators=(",", ":")),
                        encoding="utf-8")


# ---------------------------------------------------------------- the whole pipeline

def build(
    root: Path,
    *,
    site_dir: Path | None = None,
    today: dt.date | None = None,
    scheduler: str | None = None,
    console: Console | None = None,
    history: bool = True,
    template_dirs: list[Path] | None = None,
    allow_invalid: bool = False,
    workers: int | None = None,
) -> BuildReport:
    """Build the archive at ``root`` into ``site_dir`` (default root/site).

    A record with errors stops the build before anything is written, unless
    ``allow_invalid``: a published study whose record broke (say, after a
    settings change) must not silently vanish from the live site. Previews
    (``bioarchive serve``) build the valid rest.
    """
    from builder.catalog.assembly import build_catalog

    root = root.resolve()
    settings = load_settings(root)
    site_dir = (site_dir or root / "site").resolve()
    today = today or dt.date.today()
    cache_dir = root / CACHE_FOLDER / "thumbnails"
    cache_dir.mkdir(parents=True, exist_ok=True)
    report = BuildReport(site_dir=site_dir)
    progress = Progress(console, report)

    with progress.stage("records", "Loading study records"):
        studies = load_studies(root, settings, report)
    if report.studies_skipped and not allow_invalid:
        raise InvalidRecords(report)
    if report.studies_skipped:
        progress.say(f"[yellow]![/] {len(report.studies_skipped)} record(s) with errors left out "
                     "(run `bioarchive validate` for details)")
    with progress.stage("data", "Reading image metadata and rendering thumbnails"):
        images = inspect_study_images(studies, settings, root, today, cache_dir, report,
                                      scheduler=scheduler, progress=console is not None)
    with progress.stage("catalog", "Gathering the catalog"):
        histories = study_histories(root, studies, settings) if history else {}
        from builder.catalog.registry import registry_facts

        extra = registry_facts(root, settings)  # DOIs and reuse counts; never raises
        for problem in extra.problems:
            progress.say(f"[yellow]![/] {problem}")
        catalog = build_catalog(studies, images, settings, today, history=histories, dois=extra.dois,
                                usage=extra.usage)
        catalog_json = catalog.to_json()  # serialised once: the site's catalog.json is the same text
        (root / CACHE_FOLDER / "catalog.json").write_text(catalog_json, encoding="utf-8")
    build_site_from_catalog(
        catalog, settings, root, site_dir, cache_dir=cache_dir, history=histories, images=images,
        template_dirs=template_dirs, report=report, progress=progress, catalog_json=catalog_json,
        workers=workers,
    )
    return report


__all__ = ["BuildFailed", "BuildReport", "InvalidRecords", "SiteBuildError", "build", "build_site_from_catalog",
           "write_search_index"]
