"""How to cite a study, in every format reference managers and indexers read.

Pure functions of a :class:`~builder.catalog.model.CatalogStudy` and the archive
settings. Every value from a record is untrusted; each format escapes it in
its own way:

- plain text: control characters removed, whitespace collapsed (the page
  template HTML-escapes it);
- BibTeX: LaTeX specials and braces replaced by commands (see
  ``BIBTEX_ESCAPES``), and the word "and" in names braced so a name cannot
  turn into two authors;
- RIS: one value per line, so line breaks become spaces;
- CSL-JSON, DataCite JSON, JSON-LD: JSON encoding; the JSON-LD ``<script>``
  additionally escapes ``<``, ``>`` and ``&`` so ``</script>`` cannot end it;
- CFF: written by PyYAML's safe dumper;
- DataCite XML: written by lxml (which escapes), after removing characters
  XML 1.0 cannot carry at all.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import idutils
import yaml
from datacite import schema45

from builder.catalog.model import CatalogStudy
from builder.core.settings import ArchiveSettings
from builder.core.term_links import term_url
from builder.core.text import clean, initials, json_for_script, markdown_to_text, one_line, split_name, truncate_text

DATACITE_SCHEMA_VERSION = "http://datacite.org/schema/kernel-4"
BIOSCHEMAS_DATASET_PROFILE = "https://bioschemas.org/profiles/Dataset/1.0-RELEASE"
DCT_CONFORMS_TO = "http://purl.org/dc/terms/conformsTo"
APA_MAX_AUTHORS = 20
JSONLD_MAX_DISTRIBUTIONS = 100


# ---------------------------------------------------------------- identifiers


@functools.lru_cache(maxsize=4096)
def orcid_url(orcid: str | None) -> str | None:
    return idutils.to_url(orcid, "orcid", url_scheme="https") if orcid else None


def doi_url(doi: str) -> str:
    """The resolver URL of a DOI; characters URLs cannot carry are percent-encoded."""
    return idutils.to_url(quote(doi, safe="/:;()._-"), "doi", url_scheme="https")


def pubmed_url(pmid: str) -> str:
    return idutils.to_url(pmid, "pmid", url_scheme="https")


def _safe_url(url: str) -> str:
    """A URL with characters that are special in BibTeX, RIS or YAML percent-encoded."""
    return quote(url, safe=":/?&=%#~-._+@!$'()*,;")


def _authors(cs: CatalogStudy) -> list[tuple[str, str]]:
    return [split_name(a.name) for a in cs.study.authors]


def _publisher(settings: ArchiveSettings) -> str:
    return one_line(settings.publisher or settings.name)


# ---------------------------------------------------------------- plain text


def citation_text(cs: CatalogStudy, settings: ArchiveSettings) -> str:
    """APA-style data citation, plain text on one line (escape it for HTML).

    Lovelace, A., & Babbage, C. (2025). Title (Version 2) [Data set].
    Open Image Archive. OIA-000001. https://.../studies/OIA-000001/
    """
    names = []
    for given, family in _authors(cs):
        short = initials(given)
        names.append(f"{family}, {short}" if short else family)
    if len(names) > APA_MAX_AUTHORS:
        # APA 7: the first 19, an ellipsis, then the last author.
        author_text = ", ".join(names[: APA_MAX_AUTHORS - 1]) + ", … " + names[-1]
    elif len(names) == 1:
        author_text = names[0]
    elif len(names) == 2:
        author_text = f"{names[0]}, & {names[1]}"
    else:
        author_text = ", ".join(names[:-1]) + ", & " + names[-1]
    title = one_line(cs.study.title).rstrip(".")
    return (
        f"{author_text} ({cs.year}). {title} (Version {cs.version}) [Data set]. "
        f"{_publisher(settings)}. {cs.accession}. {doi_url(cs.doi) if cs.doi else cs.url}"
    )


# ---------------------------------------------------------------- BibTeX

# Applied character by character, so replacements are never re-escaped. Braces
# become commands rather than "\{": BibTeX counts every brace, escaped or not,
# so a lone "\{" from a record would unbalance the entry.
BIBTEX_ESCAPES: dict[str, str] = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


_BIBTEX_TABLE = str.maketrans(BIBTEX_ESCAPES)  # one pass in C, same as char by char


def bibtex_escape(text: str) -> str:
    return one_line(text).translate(_BIBTEX_TABLE)


def _bibtex_name_part(text: str) -> str:
    # " and " separates names and "," separates name parts; brace both so
    # they stay part of this one name.
    escaped = bibtex_escape(text).replace(",", "{,}")
    return re.sub(r"\b(and)\b", r"{\1}", escaped, flags=re.IGNORECASE)


def bibtex_key(accession: str) -> str:
    return re.sub(r"[^A-Za-z0-9_:.\-]", "_", accession) or "study"


def to_bibtex(cs: CatalogStudy, settings: ArchiveSettings) -> str:
    """A BibTeX @misc entry (biblatex reads the same fields)."""
    authors = " and ".join(
        f"{_bibtex_name_part(family)}, {_bibtex_name_part(given)}" if given else _bibtex_name_part(family)
        for given, family in _authors(cs)
    )
    fields: list[tuple[str, str]] = [
        ("author", authors),
        # Double braces keep the title's capitalisation in every style.
        ("title", "{" + bibtex_escape(cs.study.title) + "}"),
        ("year", str(cs.year)),
        ("month", str(cs.release_date.month)),
        ("publisher", bibtex_escape(_publisher(settings))),
        ("howpublished", bibtex_escape(settings.name)),
        ("version", str(cs.version)),
        ("doi", bibtex_escape(cs.doi or "")),
        ("url", _safe_url(cs.url)),
        (
            "note",
            bibtex_escape(
                f"Accession {cs.accession}, version {cs.version}"
                + (f". Withdrawn: {cs.withdrawal_reason}" if cs.withdrawn else "")
            ),
        ),
        ("keywords", bibtex_escape(", ".join(cs.study.keywords))),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{bibtex_key(cs.accession)},\n{body}\n}}\n"


# ---------------------------------------------------------------- RIS


def _ris_line(tag: str, value: str) -> str:
    return f"{tag}  - {one_line(value)}"


def to_ris(cs: CatalogStudy, settings: ArchiveSettings) -> str:
    """An RIS record of type DATA. Every value sits on its own tagged line."""
    lines = [_ris_line("TY", "DATA")]
    for given, family in _authors(cs):
        lines.append(_ris_line("AU", f"{family}, {given}" if given else family))
    lines += [
        _ris_line("TI", cs.study.title),
        _ris_line("PY", str(cs.year)),
        _ris_line("DA", cs.release_date.strftime("%Y/%m/%d/")),
        _ris_line("PB", _publisher(settings)),
        _ris_line("DB", settings.name),
        _ris_line("AN", cs.accession),
        _ris_line("ET", f"Version {cs.version}"),
        _ris_line("UR", _safe_url(cs.url)),
        *([_ris_line("DO", cs.doi)] if cs.doi else []),
        _ris_line("AB", cs.summary),
    ]
    lines += [_ris_line("KW", k) for k in cs.study.keywords if one_line(k)]
    for pub in cs.study.publications:
        if pub.doi:
            # RIS has one DO field per record (the record's own DOI); related
            # publications go in notes so they are not mistaken for it.
            lines.append(_ris_line("N1", f"Related publication: {doi_url(pub.doi)}"))
    if cs.withdrawn:
        lines.append(_ris_line("N1", f"Withdrawn: {cs.withdrawal_reason or ''}"))
    lines.append("ER  - ")
    return "\r\n".join(lines) + "\r\n"  # the RIS specification uses CRLF


# ---------------------------------------------------------------- CSL-JSON


def to_csl_json(cs: CatalogStudy, settings: ArchiveSettings) -> dict[str, Any]:
    """One CSL-JSON item (a .csl.json file holds a list of them)."""
    item: dict[str, Any] = {
        "id": cs.accession,
        "type": "dataset",
        "title": one_line(cs.study.title),
        "author": [
            {"family": family, "given": given} if given else {"family": family} for given, family in _authors(cs)
        ],
        "issued": {"date-parts": [[cs.release_date.year, cs.release_date.month, cs.release_date.day]]},
        "publisher": _publisher(settings),
        "archive": one_line(settings.name),
        "archive_location": cs.accession,
        "number": cs.accession,
        "version": str(cs.version),
        "URL": cs.url,
        "abstract": cs.summary,
    }
    if cs.doi:
        item["DOI"] = cs.doi
    keywords = [one_line(k) for k in cs.study.keywords if one_line(k)]
    if keywords:
        item["keyword"] = ", ".join(keywords)
    if cs.withdrawn:
        item["status"] = "withdrawn"
        item["note"] = f"Withdrawn: {one_line(cs.withdrawal_reason)}"
    return item


# ---------------------------------------------------------------- CFF


def to_cff(cs: CatalogStudy, settings: ArchiveSettings) -> str:
    """A CITATION.cff (Citation File Format 1.2.0) document."""
    authors = []
    for author in cs.study.authors:
        given, family = split_name(author.name)
        entry: dict[str, Any] = {"family-names": family}
        if given:
            entry["given-names"] = given
        if author.affiliations:
            entry["affiliation"] = one_line("; ".join(a.name for a in author.affiliations))
        if author.orcid:
            entry["orcid"] = orcid_url(author.orcid)
        authors.append(entry)
    doc: dict[str, Any] = {
        "cff-version": "1.2.0",
        "message": "If you use this dataset, please cite it using the metadata from this file.",
        "type": "dataset",
        "title": one_line(cs.study.title),
        "authors": authors,
        "version": str(cs.version),
        "date-released": cs.release_date,  # dumped as an unquoted YAML date, as CFF examples write it
        "url": cs.url,
        "identifiers": [
            {"type": "url", "value": cs.url, "description": f"Landing page of {cs.accession}"},
            {"type": "other", "value": cs.accession, "description": f"{one_line(settings.name)} accession"},
        ],
        "license": cs.licence.id,
        "abstract": cs.summary,
    }
    if cs.doi:
        doc["doi"] = cs.doi
        doc["identifiers"].insert(0, {"type": "doi", "value": cs.doi, "description": f"DOI of version {cs.version}"})
    keywords = [one_line(k) for k in cs.study.keywords if one_line(k)]
    if keywords:
        doc["keywords"] = keywords
    dois = [p for p in cs.study.publications if p.doi]
    if dois:
        pub = dois[0]
        doc["preferred-citation"] = {
            "type": "article",
            "title": one_line(pub.title),
            "authors": [{"name": one_line(pub.authors)}],
            "year": pub.year,
            "doi": pub.doi,
            **({"journal": one_line(pub.journal)} if pub.journal else {}),
        }
    try:
        return "".join(_yaml_mapping(doc, 0, []))
    except _NotSure:
        pass
    # libyaml's emitter (when PyYAML has it) is ten times faster and writes the same YAML.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True, width=1000)


# A small block-YAML writer for CFF documents: the YAML emitter cost 0.18 ms a study.
# It writes exactly what yaml.dump(..., sort_keys=False, allow_unicode=True, width=1000)
# writes, with libyaml's emitter or PyYAML's own, and gives up (raises _NotSure) on
# anything whose style it does not know for certain: empty collections, long or
# multi-line strings, characters the emitters escape or treat differently.


class _NotSure(Exception):
    pass


# Characters both emitters print as they are: printable ASCII and the Basic Multilingual
# Plane without no-break space, line and paragraph separators and the byte order mark
# (libyaml escapes characters beyond it, PyYAML's emitter does not).
_YAML_AS_IS = re.compile("[\x20-\x7e\xa1-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*")
# What makes the emitters quote a one-line string: a leading indicator or space, "?", ":"
# or "-" alone or before a space, a document marker, ": " or a final ":", " #", a
# trailing space.
_YAML_NOT_PLAIN_START = re.compile(r"[ #,\[\]{}&*!|>'\"%@`]|[?:-](?: |$)|---|\.\.\.")
_YAML_STR_TAG = "tag:yaml.org,2002:str"
_YAML_RESOLVER = yaml.resolver.Resolver()
# Lines stay far below width=1000, so the emitters never fold a scalar.
_YAML_MAX_SCALAR = 800


def _yaml_plain(text: str) -> bool:
    """Whether the emitters write this one-line string unquoted (the emitter's analysis)."""
    if _YAML_NOT_PLAIN_START.match(text) or ": " in text or " #" in text or text.endswith((":", " ")):
        return False
    # A string that reads as a number, boolean, null or date must be quoted.
    return _YAML_RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == _YAML_STR_TAG


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is int:
        return str(value)
    if type(value) is dt.date:
        return value.isoformat()
    if type(value) is not str:
        raise _NotSure
    return _yaml_text(value)


@functools.lru_cache(maxsize=4096)  # licence ids, types, messages and names recur
def _yaml_text(value: str) -> str:
    if len(value) > _YAML_MAX_SCALAR or not _YAML_AS_IS.fullmatch(value):
        raise _NotSure
    if value and _yaml_plain(value):
        return value
    return "'" + value.replace("'", "''") + "'"


@functools.lru_cache(maxsize=256)
def _yaml_key(key: Any) -> str:
    if type(key) is not str or not key or not _YAML_AS_IS.fullmatch(key) or not _yaml_plain(key):
        raise _NotSure
    return key


def _yaml_mapping(mapping: dict[str, Any], indent: int, out: list[str], first: str | None = None) -> list[str]:
    """Block mapping lines; ``first`` is the prefix of the first line ("- " in a sequence)."""
    pad = " " * indent
    for key, value in mapping.items():
        prefix = pad if first is None else first
        first = None
        if type(value) is dict and value:
            out.append(f"{prefix}{_yaml_key(key)}:\n")
            _yaml_mapping(value, indent + 2, out)
        elif type(value) is list and value:
            out.append(f"{prefix}{_yaml_key(key)}:\n")
            # A sequence in a mapping is not indented ("indentless"), as the emitters write it.
            for item in value:
                if type(item) is dict and item:
                    _yaml_mapping(item, indent + 2, out, first=pad + "- ")
                else:
                    out.append(f"{pad}- {_yaml_scalar(item)}\n")
        else:
            out.append(f"{prefix}{_yaml_key(key)}: {_yaml_scalar(value)}\n")
    return out


# ---------------------------------------------------------------- DataCite


def _datacite_creator(author: Any) -> dict[str, Any]:
    given, family = split_name(author.name)
    creator: dict[str, Any] = {
        "name": f"{family}, {given}" if given else family,
        "nameType": "Personal",
        "familyName": family,
    }
    if given:
        creator["givenName"] = given
    if author.orcid:
        creator["nameIdentifiers"] = [
            {
                "nameIdentifier": orcid_url(author.orcid),
                "nameIdentifierScheme": "ORCID",
                "schemeUri": "https://orcid.org",
            }
        ]
    affiliations = []
    for aff in author.affiliations:
        entry = {"name": one_line(aff.name)}
        if aff.ror:
            entry |= {
                "affiliationIdentifier": aff.ror,
                "affiliationIdentifierScheme": "ROR",
                "schemeUri": "https://ror.org",
            }
        affiliations.append(entry)
    if affiliations:
        creator["affiliation"] = _unique(affiliations)
    return creator


def _unique(items: list[Any]) -> list[Any]:
    """Drop repeats, keeping order (the DataCite schema demands unique items)."""
    seen: set[Any] = set()
    out = []
    for item in items:
        key = _unique_key(item)
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _unique_key(item: Any) -> Any:
    """Equal for two items exactly when their sorted JSON is; cheaper for strings and
    for dicts of strings (a str, a tuple and JSON text never compare equal)."""
    if type(item) is str:
        return item
    if type(item) is dict and all(type(v) is str for v in item.values()):
        return tuple(sorted(item.items()))
    return json.dumps(item, sort_keys=True)


def _deep_clean(value: Any) -> Any:
    if type(value) is str:  # the common case first, without a call
        return value if value.isprintable() else clean(value)
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_deep_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _deep_clean(v) for k, v in value.items()}
    return value


