"""A record read as plain data, before (or without) the model.

The submission rules and the version history compare old records with new
ones. Old records may no longer validate against today's model, so these
read only the YAML (through the archive's safe reader) and the few typed
values the comparisons need, each None when absent or of the wrong type.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from builder.core.settings import ArchiveSettings
from builder.records.yaml_source import YamlDocument, load_yaml


def load_record_text(text: bytes | str | None, settings: ArchiveSettings) -> YamlDocument | None:
    """The record parsed by the archive's safe YAML reader (None when there is no text)."""
    if text is None:
        return None
    limits = settings.limits
    return load_yaml(
        text, max_bytes=limits.max_record_bytes, max_depth=limits.max_yaml_depth, max_nodes=limits.max_yaml_nodes
    )


def parse_record_text(text: bytes | str | None, settings: ArchiveSettings) -> dict[str, Any] | None:
    """The record as plain data (a mapping), or None when missing, oversized or not readable YAML.

    A record that fails model validation still reads; records validation
    reports its errors. The reader refuses anchors/aliases, tags and absurd
    nesting.
    """
    doc = load_record_text(text, settings)
    if doc is None or not doc.ok:
        return None
    return doc.data if isinstance(doc.data, dict) else None


def as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
