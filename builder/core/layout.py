"""The archive's layout: every path and object key the builder uses, in one place.

Two trees are laid out here:

- the Git repository of study records (``studies/<ACCESSION>/study.yaml`` and
  its ``images.lock``), and
- the archive's own object store, where custody keeps a verified copy of
  every published image: ``<ACCESSION>/v<VERSION>/<image>.ome.zarr/...``, the
  version's content manifest ``<ACCESSION>/v<VERSION>/manifest.json``, and
  derived artifacts (image facts, thumbnails) under a key made from the
  image's content checksum, so they are computed once and shared by every
  version that holds the same bytes.

Store keys are built only from an accession, a version number, an image name
and a checksum, each checked against a strict pattern here: no path written
in a record ever becomes part of a key.
"""

from __future__ import annotations

import re

from builder.core.errors import InvalidInputError

STUDIES_DIR = "studies"
RECORD_NAME = "study.yaml"
LOCK_NAME = "images.lock"
IMAGE_TABLE_NAME = "images.tsv"  # a screen's images, one row per image or well field

# Image and dataset names are validated by the model (MOD026) with this same
# rule; checked again here because a key must never be built from anything else.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_ACCESSION = re.compile(r"^[A-Z][A-Z0-9]*-[0-9]+$")
# A content checksum: hex SHA-256, or a Zarr tree checksum as DANDI writes it
# (zarr-checksum: ``<md5>-<object count>--<total bytes>``).
_CHECKSUM = re.compile(r"^(?:[0-9a-f]{64}|[0-9a-f]{32}-[0-9]+--[0-9]+)$")

MANIFEST_NAME = "manifest.json"
DERIVED_PREFIX = "derived"


class LayoutError(InvalidInputError):
    """A key was asked for from a value that may not appear in one."""


def _name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value) or value in {".", ".."} or ".." in value:
        raise LayoutError(f"{what} {value!r} cannot be part of an archive path")
    return value


def _accession(value: str) -> str:
    if not isinstance(value, str) or not _ACCESSION.match(value):
        raise LayoutError(f"accession {value!r} cannot be part of an archive path")
    return value


def _version(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise LayoutError(f"version {value!r} is not a whole number from 1")
    return value


def image_key(accession: str, dataset: str, image: str) -> str:
    """The one name of an image of a study: ``<ACCESSION>/<dataset>/<image>``."""
    return f"{accession}/{dataset}/{image}"


def image_key_name(key: str) -> str:
    """The image's name in an :func:`image_key` (names are unique within a study)."""
    return key.rsplit("/", 1)[-1]


def record_path(accession: str) -> str:
    """The record's path in the repository, relative to its root."""
    return f"{STUDIES_DIR}/{accession}/{RECORD_NAME}"


def lock_path(accession: str) -> str:
    return f"{STUDIES_DIR}/{accession}/{LOCK_NAME}"


def image_table_path(accession: str) -> str:
    return f"{STUDIES_DIR}/{accession}/{IMAGE_TABLE_NAME}"


def version_prefix(accession: str, version: int) -> str:
    """``<ACCESSION>/v<VERSION>``: everything one published version holds in the store."""
    return f"{_accession(accession)}/v{_version(version)}"


def archived_image_prefix(accession: str, version: int, image: str) -> str:
    """``<ACCESSION>/v<VERSION>/<image>.ome.zarr``: the archive's copy of one image."""
    return f"{version_prefix(accession, version)}/{_name(image, 'image name')}.ome.zarr"


def manifest_key(accession: str, version: int) -> str:
    """The content manifest of a version; written last, so its presence means complete."""
    return f"{version_prefix(accession, version)}/{MANIFEST_NAME}"


def derived_prefix(content_checksum: str) -> str:
    """Derived artifacts of an image (facts, thumbnails), keyed by its content checksum."""
    if not isinstance(content_checksum, str) or not _CHECKSUM.match(content_checksum):
        raise LayoutError(f"checksum {content_checksum!r} is not a content checksum")
    return f"{DERIVED_PREFIX}/{content_checksum[:2]}/{content_checksum}"