def to_datacite(cs: CatalogStudy, settings: ArchiveSettings, *, validate: bool = True) -> dict[str, Any]:
    """DataCite Metadata Schema 4.5 JSON, as the ``datacite`` package validates it.

    The archive mints no DOIs, so the accession and landing page travel as
    alternate identifiers; a DOI registration can add ``doi`` later.
    With ``validate`` (the default) a result that fails the package's schema
    validator raises ValueError (a bug, never bad input). The exports skip
    it: validation costs 6 ms a study, and the tests validate every shape of
    record, hostile ones included.
    """
    study = cs.study
    subjects: list[dict[str, Any]] = [{"subject": one_line(k)} for k in study.keywords if one_line(k)]
    subjects += [
        {
            "subject": one_line(t.label),
            "subjectScheme": "NCBI Taxonomy",
            "schemeUri": "https://www.ncbi.nlm.nih.gov/taxonomy",
            "valueUri": term_url(t.id, identifier=True),
            "classificationCode": t.id,
        }
        for t in cs.organisms
    ]
    subjects += [
        {
            "subject": one_line(t.label),
            "subjectScheme": "Biological Imaging Methods Ontology (FBbi)",
            "schemeUri": "http://purl.obolibrary.org/obo/fbbi.owl",
            "valueUri": term_url(t.id, identifier=True),
            "classificationCode": t.id,
        }
        for t in cs.imaging_methods
    ]
    contact = study.contact
    given, family = split_name(contact.name)
    contributor: dict[str, Any] = {
        "name": f"{family}, {given}" if given else family,
        "nameType": "Personal",
        "contributorType": "ContactPerson",
        "familyName": family,
    }
    if given:
        contributor["givenName"] = given
    if contact.orcid:
        contributor["nameIdentifiers"] = [
            {
                "nameIdentifier": orcid_url(contact.orcid),
                "nameIdentifierScheme": "ORCID",
                "schemeUri": "https://orcid.org",
            }
        ]
    related: list[dict[str, Any]] = []
    for pub in study.publications:
        if pub.doi and idutils.is_doi(pub.doi):
            related.append(
                {
                    "relatedIdentifier": pub.doi,
                    "relatedIdentifierType": "DOI",
                    "relationType": "IsSupplementTo",
                    "resourceTypeGeneral": "JournalArticle",
                }
            )
        if pub.pubmed_id:
            related.append(
                {
                    "relatedIdentifier": pub.pubmed_id,
                    "relatedIdentifierType": "PMID",
                    "relationType": "IsSupplementTo",
                    "resourceTypeGeneral": "JournalArticle",
                }
            )
    for link in study.links:
        related.append(
            {"relatedIdentifier": _safe_url(link.url), "relatedIdentifierType": "URL", "relationType": "References"}
        )
    related += _derivation_identifiers(cs)
    funding = []
    for grant in study.funding:
        ref: dict[str, Any] = {"funderName": one_line(grant.funder)}
        if grant.funder_ror:
            ref |= {"funderIdentifier": grant.funder_ror, "funderIdentifierType": "ROR"}
        if grant.grant_id:
            ref["awardNumber"] = one_line(grant.grant_id)
        funding.append(ref)
    dates = [{"date": cs.release_date.isoformat(), "dateType": "Issued"}]
    current = next((v for v in cs.versions if v.current), None)
    if current is not None and current.date is not None and current.date != cs.release_date:
        dates.append({"date": current.date.isoformat(), "dateType": "Updated"})
    descriptions = [{"description": clean(cs.summary) or one_line(study.title), "descriptionType": "Abstract"}]
    if cs.withdrawn:
        dates.append(
            {
                "date": cs.release_date.isoformat(),
                "dateType": "Withdrawn",
                "dateInformation": "the record was withdrawn after publication",
            }
        )
        descriptions.append({"description": f"Withdrawn: {one_line(cs.withdrawal_reason)}", "descriptionType": "Other"})
    data: dict[str, Any] = {
        "url": cs.url,
        "types": {"resourceTypeGeneral": "Dataset", "resourceType": "Image study"},
        "creators": [_datacite_creator(a) for a in study.authors],
        "titles": [{"title": one_line(study.title)}],
        "publisher": {"name": _publisher(settings)},
        "publicationYear": f"{cs.year:04d}",
        "subjects": _unique(subjects),
        "contributors": [contributor],
        "dates": dates,
        "language": "en",
        "alternateIdentifiers": [
            {"alternateIdentifier": cs.accession, "alternateIdentifierType": "Accession"},
            {"alternateIdentifier": cs.url, "alternateIdentifierType": "URL"},
        ],
        "sizes": [f"{cs.image_count} images"] + ([f"{cs.total_bytes} bytes"] if cs.total_bytes else []),
        "formats": ["OME-Zarr"],
        "version": str(cs.version),
        "rightsList": [
            {
                "rights": cs.licence.name,
                "rightsUri": cs.licence.url,
                "rightsIdentifier": cs.licence.id.lower(),
                "rightsIdentifierScheme": "SPDX",
                "schemeUri": "https://spdx.org/licenses/",
            }
        ],
        "descriptions": descriptions,
        "schemaVersion": DATACITE_SCHEMA_VERSION,
    }
    if cs.doi:
        data["doi"] = cs.doi
        if cs.concept_doi and cs.concept_doi != cs.doi:
            related.append({"relatedIdentifier": cs.concept_doi, "relatedIdentifierType": "DOI",
                            "relationType": "IsVersionOf", "resourceTypeGeneral": "Dataset"})
    if related:
        data["relatedIdentifiers"] = _unique(related)
    if funding:
        data["fundingReferences"] = _unique(funding)
    data = _deep_clean(data)
    errors = sorted(schema45.validator.iter_errors(data), key=lambda e: list(e.path)) if validate else []
    if errors:
        raise ValueError("DataCite metadata does not validate: " + "; ".join(e.message for e in errors[:5]))
    return data


