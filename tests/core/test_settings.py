"""The archive's settings come from archive.toml, with env overrides for CI."""

import pytest
from pydantic import ValidationError

from builder.core.settings import ArchiveSettings, find_root, load_settings, storage_root_path


def test_repository_settings_load_and_use_their_own_prefix(repo_root):
    settings = load_settings(repo_root)
    assert settings.accession_prefix == "OIA-"
    # The examples must not borrow an existing archive's prefix.
    assert settings.accession_prefix not in ("S-BIAD", "S-BSST", "EMPIAR-", "idr")
    assert settings.format_accession(7) == "OIA-000007"
    assert settings.accession_number("OIA-000123") == 123
    assert settings.accession_number("OIA-123") is None
    assert settings.accession_number("XYZ-000123") is None


def test_env_overrides_storage_root_and_site_url(repo_root, monkeypatch):
    monkeypatch.setenv("BIOARCHIVE_STORAGE_ROOT", "s3://bucket/prefix")
    monkeypatch.setenv("BIOARCHIVE_SITE_URL", "https://example.test/")
    settings = load_settings(repo_root)
    assert settings.storage_root == "s3://bucket/prefix"
    assert settings.site_url == "https://example.test/"
    assert storage_root_path(settings, repo_root) is None


def test_local_storage_root_resolves_against_the_repository(repo_root):
    settings = load_settings(repo_root)
    assert storage_root_path(settings, repo_root) == repo_root / "example-data"


def test_find_root_walks_up_to_archive_toml(repo_root):
    assert find_root(repo_root / "builder" / "model") == repo_root


def test_unknown_setting_is_refused(tmp_path):
    (tmp_path / "archive.toml").write_text('[archive]\naccesion_prefix = "X-"\n')
    with pytest.raises(ValidationError, match="accesion_prefix"):
        load_settings(tmp_path)


@pytest.mark.parametrize("prefix", ["", "lower-", "TOO-MANY-HYPHENS-", "A B"])
def test_accession_prefix_must_be_plain(prefix):
    with pytest.raises(ValidationError):
        ArchiveSettings(accession_prefix=prefix)
