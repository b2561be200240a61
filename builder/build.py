"""`bioarchive build`: the whole pipeline from studies/ to site/.

records -> data (image facts and thumbnails, cached in .cache/) -> catalog
(also written as catalog.json) -> pages (templates/ rendered into a staging
docs folder, next to a copy of docs/) -> exports and search index -> `mkdocs
build` into a fresh folder -> swap into site/.

Records with errors are reported and left out; the build goes on. Anything
else that fails (a template, MkDocs, an export) stops the build before the
swap, so site/ always holds the last complete site.
"""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import shutil
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from builder.catalog import Catalog, PastVersion
from builder.checks import Diagnostic, Severity
from builder.model.image import ImageFacts
from builder.model.study import Study
from builder.pages import (
    GeneratedPage,
    PageError,
    ThumbnailStore,
    copy_hand_written_docs,
    doc_pages,
    entry_pages,
    make_environment,
    render_site_pages,
    template_search_path,
    write_reference_pages,
)
from builder.settings import ArchiveSettings, load_settings
from builder.site import (
    MKDOCS_CONFIG,
    SiteBuildError,
    discard,
    merge_into,
    new_site_dir,
    overrides_search_path,
    run_mkdocs,
    scratch_dir,
    stage_overrides,
    swap_in,
    write_mkdocs_config,
)

CACHE_FOLDER = ".cache"
SEARCH_INDEX_FILE = "search/catalog-index.json"
SEARCH_STORE_FILE = "search/catalog-store.json"


class BuildFailed(RuntimeError):
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


class InvalidRecords(Exception):
    """Records with errors stopped the build; nothing was written."""

    def __init__(self, report: BuildReport) -> None:
        self.report = report
        super().__init__(f"{len(report.studies_skipped)} record(s) have errors: " + ", ".join(report.studies_skipped))


# ---------------------------------------------------------------- stage 1: records

def load_studies(root: Path, settings: ArchiveSettings, report: BuildReport) -> list[Study]:
    """Valid records; the others are reported and skipped."""
    from builder.records import load_records

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
    from builder.data import ImageTarget, inspect_images

    targets = [
        ImageTarget(key=f"{s.accession}/{d.name}/{img.name}", url=img.url, kind=img.kind.value)
        for s in studies
        if s.is_released(today) and s.status.value != "withdrawn"
        for d, img in s.images()
    ]
    if not targets:
        return {}
    outcomes = inspect_images(
        targets, settings, root, thumbnails=True, cache_dir=cache_dir, scheduler=scheduler, progress=progress
    )
    facts: dict[str, ImageFacts] = {}
    for key, outcome in outcomes.items():
        report.diagnostics.extend(getattr(outcome, "diagnostics", []) or [])
        if outcome.facts is not None:
            facts[key] = outcome.facts
        else:
            report.images_failed += 1
    report.images_read = len(facts)
    return facts


def study_histories(root: Path, studies: list[Study], settings: ArchiveSettings) -> dict[str, list[PastVersion]]:
    """Earlier versions from Git, when the archive is a Git repository."""
    from builder.gitops import GitError
    from builder.history import version_history

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

# Generated from the model and the check registry (builder.pages.write_reference_pages).
REFERENCE_PAGES = ["reference/metadata/", "reference/checks/"]


# The share of the study pages the child process renders before it writes the
# exports, while this process renders the rest and the listing pages (listing
# pages cost about a fifth of the study pages in all). The child finishes its
# share first and starts on the exports, which then run alongside MkDocs: at
# 0.58 (pages done at the same time) the exports still ran 5-15 s past MkDocs
# at 10,000 studies, so this process takes more of the pages.
CHILD_PAGE_SHARE = 0.45