def _derivation_identifiers(cs: CatalogStudy) -> list[dict[str, Any]]:
    """DataCite relations of derived data: IsDerivedFrom each source, IsSourceOf each study built on this one.

    The other study's DOI when it has a findable one, else its landing page URL."""
    related = []
    for relation, links in (("IsDerivedFrom", cs.based_on), ("IsSourceOf", cs.derived_studies)):
        for link in links:
            identifier, kind = (link.doi, "DOI") if link.doi else (link.url, "URL")
            related.append({"relatedIdentifier": identifier, "relatedIdentifierType": kind,
                            "relationType": relation, "resourceTypeGeneral": "Dataset"})
    return related


def to_datacite_xml(cs: CatalogStudy, settings: ArchiveSettings, *, data: dict[str, Any] | None = None) -> str:
    """DataCite 4.5 XML, serialised by the ``datacite`` package (lxml escapes text).

    ``data`` is the study's :func:`to_datacite` result, when already made.
    The XML has no <identifier> element until the archive registers DOIs, so
    it follows the JSON schema but not yet the kernel-4 XSD, which requires one.
    """
    data = data if data is not None else to_datacite(cs, settings)
    try:
        return _datacite_xml(data)
    except _NotSure:
        return schema45.tostring(data)


# A direct writer of the XML schema45.tostring makes (lxml, pretty-printed) for the
# fields to_datacite fills: building the lxml tree cost 0.17 ms a study. Anything else
# (another field, a non-string value, a character lxml would refuse) goes to the
# package, which stays the reference.

