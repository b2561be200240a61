"""Checks of derived studies (DRV): each source named in ``derived_from`` must be an archived, released
study (version, image) whose content is still the one the derived data were made from.

Run by `bioarchive validate` (builder.curation.derived) on every record that names sources.
"""

from __future__ import annotations

from builder.core.checks import Severity, register

AREA = "derived"

SOURCE_UNKNOWN = register(
    "DRV001", Severity.ERROR, "A `derived_from` source is not a study of this archive",
    "Check the accession on the source study's page (it looks like OIA-000123); a source must be archived here "
    "first. Data from elsewhere goes under `links:` instead.",
    area=AREA,
)
SOURCE_NOT_RELEASED = register(
    "DRV002", Severity.ERROR, "A `derived_from` source (or that version of it) is not released yet",
    "Wait until the source study is released (its release date has passed), or ask its authors to release it "
    "first; a derived study can only build on data that everyone can already see.",
    area=AREA,
)
SOURCE_VERSION_UNKNOWN = register(
    "DRV003", Severity.ERROR, "A `derived_from` source names a version the source study never had",
    "Use a version listed on the source study's page (its `version:` history); leave `version` out for the "
    "latest.",
    area=AREA,
)
SOURCE_IMAGE_UNKNOWN = register(
    "DRV004", Severity.ERROR, "A `derived_from` source names an image that the source study (version) does not hold",
    "Copy the image name from the source study's page (the image list), or leave `image` out when the "
    "derived data build on the whole study.",
    area=AREA,
)
SOURCE_CHECKSUM_DIFFERS = register(
    "DRV005", Severity.ERROR, "A `derived_from` checksum differs from the source image's pinned content checksum",
    "Copy `checksum` from the source's images.lock (`content.tree_checksum`) or its download manifest for the "
    "version you used, and pin that `version`; if the source changed since, check the derived data against the "
    "new images before updating the checksum.",
    area=AREA,
)
SOURCE_CHECKSUM_MISSING = register(
    "DRV006", Severity.ERROR, "A `derived_from` source names an image without its checksum, or a checksum "
    "without an image",
    "Give `image` and `checksum` together: the checksum pins the exact bytes of that image the derived data "
    "were made from (content.tree_checksum in the source's images.lock).",
    area=AREA,
)
SOURCE_IS_SELF = register(
    "DRV007", Severity.ERROR, "A study names itself as its own `derived_from` source",
    "Name the study the data were made from; earlier versions of this study are listed on its page anyway.",
    area=AREA,
)
SOURCE_WITHDRAWN = register(
    "DRV008", Severity.WARNING, "A `derived_from` source has been withdrawn",
    "Read the source's withdrawal reason on its page: if the source data were taken down for a reason that "
    "also applies to data made from them (consent, errors), withdraw or correct this study too.",
    area=AREA,
)
