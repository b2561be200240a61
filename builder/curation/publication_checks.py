"""Checks of the publishing side: DOIs at DataCite (DOI), reuse counts from access logs (USE), and
a new study re-publishing another published study's images (SUB040-041, builder.curation.image_reuse).

DOI and USE findings are not about a record: they are reported by `bioarchive doi`
(terminal and job summary) and `bioarchive usage`, each with its id and fix. SUB040-041
are about a record and reported by `bioarchive validate` and `bioarchive review`.
"""

from __future__ import annotations

from builder.core.checks import Severity, register

DOI_AREA = "doi"
USAGE_AREA = "usage"

DOI_UNREACHABLE = register(
    "DOI001", Severity.WARNING, "DataCite could not be reached",
    "Nothing to do if DataCite is down: the next publish run retries. Otherwise check [archive.doi] api_url "
    "in archive.toml.",
    area=DOI_AREA,
)
DOI_UNAUTHORISED = register(
    "DOI002", Severity.ERROR, "DataCite refused the credentials (401) or the prefix (403)",
    "Check [archive.doi] repository_id and prefix in archive.toml, and the DATACITE_PASSWORD secret of the "
    "publish workflow.",
    area=DOI_AREA,
)
DOI_REJECTED = register(
    "DOI003", Severity.ERROR, "DataCite rejected a DOI's metadata or state change (422)",
    "Read the field DataCite names; the metadata is the study's DataCite export (fix the record, or report a "
    "bug in the builder). The next publish run retries.",
    area=DOI_AREA,
)
DOI_SERVER_ERROR = register(
    "DOI004", Severity.WARNING, "DataCite answered with a server error (5xx)",
    "Nothing to do: the next publish run retries.",
    area=DOI_AREA,
)
DOI_NOT_SET_UP = register(
    "DOI005", Severity.INFO, "DOIs are not configured, or the DataCite password is not in the environment",
    "Set prefix and repository_id under [archive.doi] in archive.toml, and give the publish job the "
    "DATACITE_PASSWORD secret (docs/guides/policies.md, DOIs).",
    area=DOI_AREA,
)
USAGE_MALFORMED_LINE = register(
    "USE001", Severity.WARNING, "An access log line is in neither the combined nor the S3 server access log format",
    "Pass logs in the combined log format or the S3 server access log format; such lines are skipped and the "
    "rest is counted.",
    area=USAGE_AREA,
)
USAGE_LOGS_IN_REPOSITORY = register(
    "USE002", Severity.ERROR, "Access logs were given from inside the archive's repository",
    "Move the logs out of the repository (they hold IP addresses and must never be committed) and rerun.",
    area=USAGE_AREA,
)

SUBMISSION_AREA = "submission"
IMAGE_OF_PUBLISHED_STUDY = register(
    "SUB040", Severity.WARNING, "An image is another published study's data",
    "Reviewer: check that the depositor may re-publish these images. Depositor: if this study was made from "
    "the other one, declare it under `derived_from:` (accession, image, checksum); otherwise point the URL at "
    "your own data.",
    area=SUBMISSION_AREA,
)
IMAGE_REUSED_UNDER_OTHER_LICENCE = register(
    "SUB041", Severity.ERROR, "Another published study's images under a different licence",
    "Publish the images under the source study's licence, or declare the source under `derived_from:` "
    "(accession, image, checksum) so the reuse is cited and reviewed as a derived study.",
    area=SUBMISSION_AREA,
)