_XML_OK = re.compile("[\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
_XML_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_XML_ATTR = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;", "\t": "&#9;"}
)
_XML_HEAD = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<resource xmlns="http://datacite.org/schema/kernel-4" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    ' xsi:schemaLocation="http://datacite.org/schema/kernel-4 http://schema.datacite.org/meta/kernel-4.5/metadata.xsd">\n'
)
_XML_KEYS = frozenset(
    {
        "url",
        "types",
        "creators",
        "titles",
        "publisher",
        "publicationYear",
        "subjects",
        "contributors",
        "dates",
        "language",
        "alternateIdentifiers",
        "sizes",
        "formats",
        "version",
        "rightsList",
        "descriptions",
        "schemaVersion",
        "relatedIdentifiers",
        "fundingReferences",
        "doi",
    }
)


# Most values need no escaping at all; translate() with a table is slow, so test first.
_XML_NOTHING_TO_ESCAPE = re.compile(
    "[\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*"
)


def _xml_escape(value: Any, table: dict[int, str]) -> str:
    if type(value) is not str:
        raise _NotSure
    if _XML_NOTHING_TO_ESCAPE.fullmatch(value):
        return value
    if not _XML_OK.fullmatch(value):
        raise _NotSure
    return value.translate(table)


def _xs(value: Any) -> str:
    return _xml_escape(value, _XML_ATTR)


