"""The pages stage: a Catalog -> generated pages in a staging docs folder.

Every generated page is one Markdown file holding only front matter: its
title and description, the theme template ``site_overrides/oia-page.html``,
search exclusion, and the page body (``oia_html``), rendered here with Jinja2
from templates/. The theme template prints the body as it is.

Why not put the body in the Markdown: Python-Markdown parses raw HTML with a
pure-Python HTML parser, ~10 ms for a 27 KB study body against ~1 ms for a
plain page, which at 10,000 studies would double the build. MkDocs reads
front matter with libyaml, ~0.2 ms for the same body; including it as a
template instead would cost a Jinja compile (~2 ms) per page.

Pages outside the nav (study pages, listings after their first page, browse
listings) are not given to MkDocs one by one: they become
:class:`~builder.site.frames.FramedPage` values that are put into frames MkDocs
renders once per kind of page (builder/frames.py).

Every value from a record is escaped by Jinja's autoescape; Markdown
descriptions go through :func:`render_markdown`, which sanitises with nh3.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shutil
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
import markdown as markdown_lib
import nh3
from markupsafe import Markup

from builder.catalog.assembly import FACETS, Catalog, CatalogStudy, FacetValue, PastVersion, past_version_entry
from builder.core.errors import StageError
from builder.core.markdown_budget import markdown_budget_problem
from builder.core.settings import ArchiveSettings
from builder.core.term_links import term_url
from builder.core.text import is_plain_markdown, json_for_script
from builder.model.image import ImageFacts
from builder.site.exports import citation_links, study_api_path
from builder.site.frames import DEFAULT_HIDE, FramedPage, front_matter, page_meta
from builder.site.signposting import head_links
from builder.site.templates import template_loader, template_search_path

THUMBNAIL_FOLDER = "thumbnails"
# Full image entries per study page, then compact rows, then a pointer to the
# study's JSON: a study page stays under 60 KB however many images it holds.
MAX_GALLERY_IMAGES = 8
MAX_LISTED_IMAGES = 30

# URL segment of each facet (catalog facet key -> browse/<segment>/).
FACET_SEGMENTS: dict[str, str] = {
    "organism": "organism",
    "imaging_method": "imaging-method",
    "biological_scale": "scale",
    "data_type": "data-type",
    "licence": "licence",
    "release_year": "year",
}
FACET_TITLES: dict[str, str] = {
    "organism": "Organism",
    "imaging_method": "Imaging method",
    "biological_scale": "Biological scale",
    "data_type": "Data type",
    "licence": "Licence",
    "release_year": "Release year",
}
assert set(FACET_SEGMENTS) == set(FACETS), "every catalog facet needs a browse URL"

# The catalog index's decoder, written next to the index (builder.site.search_index).
SEARCH_DECODER_SCRIPT = "search/catalog-index.js"

_SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


# ---------------------------------------------------------------- URLs and small formatters

def relative_url(target: str, base: str) -> str:
    """``target`` (a path from the site root) as a link from the page at ``base``.

    Both are site-root paths; directory URLs end with "/". Relative links keep
    the site working under any prefix (a GitHub Pages project path, file://).
    Plain string work, not posixpath: pages make tens of thousands of links.
    """
    if "://" in target or target.startswith(("#", "mailto:")):
        return target
    target_path, _, fragment = target.partition("#")
    base_parts = base.split("/")[:-1]  # the folders of the page ("a/b/" -> a, b; "a/f.html" -> a)
    target_parts = target_path.split("/")
    common = 0
    limit = min(len(base_parts), len(target_parts) - 1)
    while common < limit and base_parts[common] == target_parts[common]:
        common += 1
    rel = "../" * (len(base_parts) - common) + "/".join(target_parts[common:])
    if not rel:
        rel = "./"
    return rel + ("#" + fragment if fragment else "")


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
    return slug or "value"


def human_bytes(n: int | None) -> str:
    if not n:
        return "–"
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if size < 1000 or unit == "PB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.3g} {unit}"
        size /= 1000
    return f"{n} bytes"


UNIT_SYMBOLS = {
    "angstrom": "Å", "nanometer": "nm", "micrometer": "µm", "millimeter": "mm", "centimeter": "cm",
    "meter": "m", "picosecond": "ps", "nanosecond": "ns", "microsecond": "µs", "millisecond": "ms",
    "second": "s", "minute": "min", "hour": "h",
}


def unit_symbol(unit: str | None) -> str:
    return UNIT_SYMBOLS.get(unit or "", unit or "")


def format_number(value: float) -> str:
    return f"{value:.4g}"


def image_dimensions(facts: ImageFacts) -> str:
    """"x 512 × y 512 × z 30" in axis order, the way microscopists read shapes."""
    if facts.axes and len(facts.axes) == len(facts.shape):
        return " × ".join(f"{a.name} {n:,}" for a, n in zip(facts.axes, facts.shape, strict=True))
    return " × ".join(f"{n:,}" for n in facts.shape)


def pixel_size_text(facts: ImageFacts) -> str | None:
    sizes = facts.pixel_sizes
    if not sizes:
        return None
    parts = [f"{name} {format_number(scale)} {unit_symbol(unit)}".rstrip() for name, (scale, unit) in sizes.items()]
    return ", ".join(parts)


def time_step_text(facts: ImageFacts) -> str | None:
    for a in facts.axes:
        if a.type == "time" and a.scale is not None:
            return f"{format_number(a.scale)} {unit_symbol(a.unit)}".rstrip()
    return None


def safe_colour(colour: str | None) -> str | None:
    """A channel colour as CSS, only when it is plain RRGGBB hex."""
    if colour and re.fullmatch(r"[0-9A-Fa-f]{6}", colour):
        return "#" + colour.upper()
    return None


# ---------------------------------------------------------------- Markdown from records

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}
_ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}
_CLEANER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags={"script", "style", "iframe", "object", "embed", "noscript", "template", "svg", "math"},
    attributes=_ALLOWED_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    # Links in depositors' text are theirs, not the archive's endorsement.
    link_rel="nofollow ugc noopener",
    strip_comments=True,
)
# One converter for every description: building one costs more than converting.
_MARKDOWN = markdown_lib.Markdown(extensions=["tables", "fenced_code", "sane_lists"], output_format="html")
_HEADING = re.compile(r"<(/?)h([1-6])>")


# Prose Markdown renders as plain paragraphs, word for word (builder.catalog.assembly has
# the rules); a line ending in two spaces would be a line break.
_HARD_BREAK = re.compile(r" {2,}\n")
_BLANK_LINES = re.compile(r"\n\n+")
_SPACES_ONLY_LINE = re.compile(r"^ +$", re.MULTILINE)


def _is_plain_prose(text: str) -> bool:
    return is_plain_markdown(text) and _HARD_BREAK.search(text) is None


def _plain_paragraphs(text: str) -> str:
    """What Markdown and the sanitiser make of prose: one <p> per paragraph.

    Most descriptions are prose; rendering them through Markdown cost ~0.3 ms
    each. tests/site/test_pages.py checks that both ways give the same HTML.
    """
    # Markdown empties lines of spaces only, then drops the spaces that start a
    # paragraph, not those that end it.
    paragraphs = [part.strip("\n").lstrip(" ") for part in _BLANK_LINES.split(_SPACES_ONLY_LINE.sub("", text))]
    return "\n".join(f"<p>{para}</p>" for para in paragraphs if para)


def render_markdown(text: str | None, *, heading_offset: int = 2) -> Markup:
    """A depositor's Markdown as safe HTML: rendered, then sanitised by nh3.

    Headings move down ``heading_offset`` levels so a description's "# Intro"
    never competes with the page's own title and section headings.
    """
    if not text:
        return Markup("")
    if _is_plain_prose(text):
        return Markup(_plain_paragraphs(text))
    if markdown_budget_problem(text) is not None:
        # Validate refuses such a field (MOD029); a preview built with --allow-invalid shows
        # it as escaped text, since Markdown would recurse past the stack or take minutes.
        return Markup("<p>" + html.escape(text, quote=False).replace("\n", "<br>\n") + "</p>")
    rendered = _MARKDOWN.reset().convert(text)
    clean = _CLEANER.clean(rendered)
    if heading_offset:
        clean = _HEADING.sub(lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + heading_offset, 6)}>", clean)
    return Markup(clean)


# ---------------------------------------------------------------- the Jinja environment

def make_environment(search_path: list[Path]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=template_loader(search_path),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        markdown=render_markdown,
        human_bytes=human_bytes,
        term_url=term_url,
        unit_symbol=unit_symbol,
        dimensions=image_dimensions,
        pixel_sizes=pixel_size_text,
        time_step=time_step_text,
        colour=safe_colour,
        number=lambda n: f"{n:,}",
        isodate=lambda d: d.isoformat() if d else "",
        longdate=lambda d: f"{d.day} {d:%B %Y}" if d else "",
    )
    env.globals.update(facet_titles=FACET_TITLES, max_listed_images=MAX_LISTED_IMAGES)
    return env


# ---------------------------------------------------------------- thumbnails

@dataclass
class ThumbnailStore:
    """Thumbnails from the data stage's cache that the pages use.

    File names come from the cache, never from a record; they are still checked
    (plain names that exist) before they reach a page or the site.
    """

    cache_dir: Path | None
    folder: str = THUMBNAIL_FOLDER
    used: set[str] = field(default_factory=set)

    def url(self, name: str | None) -> str | None:
        if not name or self.cache_dir is None or not _SAFE_FILE_NAME.match(name):
            return None
        if name not in self.used:
            if not (self.cache_dir / name).is_file():
                return None
            self.used.add(name)
        return f"{self.folder}/{name}"

    def copy_into(self, site_dir: Path) -> int:
        if self.cache_dir is None or not self.used:
            return 0
        target = site_dir / self.folder
        target.mkdir(parents=True, exist_ok=True)
        for name in sorted(self.used):
            # A hard link costs no copy; the cache never rewrites a file in
            # place (names carry a content hash), so the site cannot change.
            try:
                os.link(self.cache_dir / name, target / name)
            except FileExistsError:
                continue  # another worker of the build linked it (same name, same bytes)
            except OSError:
                shutil.copyfile(self.cache_dir / name, target / name)
        return len(self.used)


# ---------------------------------------------------------------- facets

@dataclass
class FacetEntry:
    key: str
    value: FacetValue
    slug: str
    studies: list[CatalogStudy]

    @property
    def url_path(self) -> str:
        return f"browse/{FACET_SEGMENTS[self.key]}/{self.slug}/"


def facet_members(study: CatalogStudy) -> dict[str, list[str]]:
    """The facet values one study carries (the same rules as the catalog's counts)."""
    return {
        "organism": [t.id for t in study.organisms],
        "imaging_method": [t.id for t in study.imaging_methods],
        "biological_scale": list(study.scales),
        "data_type": [study.data_type],
        "licence": [study.licence.id],
        "release_year": [str(study.year)],
    }


def facet_entries(catalog: Catalog) -> dict[str, list[FacetEntry]]:
    members: dict[tuple[str, str], list[CatalogStudy]] = defaultdict(list)
    for study in catalog.listed_studies:
        for key, values in facet_members(study).items():
            for v in values:
                members[(key, v)].append(study)
    result: dict[str, list[FacetEntry]] = {}
    for key in FACETS:
        used: set[str] = set()
        entries = []
        for value in catalog.facets.get(key, []):
            value = FacetValue(*value)
            # Terms read best by label; licences by their SPDX id (names are long).
            slug = slugify(value.label if key in ("organism", "imaging_method") else value.value)
            if slug in used:  # two terms with one label: tell them apart by id
                slug = slugify(f"{value.label}-{value.value}")
            used.add(slug)
            entries.append(FacetEntry(key, value, slug, members.get((key, value.value), [])))
        result[key] = entries
    return result


# ---------------------------------------------------------------- writing pages

class PageError(StageError):
    """A generated page could not be rendered (the build stops; site/ is kept)."""


@dataclass
class GeneratedPage:
    url_path: str
    title: str
    body_bytes: int


class PageWriter:
    """Writes generated pages: pages in the nav as Markdown files of front
    matter carrying the body, for MkDocs; the others as framed pages, handed
    to ``framed`` (a list by default, or a function that writes them)."""

    def __init__(self, docs_dir: Path, framed: Any = None) -> None:
        self.docs_dir = docs_dir
        self.pages: list[GeneratedPage] = []
        self.framed_pages: list[FramedPage] = []
        self._framed = framed if framed is not None else self.framed_pages.append

    def write(
        self,
        url_path: str,
        body: str,
        *,
        title: str,
        description: str = "",
        hide: Iterable[str] = DEFAULT_HIDE,
        scripts: Iterable[str] = (),
        searchable: bool = False,
        in_nav: bool = True,
        image: str | None = None,
        head: str = "",
    ) -> None:
        # The theme prints title and description without escaping, so they are
        # escaped here (the body is HTML already, escaped as it was rendered).
        escaped_title, escaped_description = html.escape(title), html.escape(description)
        escaped_image = html.escape(image) if image else None
        if in_nav:
            md_file = self.docs_dir / url_path.strip("/") / "index.md"
            md_file.parent.mkdir(parents=True, exist_ok=True)
            meta = page_meta(title=escaped_title, description=escaped_description, hide=hide, scripts=scripts,
                             searchable=searchable, image=escaped_image, body=body, head=head)
            md_file.write_text(front_matter(meta), encoding="utf-8")
        else:
            self._framed(FramedPage(url_path, escaped_title, escaped_description, body, escaped_image,
                                    tuple(hide), tuple(scripts), head))
        self.pages.append(GeneratedPage(url_path, title, len(body.encode("utf-8"))))


@dataclass
class PagesResult:
    pages: list[GeneratedPage]
    thumbnails: ThumbnailStore
    framed: list[FramedPage] = field(default_factory=list)  # pages left for the frames (builder.site.frames)


def paginate(items: list, per_page: int) -> list[list]:
    per_page = max(1, per_page)
    return [items[i : i + per_page] for i in range(0, len(items), per_page)] or [[]]


def page_url(base: str, number: int) -> str:
    return base if number == 1 else f"{base}page/{number}/"


class SiteRenderer:
    """Renders every generated page of the catalog."""

    def __init__(
        self,
        catalog: Catalog,
        settings: ArchiveSettings,
        env: jinja2.Environment,
        writer: PageWriter,
        thumbnails: ThumbnailStore,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.env = env
        self.writer = writer
        self.thumbnails = thumbnails
        self.facets = facet_entries(catalog)
        self._card_cache: dict[tuple[str, str, str], Markup] = {}  # see templates/pages/listing.html
        self._published: dict[str, CatalogStudy] | None = None  # by accession, made for the first earlier version
        self._facet_url: dict[tuple[str, str], str] = {
            (key, e.value.value): e.url_path for key, entries in self.facets.items() for e in entries
        }

    # -- helpers the templates call

    def _context(self, url_path: str, **extra: Any) -> dict[str, Any]:
        def url(target: str) -> str:
            return relative_url(target, url_path)

        def thumb(name: str | None) -> str | None:
            found = self.thumbnails.url(name)
            return url(found) if found else None

        def facet_url(key: str, value: str) -> str | None:
            target = self._facet_url.get((key, str(value)))
            return url(target) if target else None

        def search_url(**params: str) -> str:
            return url("search/") + ("?" + urlencode(params) if params else "")

        return {
            "archive": self.catalog.archive,
            "settings": self.settings,
            "catalog": self.catalog,
            "page_path": url_path,
            "url": url,
            "thumb": thumb,
            "facet_url": facet_url,
            "search_url": search_url,
            "facet_segments": FACET_SEGMENTS,
            **extra,
        }

    def _render(self, template: str, url_path: str, **extra: Any) -> str:
        return self.env.get_template(template).render(self._context(url_path, **extra))

    # -- pages

    def render_all(self, history: dict[str, list[PastVersion]] | None = None,
                   images: dict[str, ImageFacts] | None = None, today: dt.date | None = None, *,
                   site_pages: bool = True, studies: Iterable[CatalogStudy] | None = None,
                   on_study: Callable[[CatalogStudy], None] | None = None) -> None:
        """Every page; or, for a build that shares the work between processes,
        the site pages (home, search, listings, browse) only if ``site_pages``
        and the pages of the given ``studies`` only (default: all).
        ``on_study`` is called with each study once its page is written."""
        if site_pages:
            self.home()
            self.search_page()
            self.all_studies()
            self.browse()
        for entry in self.catalog.studies if studies is None else studies:
            try:
                self.study(entry)
                if on_study is not None:
                    on_study(entry)
                for past in (history or {}).get(entry.accession, []):
                    self.past_version(entry, past, images or {}, today or self.catalog.generated)
            except Exception as exc:
                # The catalog, search and exports list this study: publishing
                # without its page would break them, so the build stops here.
                raise PageError(f"the page of {entry.accession} could not be rendered: "
                                f"{type(exc).__name__}: {exc}") from exc

    def home(self) -> None:
        newest = self.catalog.listed_studies[:10]  # two rows of five at desktop width
        body = self._render("pages/home.html", "", newest=newest, facets=self.facets)
        self.writer.write("", body, title=self.catalog.archive.name,
                          description=f"{self.catalog.archive.name}: open biological image data in OME-Zarr")

    def search_page(self) -> None:
        body = self._render("pages/search.html", "search/", facets=self.facets)
        self.writer.write("search/", body, title="Search the catalog",
                          description="Search every study by text, organism, imaging method and more.",
                          scripts=["assets/javascripts/vendor/lunr-2.3.9.min.js", SEARCH_DECODER_SCRIPT,
                                   "assets/javascripts/catalog-search.js"])

    def _listing(self, base: str, studies: list[CatalogStudy], *, title: str, heading: str,
                 intro: str = "", facet: FacetEntry | None = None) -> None:
        per_page = self.settings.facet_studies_per_page if facet is not None else self.settings.studies_per_page
        chunks = paginate(studies, per_page)
        for number, chunk in enumerate(chunks, start=1):
            url_path = page_url(base, number)
            pages = [(n, page_url(base, n)) for n in range(1, len(chunks) + 1)]
            body = self._render(
                "pages/listing.html", url_path, studies=chunk, heading=heading, intro=intro,
                page_number=number, pages=pages, total=len(studies), facet=facet,
                first_index=(number - 1) * per_page + 1, card_cache=self._card_cache,
            )
            page_title = title if number == 1 else f"{title} (page {number})"
            self.writer.write(url_path, body, title=page_title, description=intro or heading,
                              in_nav=number == 1 and facet is None)

    def all_studies(self) -> None:
        self._listing("studies/", self.catalog.listed_studies, title="All studies", heading="All studies",
                      intro="Every released study, newest first.")

    def browse(self) -> None:
        body = self._render("pages/browse.html", "browse/", facets=self.facets)
        self.writer.write("browse/", body, title="Browse", description="Browse the studies by facet.")
        for key, entries in self.facets.items():
            base = f"browse/{FACET_SEGMENTS[key]}/"
            body = self._render("pages/facet.html", base, key=key, entries=entries)
            self.writer.write(base, body, title=f"By {FACET_TITLES[key].lower()}",
                              description=f"Studies by {FACET_TITLES[key].lower()}.")
            for e in entries:
                self._listing(e.url_path, e.studies, title=f"{FACET_TITLES[key]}: {e.value.label}",
                              heading=e.value.label, facet=e)

    def study(self, entry: CatalogStudy, *, past: PastVersion | None = None, url_path: str | None = None) -> None:
        """The landing page of a study (or of an earlier version, at ``url_path``)."""
        url_path = url_path or entry.url_path
        template = "pages/tombstone.html" if entry.withdrawn else "pages/study.html"
        gallery = entry.images[:MAX_GALLERY_IMAGES]
        more = entry.images[MAX_GALLERY_IMAGES:]
        body = self._render(
            template, url_path, entry=entry, study=entry.study, gallery=gallery, more_images=more,
            jsonld=self._jsonld(entry), past=past, current_url=entry.url_path,
            citation_links=citation_links(entry.accession), api_path=study_api_path(entry),
        )
        title = f"{entry.study.title} ({entry.accession})"
        if past is not None:
            title = f"{entry.study.title} ({entry.accession}, version {past.version})"
        card = self.thumbnails.url(entry.card_thumbnail)
        site = self.settings.site_url if self.settings.site_url.endswith("/") else self.settings.site_url + "/"
        self.writer.write(url_path, body, title=title, description=entry.summary, in_nav=False,
                          image=site + card if card else None,
                          head=head_links(entry, self.settings, version=None if past is None else past.version))

    def past_version(self, current: CatalogStudy, past: PastVersion, images: dict[str, ImageFacts],
                     today: dt.date) -> None:
        """An earlier published version at its own URL, marked as superseded."""
        if self._published is None:
            self._published = self.catalog.by_accession()
        entry = past_version_entry(current, past, images, self.settings, today, self._published)
        if entry is not None:
            self.study(entry, past=past, url_path=f"{current.url_path}v{past.version}/")

    def _jsonld(self, entry: CatalogStudy) -> str:
        from builder.catalog.citation import to_jsonld

        data = to_jsonld(entry, self.settings)
        # One DataDownload per image would outgrow the page for large screens;
        # the full list is in the study's JSON (api/studies/<ACC>.json).
        if isinstance(data.get("distribution"), list):
            data["distribution"] = data["distribution"][:MAX_GALLERY_IMAGES]
        return json_for_script(data)


def render_site_pages(
    catalog: Catalog,
    settings: ArchiveSettings,
    *,
    docs_dir: Path,
    env: jinja2.Environment,
    cache_dir: Path | None,
    history: dict[str, list[PastVersion]] | None = None,
    images: dict[str, ImageFacts] | None = None,
    site_pages: bool = True,
    studies: Iterable[CatalogStudy] | None = None,
    framed: Callable[[FramedPage], object] | None = None,
    on_study: Callable[[CatalogStudy], None] | None = None,
) -> PagesResult:
    """Render the pages: those in the nav into docs_dir, the others to
    ``framed`` (default: returned in the result). ``site_pages`` and
    ``studies`` select a share of them (see :meth:`SiteRenderer.render_all`)."""
    writer = PageWriter(docs_dir, framed)
    thumbnails = ThumbnailStore(cache_dir)
    renderer = SiteRenderer(catalog, settings, env, writer, thumbnails)
    renderer.render_all(history=history, images=images, today=catalog.generated, site_pages=site_pages,
                        studies=studies, on_study=on_study)
    return PagesResult(pages=writer.pages, thumbnails=thumbnails, framed=writer.framed_pages)


def framed_study_pages(catalog: Catalog, history: dict[str, list[PastVersion]] | None = None) -> list[FramedPage]:
    """A stand-in for every kind of study page the build will frame (path, with and without an image).

    The frames are made before the study pages are rendered, so their kinds
    are known from the paths alone (the scripts and hidden parts of study
    pages are the same for every study).
    """
    shapes: dict[tuple[int, str], str] = {}
    for entry in catalog.studies:
        shapes.setdefault((1, entry.url_path.split("/", 1)[0]), entry.url_path)
        for past in (history or {}).get(entry.accession, []):
            shapes.setdefault((2, entry.url_path.split("/", 1)[0]), f"{entry.url_path}v{past.version}/")
    return [FramedPage(path, "", description, "", image)
            for path in shapes.values() for image in (None, "x") for description in ("", "x")]


# ---------------------------------------------------------------- generated reference pages

def _schema_type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in prop:
        return prop["$ref"].rsplit("/", 1)[-1]
    if "enum" in prop:
        return "one of: " + ", ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    if "anyOf" in prop:
        parts = [_schema_type(p, defs) for p in prop["anyOf"] if p.get("type") != "null"]
        text = " or ".join(parts)
        return text + (" or null" if any(p.get("type") == "null" for p in prop["anyOf"]) else "")
    if "allOf" in prop and len(prop["allOf"]) == 1:
        return _schema_type(prop["allOf"][0], defs)
    kind = prop.get("type")
    if kind == "array":
        return "list of " + _schema_type(prop.get("items", {}), defs)
    if kind == "string" and prop.get("format"):
        return f"string ({prop['format']})"
    return kind or "any"


def _cell(text: Any) -> str:
    """Text safe inside a Markdown table cell."""
    value = html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")
    return value


def metadata_reference_context() -> dict[str, Any]:
    """Every model of the record with its fields, from the model's JSON schema."""
    from builder.model.study import Study

    schema = Study.model_json_schema()
    defs = schema.get("$defs", {})
    order: list[str] = []

    def visit(name: str, node: dict[str, Any]) -> None:
        if name in order:
            return
        order.append(name)
        for prop in node.get("properties", {}).values():
            for ref in re.findall(r'"\$ref":\s*"#/\$defs/([^"]+)"', json.dumps(prop)):
                if ref in defs:
                    visit(ref, defs[ref])

    visit("Study", schema)
    models = []
    for name in order:
        node = schema if name == "Study" else defs[name]
        if "properties" not in node:
            continue
        required = set(node.get("required", []))
        fields = []
        for field_name, prop in node["properties"].items():
            examples = prop.get("examples") or []
            example = examples[0] if examples else prop.get("default")
            fields.append({
                "name": field_name,
                "type": _cell(_schema_type(prop, defs)),
                "required": field_name in required,
                "description": _cell(prop.get("description", "")),
                "example": "" if example in (None, [], {}) else _cell(json.dumps(example, ensure_ascii=False)),
            })
        models.append({"name": name, "anchor": slugify(name), "description": _cell(node.get("description", "")),
                       "fields": fields})
    enums = [
        {"name": name, "values": node["enum"], "description": _cell(node.get("description", ""))}
        for name, node in defs.items() if "enum" in node
    ]
    return {"models": models, "enums": enums}


def checks_context() -> dict[str, Any]:
    from builder.core.checks import all_checks

    checks = all_checks()
    areas: dict[str, list] = defaultdict(list)
    for c in checks:
        areas[c.area].append({"id": c.id, "severity": c.severity.value, "title": _cell(c.title),
                              "fix": _cell(c.fix)})
    return {"areas": dict(areas), "count": len(checks)}


def write_reference_pages(docs_dir: Path, search_path: list[Path], settings: ArchiveSettings) -> list[Path]:
    """Markdown pages generated from the model and the check registry."""
    # Markdown output: autoescape off, values are escaped per cell by _cell().
    env = jinja2.Environment(loader=template_loader(search_path),
                             autoescape=False, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    from builder.model.study import SCHEMA_VERSION

    written = []
    for template, target, context in (
        ("reference/metadata.md", "reference/metadata.md",
         {**metadata_reference_context(), "schema_version": SCHEMA_VERSION, "settings": settings}),
        ("reference/checks.md", "reference/checks.md", checks_context()),
    ):
        path = docs_dir / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(env.get_template(template).render(context), encoding="utf-8")
        written.append(path)
    return written


def doc_pages(docs_folder: Path) -> list[str]:
    """Site paths of the hand-written pages."""
    pages = []
    for md in sorted(docs_folder.rglob("*.md")) if docs_folder.is_dir() else []:
        rel = md.relative_to(docs_folder).as_posix()
        pages.append(rel[: -len("index.md")] if rel.endswith("index.md") else rel[: -len(".md")] + "/")
    return pages


def entry_pages(catalog: Catalog, settings: ArchiveSettings) -> list[str]:
    """Site paths of the generated pages besides study pages, for the sitemap: every page of every listing."""
    pages = ["", "search/", "browse/"]
    pages.extend(page_url("studies/", n) for n in range(1, len(paginate(catalog.listed_studies,
                                                                         settings.studies_per_page)) + 1))
    for key, entries in facet_entries(catalog).items():
        pages.append(f"browse/{FACET_SEGMENTS[key]}/")
        for e in entries:
            count = len(paginate(e.studies, settings.facet_studies_per_page))
            pages.extend(page_url(e.url_path, n) for n in range(1, count + 1))
    return pages


def copy_hand_written_docs(source: Path, docs_dir: Path) -> None:
    """Hand-written pages go in first; generated pages of the same path replace them."""
    if source.is_dir():
        shutil.copytree(source, docs_dir, dirs_exist_ok=True)


__all__ = [
    "FACET_SEGMENTS", "PageWriter", "PagesResult", "SiteRenderer", "ThumbnailStore",
    "copy_hand_written_docs", "doc_pages", "entry_pages", "facet_entries", "framed_study_pages", "front_matter",
    "human_bytes", "json_for_script",
    "make_environment", "relative_url", "render_markdown", "render_site_pages", "template_search_path",
    "term_url", "write_reference_pages",
]
