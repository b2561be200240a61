"""Offline ontology term lists: the bundled ones here, plus the archive's own.

Bundled: ``ncbitaxon.yaml`` (common model organisms) and ``fbbi.yaml``
(imaging methods). An archive extends or corrects them by adding YAML files
of the same format to an ``ontology/`` folder at the repository root, e.g.
``ontology/local-taxa.yaml``::

    terms:
      NCBITaxon:8022: Oncorhynchus mykiss
      FBbi:00000000: {label: some method, synonyms: [another name]}

Archive lists are read after the bundled ones, so they win on conflicts.
"""

from __future__ import annotations

import functools
from pathlib import Path

from builder.core.checks import Diagnostic
from builder.model.ontology import TermIndex, parse_term_list
from builder.records.checks import ONT005
from builder.records.yaml_source import load_yaml

BUNDLED_DIR = Path(__file__).parent
ARCHIVE_DIR = "ontology"


def load_term_index(root: Path | None = None) -> tuple[TermIndex, list[Diagnostic]]:
    """The term index for an archive (bundled lists + root/ontology/*.yaml).

    Cached per archive and per state of its term files, so a long-running
    `bioarchive serve` sees edits to ontology/ at once.
    """
    if root is None:
        return _load(None, ())
    folder = Path(root).resolve() / ARCHIVE_DIR
    state: tuple[tuple[str, int, int], ...] = ()
    if folder.is_dir():
        stats = []
        for path in sorted(folder.glob("*.yaml")):
            try:
                st = path.stat()
            except OSError:
                continue
            stats.append((path.name, st.st_mtime_ns, st.st_size))
        state = tuple(stats)
    return _load(str(Path(root).resolve()), state)


@functools.lru_cache(maxsize=16)
def _load(root: str | None, state: tuple) -> tuple[TermIndex, list[Diagnostic]]:
    index = TermIndex()
    diagnostics: list[Diagnostic] = []
    files = sorted(BUNDLED_DIR.glob("*.yaml"))
    if root is not None:
        files += sorted((Path(root) / ARCHIVE_DIR).glob("*.yaml"))
    for path in files:
        display = path.name if path.parent == BUNDLED_DIR else f"{ARCHIVE_DIR}/{path.name}"
        try:
            raw = path.read_bytes()
        except OSError as exc:
            diagnostics.append(Diagnostic.of(ONT005, f"cannot read the term list: {exc.strerror}", file=display))
            continue
        doc = load_yaml(raw, file=display, max_bytes=16 * 1024 * 1024, max_nodes=2_000_000, max_depth=10)
        if not doc.ok:
            diagnostics.extend(doc.diagnostics)
            continue
        terms, problems = parse_term_list(doc.data, display)
        for problem in problems:
            diagnostics.append(Diagnostic.of(ONT005, problem, file=display))
        index.extend(terms)
    return index, diagnostics