def _xml_el(depth: int, tag: str, text: Any, attrs: Sequence[tuple[str, Any]] = ()) -> str:
    """One element with text; attrs are (name, value) already filtered as the package does."""
    attr = "".join(f' {name}="{_xml_escape(value, _XML_ATTR)}"' for name, value in attrs)
    return f"{'  ' * depth}<{tag}{attr}>{_xml_escape(text, _XML_TEXT)}</{tag}>\n"


def _xml_items(values: Any, keys: frozenset[str]) -> list[dict[str, Any]]:
    if type(values) is not list or any(type(v) is not dict or not v.keys() <= keys for v in values):
        raise _NotSure
    return values


_PERSON_KEYS = frozenset(
    {"name", "nameType", "givenName", "familyName", "nameIdentifiers", "affiliation", "contributorType"}
)


def _xml_person(out: list[str], tag: str, name_tag: str, value: dict[str, Any], attrs: list[tuple[str, Any]]) -> None:
    out.append(f"    <{tag}" + "".join(f' {n}="{_xs(v)}"' for n, v in attrs) + ">\n")
    out.append(_xml_el(3, name_tag, value["name"], [("nameType", value["nameType"])] if value.get("nameType") else []))
    if value.get("givenName"):
        out.append(_xml_el(3, "givenName", value["givenName"]))
    if value.get("familyName"):
        out.append(_xml_el(3, "familyName", value["familyName"]))
    for ident in _xml_items(
        value.get("nameIdentifiers", []), frozenset({"nameIdentifier", "nameIdentifierScheme", "schemeUri"})
    ):
        if ident.get("nameIdentifier"):
            attrs = [("nameIdentifierScheme", ident["nameIdentifierScheme"])]
            if ident.get("schemeUri"):
                attrs.append(("schemeURI", ident["schemeUri"]))
            out.append(_xml_el(3, "nameIdentifier", ident["nameIdentifier"], attrs))
    for aff in _xml_items(
        value.get("affiliation", []),
        frozenset({"name", "affiliationIdentifier", "affiliationIdentifierScheme", "schemeUri"}),
    ):
        if aff.get("name"):
            attrs = [(k, aff[k]) for k in ("affiliationIdentifier", "affiliationIdentifierScheme") if aff.get(k)]
            if aff.get("schemeUri"):
                attrs.append(("schemeURI", aff["schemeUri"]))
            out.append(_xml_el(3, "affiliation", aff["name"], attrs))
    out.append(f"    </{tag}>\n")


