"""The archive's settings, from one file: ``archive.toml`` at the repository root.

Everything a deployment may want to change (accession prefix, storage roots,
site URL, allowed licences, safety limits) lives here, never in code.
Environment variables ``BIOARCHIVE_STORAGE_ROOT``, ``BIOARCHIVE_SITE_URL`` and
``BIOARCHIVE_S3_ENDPOINT_URL`` (and ``BIOARCHIVE_ARCHIVE_STORE_URL`` for
``[archive.store] url``) override the file for CI and tests.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

SETTINGS_FILE = "archive.toml"


class Limits(BaseModel):
    """Bounds on untrusted input. Exceeding one is an error, never a crash."""

    model_config = ConfigDict(extra="forbid")

    max_record_bytes: int = 256 * 1024
    max_yaml_depth: int = 40
    max_yaml_nodes: int = 20_000
    max_metadata_bytes: int = 2 * 1024 * 1024  # one zarr.json / .zattrs / .zarray
    max_chunk_bytes: int = 64 * 1024 * 1024  # declared, decoded size of one chunk
    max_selection_bytes: int = 256 * 1024 * 1024  # decoded bytes read for one thumbnail
    max_image_bytes_read: int = 128 * 1024 * 1024  # raw bytes fetched per image
    max_image_requests: int = 400
    max_array_dimension: int = 2**40  # absurd declared shapes are refused
    max_plate_wells: int = 1536
    image_timeout_s: float = 60.0
    request_timeout_s: float = 10.0
    # A never-answering host cost 5.1 s per image, one after another (issue 16): probe each host once,
    # bound the seconds spent per host and per record, and inspect several images at once (I/O bound).
    host_probe_timeout_s: float = 10.0
    host_timeout_s: float = 1200.0
    record_timeout_s: float = 1500.0
    image_workers: int = Field(default=4, ge=1, le=64)
    worker_memory_bytes: int = 2 * 1024**3
    max_description_chars: int = 20_000


class DoiSettings(BaseModel):
    """``[archive.doi]``: minting DOIs through DataCite's REST API (``bioarchive doi``).

    DOIs are ``<prefix>/<accession, lower case>`` for a study (the concept DOI,
    all versions) and ``<prefix>/<accession>.v<version>`` for one version.
    An empty prefix means the archive mints no DOIs. The password is never
    here: the publish job reads it from the environment variable named by
    ``password_env``.
    """

    model_config = ConfigDict(extra="forbid")

    prefix: str = Field(default="", pattern=r"^(10\.\d{4,9})?$")
    repository_id: str = ""  # the DataCite repository (client) id, e.g. "OIA.ARCHIVE"; the API user name
    api_url: str = "https://api.datacite.org/"
    password_env: str = Field(default="DATACITE_PASSWORD", pattern=r"^[A-Z_][A-Z0-9_]*$")
    timeout_s: float = Field(default=20.0, gt=0, le=300)

    @property
    def enabled(self) -> bool:
        return bool(self.prefix and self.repository_id)


class UsageSettings(BaseModel):
    """``[archive.usage]``: reuse counts made by ``bioarchive usage`` (COUNTER Code of Practice)."""

    model_config = ConfigDict(extra="forbid")

    # A study counts as "highly used" when views plus downloads over the last
    # `highly_used_months` published months reach this number (0: no label).
    highly_used_threshold: int = Field(default=1000, ge=0)
    highly_used_months: int = Field(default=12, ge=1, le=120)
    # The path of the site below its host ("/archive/" for a project Pages site),
    # so that access logs of the site host map to study pages; empty: taken from site_url.
    site_path: str = ""


class ArchiveStoreSettings(BaseModel):
    """``[archive.store]``: the object store the archive owns, where ingest keeps its copy of every image.

    ``url`` is a folder (relative to the repository root) or ``s3://bucket/prefix``;
    ``public_url`` the HTTPS address readers and viewers use for the same keys
    (empty for a local folder: the site then serves the copies itself).
    The limits bound one image before any byte is copied.
    """

    model_config = ConfigDict(extra="forbid")

    url: str = "archive-store"
    public_url: str = ""
    endpoint_url: str | None = None  # S3-compatible endpoint; default: s3_endpoint_url
    max_object_bytes: int = Field(default=512 * 1024**2, gt=0)
    max_image_objects: int = Field(default=2_000_000, gt=0)
    max_image_bytes: int = Field(default=2 * 1024**4, gt=0)
    transfers: int = Field(default=16, ge=1, le=256)  # objects copied at once
    retries: int = Field(default=4, ge=0, le=20)  # per object, with exponential back-off
    request_timeout_s: float = Field(default=60.0, gt=0)


class FixitySettings(BaseModel):
    """``[archive.fixity]``: how ``bioarchive fixity`` re-hashes the archive's copies.

    Every run compares every manifest with the store's listing (cheap: no object
    bytes). On top, each run re-hashes one of ``cycle_runs`` fixed slices of the
    objects (an object's slice comes from its key, so it never moves as the
    archive grows), reading at most ``byte_budget`` bytes: every object is
    re-hashed once every ``cycle_runs`` runs (weekly runs, 13: every quarter).
    """

    model_config = ConfigDict(extra="forbid")

    byte_budget: int = Field(default=50 * 1024**3, gt=0)  # object bytes re-read per run
    cycle_runs: int = Field(default=13, ge=1, le=10_000)
    workers: int = Field(default=8, ge=1, le=256)  # objects re-hashed at once
    # Trust the store's own SHA-256 of an object (S3 x-amz-checksum-sha256, kept
    # since the upload and checked by the service) instead of downloading it.
    use_store_checksums: bool = True


class ArchiveSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = "Open Image Archive"
    short_name: str = "OIA"
    publisher: str = "Open Image Archive"
    site_url: str = "https://archive.example.org/"
    repo_url: str = ""
    accession_prefix: str = "OIA-"
    accession_digits: int = Field(default=6, ge=3, le=12)
    licences: list[str] = Field(default_factory=lambda: ["CC0-1.0", "CC-BY-4.0"])
    # Where image paths that are not URLs resolve: a directory (relative to the
    # repository root), an https:// prefix or an s3:// prefix.
    storage_root: str = "example-data"
    # Public HTTPS address of the storage root, for viewer links and snippets.
    storage_public_url: str = ""
    s3_endpoint_url: str | None = None
    s3_anonymous: bool = True
    thumbnail_sizes: dict[str, int] = Field(default_factory=lambda: {"card": 256, "preview": 768})
    thumbnail_format: str = "webp"
    studies_per_page: int = Field(default=24, ge=1, le=500)  # the all-studies listing
    # Browse listings per facet value: bigger pages, since a facet with few values
    # (licence, scale) lists nearly the whole catalog under each value.
    facet_studies_per_page: int = Field(default=96, ge=1, le=500)
    limits: Limits = Field(default_factory=Limits)
    store: ArchiveStoreSettings = Field(default_factory=ArchiveStoreSettings)
    fixity: FixitySettings = Field(default_factory=FixitySettings)
    doi: DoiSettings = Field(default_factory=DoiSettings)
    usage: UsageSettings = Field(default_factory=UsageSettings)

    @field_validator("accession_prefix")
    @classmethod
    def _prefix_is_plain(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Z][A-Z0-9]{0,9}-?", v):
            raise ValueError("accession_prefix must be 1-10 capital letters/digits, optionally ending in '-'")
        return v

    @property
    def accession_pattern(self) -> re.Pattern[str]:
        from builder.core.patterns import accession_regex  # ASCII digits only, valid in JSON Schema too

        return re.compile(accession_regex(self.accession_prefix, self.accession_digits))

    def format_accession(self, number: int) -> str:
        return f"{self.accession_prefix}{number:0{self.accession_digits}d}"

    def accession_number(self, accession: str) -> int | None:
        if not self.accession_pattern.fullmatch(accession):
            return None
        return int(accession[len(self.accession_prefix):])


def find_root(start: Path | None = None) -> Path:
    """The archive repository root: the nearest folder holding archive.toml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / SETTINGS_FILE).is_file():
            return folder
    return here


def load_settings(root: Path | None = None) -> ArchiveSettings:
    root = find_root(root)
    path = root / SETTINGS_FILE
    data: dict = {}
    if path.is_file():
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    data = dict(data.get("archive", data))
    for env, key in (
        ("BIOARCHIVE_STORAGE_ROOT", "storage_root"),
        ("BIOARCHIVE_SITE_URL", "site_url"),
        ("BIOARCHIVE_S3_ENDPOINT_URL", "s3_endpoint_url"),
    ):
        if os.environ.get(env):
            data[key] = os.environ[env]
    if os.environ.get("BIOARCHIVE_ARCHIVE_STORE_URL"):  # CI and tests point custody at their own store
        data["store"] = {**data.get("store", {}), "url": os.environ["BIOARCHIVE_ARCHIVE_STORE_URL"]}
    return ArchiveSettings.model_validate(data)


def storage_root_path(settings: ArchiveSettings, root: Path) -> Path | None:
    """The storage root as a local folder, or None when it is a URL."""
    if "://" in settings.storage_root:
        return None
    p = Path(settings.storage_root)
    return p if p.is_absolute() else (root / p)
