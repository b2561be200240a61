"""What a study landing page's machine-readable descriptions share: its identifier to cite and their profiles.

(builder.site.signposting links to the RO-Crate and Croissant documents that
builder.site.rocrate and builder.site.croissant make; the three read these.)
"""

from __future__ import annotations

from builder.catalog.citation import doi_url
from builder.catalog.model import CatalogStudy
from builder.core.settings import ArchiveSettings

ROCRATE_VERSION = "1.2"  # the newest released RO-Crate specification the rocrate library writes
ROCRATE_PROFILE = f"https://w3id.org/ro/crate/{ROCRATE_VERSION}"
CROISSANT_PROFILE = "http://mlcommons.org/croissant/1.0"


def site_root(settings: ArchiveSettings) -> str:
    return settings.site_url if settings.site_url.endswith("/") else settings.site_url + "/"


def findable_doi(cs: CatalogStudy) -> str | None:
    """The study's findable DOI, when the catalog carries one (the DOI registry fills it for released studies)."""
    doi = getattr(cs, "doi", None)
    return doi if isinstance(doi, str) and doi else None


def cite_as(cs: CatalogStudy) -> str:
    """The persistent identifier to cite: the DOI when findable, else the stable landing page URL."""
    doi = findable_doi(cs)
    return doi_url(doi) if doi else cs.url


__all__ = ["CROISSANT_PROFILE", "ROCRATE_PROFILE", "ROCRATE_VERSION", "cite_as", "findable_doi", "site_root"]