def _xml_list(out: list[str], tag: str, values: list[Any], item: Any) -> None:
    if values:
        out.append(f"  <{tag}>\n")
        for value in values:
            item(value)
        out.append(f"  </{tag}>\n")


def _datacite_xml(data: dict[str, Any]) -> str:
    if type(data) is not dict or not data.keys() <= _XML_KEYS:
        raise _NotSure
    out = [_XML_HEAD]
    add = out.append
    # The package's rules, in its order.
    _xml_list(
        out,
        "alternateIdentifiers",
        _xml_items(data.get("alternateIdentifiers", []), frozenset({"alternateIdentifier", "alternateIdentifierType"})),
        lambda v: add(
            _xml_el(
                2,
                "alternateIdentifier",
                v["alternateIdentifier"],
                [("alternateIdentifierType", v["alternateIdentifierType"])] if v.get("alternateIdentifierType") else [],
            )
        ),
    )
    _xml_list(
        out,
        "creators",
        _xml_items(data.get("creators", []), _PERSON_KEYS - {"contributorType"}),
        lambda v: _xml_person(out, "creator", "creatorName", v, []),
    )
    _xml_list(
        out,
        "titles",
        _xml_items(data.get("titles", []), frozenset({"title"})),
        lambda v: add(_xml_el(2, "title", v["title"])),
    )
    publisher = data.get("publisher")
    if publisher:
        if type(publisher) is not dict or publisher.keys() != {"name"}:
            raise _NotSure
        add(_xml_el(1, "publisher", publisher["name"]))
    for key in ("publicationYear",):
        if data.get(key):
            add(_xml_el(1, key, data[key]))
    _xml_list(
        out,
        "subjects",
        _xml_items(
            data.get("subjects", []),
            frozenset({"subject", "subjectScheme", "schemeUri", "valueUri", "classificationCode"}),
        ),
        lambda v: add(
            _xml_el(
                2,
                "subject",
                v["subject"],
                [
                    (n, v[k])
                    for n, k in (
                        ("subjectScheme", "subjectScheme"),
                        ("schemeURI", "schemeUri"),
                        ("valueURI", "valueUri"),
                    )
                    if v.get(k)
                ],
            )
        ),
    )
    _xml_list(
        out,
        "contributors",
        _xml_items(data.get("contributors", []), _PERSON_KEYS),
        lambda v: _xml_person(
            out,
            "contributor",
            "contributorName",
            v,
            [("contributorType", v["contributorType"])] if v.get("contributorType") else [],
        ),
    )
    _xml_list(
        out,
        "dates",
        _xml_items(data.get("dates", []), frozenset({"date", "dateType", "dateInformation"})),
        lambda v: add(
            _xml_el(
                2,
                "date",
                v["date"],
                [("dateType", v["dateType"])]
                + ([("dateInformation", v["dateInformation"])] if v.get("dateInformation") else []),
            )
        ),
    )
    if data.get("language"):
        add(_xml_el(1, "language", data["language"]))
    types = data["types"]
    if (
        type(types) is not dict
        or not types.keys() <= {"resourceTypeGeneral", "resourceType"}
        or not types.get("resourceType")
    ):
        raise _NotSure
    add(_xml_el(1, "resourceType", types["resourceType"], [("resourceTypeGeneral", types["resourceTypeGeneral"])]))
    if data.get("doi"):
        add(_xml_el(1, "identifier", data["doi"], [("identifierType", "DOI")]))
    _xml_list(
        out,
        "relatedIdentifiers",
        _xml_items(
            data.get("relatedIdentifiers", []),
            frozenset({"relatedIdentifier", "relatedIdentifierType", "relationType", "resourceTypeGeneral"}),
        ),
        lambda v: add(
            _xml_el(
                2,
                "relatedIdentifier",
                v["relatedIdentifier"],
                [("relationType", v["relationType"])]
                + [(k, v[k]) for k in ("resourceTypeGeneral", "relatedIdentifierType") if v.get(k)],
            )
        ),
    )
    for plural, singular in (("sizes", "size"), ("formats", "format")):
        values = data.get(plural)
        if values:
            if type(values) is not list:
                raise _NotSure
            _xml_list(out, plural, values, lambda v, singular=singular: add(_xml_el(2, singular, v)))
    if data.get("version"):
        add(_xml_el(1, "version", data["version"]))
    _xml_list(
        out,
        "rightsList",
        _xml_items(
            data.get("rightsList", []),
            frozenset({"rights", "rightsUri", "rightsIdentifier", "rightsIdentifierScheme", "schemeUri"}),
        ),
        lambda v: add(
            _xml_el(
                2,
                "rights",
                v["rights"],
                [
                    (n, v[k])
                    for n, k in (
                        ("rightsURI", "rightsUri"),
                        ("rightsIdentifierScheme", "rightsIdentifierScheme"),
                        ("rightsIdentifier", "rightsIdentifier"),
                        ("schemeURI", "schemeUri"),
                    )
                    if v.get(k)
                ],
            )
        ),
    )
    _xml_list(
        out,
        "descriptions",
        _xml_items(data.get("descriptions", []), frozenset({"description", "descriptionType"})),
        lambda v: add(_xml_el(2, "description", v["description"], [("descriptionType", v["descriptionType"])])),
    )
    funding = _xml_items(
        data.get("fundingReferences", []),
        frozenset({"funderName", "funderIdentifier", "funderIdentifierType", "awardNumber"}),
    )

    def grant(v: dict[str, Any]) -> None:
        add("    <fundingReference>\n")
        add(_xml_el(3, "funderName", v["funderName"]))
        if v.get("funderIdentifier"):
            add(
                _xml_el(
                    3,
                    "funderIdentifier",
                    v["funderIdentifier"],
                    [("funderIdentifierType", v["funderIdentifierType"])] if v.get("funderIdentifierType") else [],
                )
            )
        if v.get("awardNumber"):
            add(_xml_el(3, "awardNumber", v["awardNumber"]))
        add("    </fundingReference>\n")

    _xml_list(out, "fundingReferences", funding, grant)
    add("</resource>\n")
    return "".join(out)


