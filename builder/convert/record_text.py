"""Read a study record the way the records stage does, for the tools that edit it (new --from, upload).

The archive's reader (builder.records.yaml_source) bounds what a record may
be: its size, nesting and node count (archive.toml limits), no anchors or
aliases, integers within 64 bits (REC012). A record these tools cannot read
that way is refused with the reader's own diagnostic, so they never act on
something validate would reject.
"""

from __future__ import annotations

from builder.convert.errors import ConversionError
from builder.core.checks import Severity
from builder.core.settings import ArchiveSettings
from builder.records.yaml_source import YamlDocument, load_yaml


def read_record(text: str, file: str, settings: ArchiveSettings | None = None, *, spans: bool = False) -> YamlDocument:
    """The record parsed within the archive's limits (with text spans if asked); CNV013 when it is refused."""
    limits = (settings or ArchiveSettings()).limits
    doc = load_yaml(
        text.removeprefix("\ufeff"),  # spans are offsets into the text without a byte order mark
        file=file,
        max_bytes=limits.max_record_bytes,
        max_depth=limits.max_yaml_depth,
        max_nodes=limits.max_yaml_nodes,
        spans=spans,
    )
    errors = [d for d in doc.diagnostics if d.severity is Severity.ERROR]
    if errors or not isinstance(doc.data, dict):
        first = errors[0] if errors else None
        detail = f"{first.location}: {first.check} {first.message}" if first else "the record is not a mapping"
        raise ConversionError("CNV013", file, detail)
    return doc