class SiteDataJob:
    """write_site_data() in a forked child process, or in a thread where fork is missing.

    Forked, the child shares the catalog with this process without copying or
    pickling it, and runs on another core than the page rendering (Python
    threads would take turns on one). Given ``render_pages``, the forked
    child first renders its share of the pages and sends what it wrote back
    through a pipe (:meth:`pages_result`), then writes the exports while
    MkDocs runs here. Without fork, this process renders every page.
    """

    def __init__(self, process: Any, thread: Any, error_file: Path, pages_conn: Any = None) -> None:
        self.process = process
        self.thread = thread
        self.error_file = error_file
        self.pages_conn = pages_conn

    @property
    def renders_pages(self) -> bool:
        return self.pages_conn is not None

    @classmethod
    def start(cls, catalog: Catalog, settings: ArchiveSettings, out: Path, *, cache_dir: Path | None,
              sitemap_pages: list[str], error_file: Path,
              render_pages: Callable[[], Any] | None = None) -> SiteDataJob:
        # Imported here, not in the child: a fork copies only this thread, and an
        # import lock another thread held at that moment would never be released.
        import builder.exports
        import builder.search_index  # noqa: F401

        def work() -> None:
            # The folder is new and private until merged into the site: no
            # file needs a temporary name of its own.
            # The search index and catalog.json are written by the parent while MkDocs runs (see below).
            write_site_data(catalog, settings, out, thumbnail_url=ThumbnailStore(cache_dir).url,
                            extra_pages=sitemap_pages, atomic=False, search_index=False, catalog_file=False)

        if "fork" in multiprocessing.get_all_start_methods():
            context = multiprocessing.get_context("fork")
            receiver = sender = None
            if render_pages is not None:
                receiver, sender = context.Pipe(duplex=False)
            process = context.Process(
                target=_run_in_child, args=(work, error_file, render_pages, sender),
                name="bioarchive-site-data", daemon=True)
            process.start()
            if sender is not None:
                sender.close()  # the child holds the sending end; EOF here means it stopped
            return cls(process, None, error_file, receiver)
        pool = ThreadPoolExecutor(max_workers=1)
        future = pool.submit(work)
        pool.shutdown(wait=False)
        return cls(None, future, error_file)

    def pages_result(self) -> Any:
        """What the child's ``render_pages`` returned, once it has rendered its share."""
        try:
            kind, payload = self.pages_conn.recv()
        except EOFError:
            self.wait()  # raises BuildFailed with the child's traceback
            raise BuildFailed("the child process stopped before it rendered its pages") from None
        finally:
            self.pages_conn.close()
        if kind == "page-error":
            raise PageError(payload)
        return payload

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.result()
            return
        self.process.join()
        if self.process.exitcode != 0:
            detail = self.error_file.read_text() if self.error_file.exists() else f"exit code {self.process.exitcode}"
            raise BuildFailed(f"writing the exports and the search index failed:\n{detail}")

    def stop(self) -> None:
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(timeout=10)


def _run_in_child(work: Callable[[], None], error_file: Path, render_pages: Callable[[], Any] | None = None,
                  conn: Any = None) -> None:
    try:
        if render_pages is not None:
            try:
                result = render_pages()
            except PageError as exc:  # the parent raises it as its own
                conn.send(("page-error", str(exc)))
                os._exit(1)
            conn.send(("pages", result))
            conn.close()
        work()
    except BaseException:  # noqa: BLE001 - reported to the parent, which stops the build
        error_file.write_text(traceback.format_exc(), encoding="utf-8")
        os._exit(1)
    os._exit(0)  # skip the parent's atexit handlers and buffered output: they are not ours


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
) -> BuildReport:
    """Render, export, run MkDocs and swap the result into site_dir.

    Everything is written to temporary folders; site_dir changes only at the
    very end, and only if every step succeeded. ``catalog_json`` is
    ``catalog.to_json()`` when the caller has it already.
    """
    report = report or BuildReport(site_dir=site_dir)
    progress = progress or Progress(None, report)
    base_config = root / MKDOCS_CONFIG
    if not base_config.is_file():
        from builder.pages import DEFAULT_TEMPLATES

        base_config = DEFAULT_TEMPLATES.parent / MKDOCS_CONFIG
    staging = scratch_dir("bioarchive-staging-")
    new_site = new_site_dir(site_dir)
    # Exports, search index and thumbnails go to a folder of their own, written
    # by a child process while this one renders the pages and MkDocs runs (the
    # machine's cores work at once), and are moved into the new site at the end.
    extra = new_site_dir(site_dir, "extra")
    site_data: SiteDataJob | None = None
    try:
        docs_dir = staging / "docs"
        overrides_dir = staging / "overrides"
        search_path = template_search_path(root, template_dirs or [])
        # Hand-written pages go in first (generated pages of the same path replace them).
        copy_hand_written_docs(root / "docs", docs_dir)
        env = make_environment(search_path)
        split = round(len(catalog.studies) * (1 - CHILD_PAGE_SHARE))
        child_studies = catalog.studies[split:]

        def child_pages() -> tuple[list[GeneratedPage], set[str]]:
            shared = render_site_pages(catalog, settings, docs_dir=docs_dir, env=env, cache_dir=cache_dir,
                                       history=history, images=images, site_pages=False, studies=child_studies)
            return shared.pages, shared.thumbnails.used

        site_data = SiteDataJob.start(
            catalog, settings, extra, cache_dir=cache_dir,
            sitemap_pages=doc_pages(root / "docs") + entry_pages(catalog) + REFERENCE_PAGES,
            error_file=staging / "site-data-error.txt",
            render_pages=child_pages if child_studies else None,
        )
        with progress.stage("pages", f"Rendering pages of {len(catalog.studies):,} studies"):
            stage_overrides(overrides_search_path(root), overrides_dir)
            write_reference_pages(docs_dir, search_path, settings)
            result = render_site_pages(
                catalog, settings, docs_dir=docs_dir, env=env,
                cache_dir=cache_dir, history=history, images=images,
                studies=catalog.studies[:split] if site_data.renders_pages else None,
            )
            if site_data.renders_pages:
                # Time this process waited for the child's share (0: the split is balanced or leans on us).
                waited = time.perf_counter()
                pages, used = site_data.pages_result()
                report.timings["pages_wait"] = time.perf_counter() - waited
                result.pages.extend(pages)
                result.thumbnails.used |= used
            report.pages = len(result.pages)
        config = write_mkdocs_config(
            base_config=base_config, docs_dir=docs_dir, site_dir=new_site, custom_dir=overrides_dir,
            settings=settings, target=staging / "mkdocs.yml",
        )
        with progress.stage("mkdocs", "Running mkdocs build (exports and search index alongside)"):
            with ThreadPoolExecutor(max_workers=3) as pool:
                # Linking thumbnails is disk work: it overlaps MkDocs too. So
                # does the search index: this process only waits for MkDocs,
                # and the index would otherwise lengthen the child's exports,
                # which take longer than MkDocs.
                thumbnails = pool.submit(result.thumbnails.copy_into, extra)
                # So is catalog.json, when the caller has not serialised it
                # already: the child's exports are the last to finish.
                index = pool.submit(write_search_index, catalog, settings, extra,
                                    thumbnail_url=ThumbnailStore(cache_dir).url)
                catalog_file = pool.submit(write_catalog_json, catalog, extra, catalog_json)
                mkdocs_run = run_mkdocs(config)
                report.thumbnails = thumbnails.result()
                index.result()
                catalog_file.result()
            report.timings["mkdocs_build"] = mkdocs_run.seconds
            waited = time.perf_counter()
            site_data.wait()
            # Time spent waiting for the exports after MkDocs was done (0 when they finished first).
            report.timings["exports_wait"] = time.perf_counter() - waited
            report.mkdocs_warnings = mkdocs_run.warnings
            # The exports' sitemap lists what the archive publishes; MkDocs' own goes.
            if (extra / "sitemap.xml").exists():
                (new_site / "sitemap.xml.gz").unlink(missing_ok=True)
            merge_into(extra, new_site)
        for warning in report.mkdocs_warnings:
            progress.say(f"[yellow]![/] mkdocs: {warning.removeprefix('WARNING').strip(' -')}")
        if keep_staging is not None:
            shutil.copytree(staging, keep_staging, dirs_exist_ok=True)
        swap_in(new_site, site_dir, delete_old_in_background=True)
    except BaseException:
        if site_data is not None:
            site_data.stop()
        discard(new_site)
        raise
    finally:
        discard(staging)
        discard(extra)
    report.published = len(catalog.listed_studies)
    report.withdrawn = catalog.stats.withdrawn
    return report