# ---------------------------------------------------------------- JSON-LD


def _term(t: Any) -> dict[str, Any]:
    url = term_url(t.id, identifier=True)
    return {"@type": "DefinedTerm", "@id": url, "name": one_line(t.label), "termCode": t.id, "url": url}


def _taxon(t: Any) -> dict[str, Any]:
    # schema.org Taxon has no termCode; the CURIE goes in identifier.
    url = term_url(t.id, identifier=True)
    return {"@type": "Taxon", "@id": url, "name": one_line(t.label), "identifier": t.id, "url": url}


def to_jsonld(cs: CatalogStudy, settings: ArchiveSettings) -> dict[str, Any]:
    """schema.org Dataset following the Bioschemas Dataset profile (1.0)."""
    study = cs.study
    site = settings.site_url if settings.site_url.endswith("/") else settings.site_url + "/"
    creators = []
    for author in study.authors:
        given, family = split_name(author.name)
        person: dict[str, Any] = {"@type": "Person", "name": one_line(author.name), "familyName": family}
        if given:
            person["givenName"] = given
        if author.orcid:
            person["@id"] = orcid_url(author.orcid)
            person["identifier"] = orcid_url(author.orcid)
        if author.affiliations:
            person["affiliation"] = [
                {"@type": "Organization", "name": one_line(a.name), **({"@id": a.ror} if a.ror else {})}
                for a in author.affiliations
            ]
        creators.append(person)
    keywords = _unique(
        [one_line(k) for k in study.keywords if one_line(k)]
        + [one_line(t.label) for t in cs.organisms]
        + [one_line(t.label) for t in cs.imaging_methods]
    )
    doc: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": cs.url,
        # The full IRI keeps @context a plain "https://schema.org" (no "dct" prefix to declare).
        DCT_CONFORMS_TO: {"@id": BIOSCHEMAS_DATASET_PROFILE, "@type": "CreativeWork"},
        "name": one_line(study.title),
        "description": _jsonld_description(cs),
        # The DOI first when there is one: harvesters take the first identifier as the dataset's own.
        "identifier": [doi_url(cs.doi), cs.accession] if cs.doi else cs.accession,
        "url": cs.url,
        "keywords": keywords,
        "license": cs.licence.url,
        "isAccessibleForFree": True,
        "creator": creators,
        "datePublished": cs.release_date.isoformat(),
        "version": str(cs.version),
        "publisher": {"@type": "Organization", "name": _publisher(settings)},
        "includedInDataCatalog": {"@type": "DataCatalog", "name": one_line(settings.name), "url": site},
        "measurementTechnique": [_term(t) for t in cs.imaging_methods],
        "about": [_term(t) for t in cs.organisms],
        "taxonomicRange": [_taxon(t) for t in cs.organisms],
    }
    distribution = []
    # A screen can hold thousands of images; the page's JSON-LD lists the first
    # ones, and api/studies/<ACCESSION>.json lists them all.
    for image in cs.images[:JSONLD_MAX_DISTRIBUTIONS]:
        content = image.access.https or image.access.s3
        if content:
            distribution.append(
                {
                    "@type": "DataDownload",
                    "name": one_line(f"{image.dataset}/{image.name}"),
                    "contentUrl": content,
                    "encodingFormat": "OME-Zarr",
                    **(
                        {"contentSize": f"{image.facts.size_bytes} B"}
                        if image.facts is not None and image.facts.size_bytes
                        else {}
                    ),
                }
            )
    if distribution:
        doc["distribution"] = distribution
    citations = []
    for pub in study.publications:
        if not (pub.doi or pub.pubmed_id):
            continue
        article: dict[str, Any] = {
            "@type": "ScholarlyArticle",
            "name": one_line(pub.title),
            "datePublished": str(pub.year),
        }
        urls = ([doi_url(pub.doi)] if pub.doi else []) + ([pubmed_url(pub.pubmed_id)] if pub.pubmed_id else [])
        article["@id"] = urls[0]
        article["identifier"] = urls[0]
        if len(urls) > 1:
            article["sameAs"] = urls[1:]
        citations.append(article)
    if citations:
        doc["citation"] = citations
    funding = []
    for grant in study.funding:
        funder: dict[str, Any] = {"@type": "Organization", "name": one_line(grant.funder)}
        if grant.funder_ror:
            funder["@id"] = grant.funder_ror
        entry: dict[str, Any] = {"@type": "MonetaryGrant", "funder": funder}
        if grant.grant_id:
            entry["identifier"] = one_line(grant.grant_id)
        funding.append(entry)
    if funding:
        doc["funding"] = funding
    based_on = [_linked_dataset(link) for link in cs.based_on]
    if based_on:
        doc["isBasedOn"] = based_on
    derived = [_linked_dataset(link) for link in cs.derived_studies]
    if derived:
        # schema.org has no inverse of isBasedOn; JSON-LD states the reverse edge on the source itself
        # ("derived isBasedOn this"), which every JSON-LD processor turns into the same triples.
        doc["@reverse"] = {"isBasedOn": derived}
    if cs.withdrawn:
        doc["creativeWorkStatus"] = "Withdrawn"
    return _deep_clean(doc)


def _linked_dataset(link: Any) -> dict[str, Any]:
    """A derived study or a source, as a schema.org Dataset node (its landing page is its @id)."""
    node: dict[str, Any] = {"@type": "Dataset", "@id": link.url, "name": one_line(link.title), "url": link.url,
                            "identifier": doi_url(link.doi) if link.doi else link.accession}
    if link.version is not None:
        node["version"] = str(link.version)
    return node


def _jsonld_description(cs: CatalogStudy) -> str:
    # Search engines want 50 to 5000 characters of plain text.
    text = truncate_text(markdown_to_text(cs.study.description), 5000)
    if len(text) < 50:
        text = f"{text} ({one_line(cs.study.title)}, image study {cs.accession})"
    return text


def jsonld_script(cs: CatalogStudy, settings: ArchiveSettings) -> str:
    """The study's JSON-LD as a complete ``<script type="application/ld+json">`` element."""
    return f'<script type="application/ld+json">{json_for_script(to_jsonld(cs, settings))}</script>'