def write_site_data(catalog: Catalog, settings: ArchiveSettings, site: Path, *,
                    thumbnail_url: Callable[[str], str | None] | None = None,
                    extra_pages: list[str] = (), atomic: bool = True, search_index: bool = True,
                    catalog_file: bool = True, catalog_json: str | None = None) -> None:
    """Files next to the pages: exports, the catalog search index, catalog.json.

    Written into their own folder, never through MkDocs: it would copy them
    once more, and its sitemap.xml would replace the exports' one. The build
    passes ``atomic=False`` (its folder is private until moved in whole),
    ``search_index=False`` and ``catalog_file=False`` (it calls
    :func:`write_search_index` and :func:`write_catalog_json` in another
    process).
    """
    from builder.exports import write_exports

    write_exports(catalog, site, settings, extra_pages=extra_pages, atomic=atomic)
    if search_index:
        write_search_index(catalog, settings, site, thumbnail_url=thumbnail_url)
    if catalog_file:
        write_catalog_json(catalog, site, catalog_json)


def write_catalog_json(catalog: Catalog, site: Path, catalog_json: str | None = None) -> None:
    """catalog.json (``catalog_json`` is ``catalog.to_json()`` when the caller has it)."""
    text = catalog_json if catalog_json is not None else catalog.to_json()
    (site / "catalog.json").write_text(text, encoding="utf-8")


def write_search_index(catalog: Catalog, settings: ArchiveSettings, site: Path, *,
                       thumbnail_url: Callable[[str], str | None] | None = None) -> None:
    """The catalog search page's prebuilt index and store (builder.search_index)."""
    from builder.search_index import build_search_index

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
) -> BuildReport:
    """Build the archive at ``root`` into ``site_dir`` (default root/site).

    A record with errors stops the build before anything is written, unless
    ``allow_invalid``: a published study whose record broke (say, after a
    settings change) must not silently vanish from the live site. Previews
    (``bioarchive serve``) build the valid rest.
    """
    from builder.catalog import build_catalog

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
        catalog = build_catalog(studies, images, settings, today, history=histories)
        catalog_json = catalog.to_json()  # serialised once: the site's catalog.json is the same text
        (root / CACHE_FOLDER / "catalog.json").write_text(catalog_json, encoding="utf-8")
    build_site_from_catalog(
        catalog, settings, root, site_dir, cache_dir=cache_dir, history=histories, images=images,
        template_dirs=template_dirs, report=report, progress=progress, catalog_json=catalog_json,
    )
    return report


__all__ = ["BuildFailed", "BuildReport", "InvalidRecords", "SiteBuildError", "build", "build_site_from_catalog", "write_search_index",
           "write_site_data"]
