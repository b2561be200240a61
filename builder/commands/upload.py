"""`bioarchive upload studies/<ACC> --to s3://staging-bucket/prefix`: send converted images, then lock them.

Uploads every image of the record whose URL is a local converted image
(``images/<name>.ome.zarr``, as ``bioarchive new --from`` writes it) to
``<prefix>/<ACC>/<name>.ome.zarr``, resuming and verifying by checksum,
rewrites those URLs in study.yaml and runs ``bioarchive lock``. Credentials
come from the usual AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
or profile; the archive's operators give the bucket and the keys.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click


@click.command("upload")
@click.argument("study", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--to",
    "destination",
    envvar="BIOARCHIVE_STAGING_URL",
    required=True,
    metavar="s3://BUCKET/PREFIX",
    help="The staging area the archive's operators gave you (or set BIOARCHIVE_STAGING_URL).",
)
@click.option(
    "--endpoint-url",
    envvar="BIOARCHIVE_S3_ENDPOINT_URL",
    default=None,
    help="S3-compatible endpoint (default: AWS, or archive.toml s3_endpoint_url).",
)
@click.option("--no-lock", is_flag=True, help="Do not run `bioarchive lock` after the upload.")
def command(study: Path, destination: str, endpoint_url: str | None, no_lock: bool) -> None:
    """Upload the converted images of STUDY (studies/<ACCESSION>) and point its record at them."""
    from builder.convert.errors import ConversionError
    from builder.convert.upload import upload_study
    from builder.core.settings import ArchiveSettings, find_root, load_settings

    folder = study.resolve()
    if not (folder / "study.yaml").is_file():
        raise click.ClickException(
            f"{study}/study.yaml does not exist; give the folder of your study, e.g. studies/OIA-000042"
        )
    try:
        settings = load_settings(find_root(folder))
    except Exception:  # noqa: BLE001 - outside an archive checkout: the default limits, AWS itself
        settings = ArchiveSettings()
    if endpoint_url is None:
        endpoint_url = settings.s3_endpoint_url
    try:
        report = upload_study(
            folder, destination, endpoint_url=endpoint_url, progress=sys.stderr.isatty(), settings=settings
        )
    except ConversionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"uploaded {report.sent} object(s) ({report.bytes_sent} bytes), {report.skipped} already there and verified"
    )
    for name, url in report.images.items():
        click.echo(f"  {name}: {url}")
    click.echo(f"rewrote the image URLs in {study}/study.yaml")
    if no_lock:
        return
    if endpoint_url:
        os.environ["BIOARCHIVE_S3_ENDPOINT_URL"] = endpoint_url  # lock reads the images from the same store
    try:
        # through the command group, not an import: commands are independent of each other
        context = click.get_current_context()
        lock_command = context.find_root().command.get_command(context, "lock")  # type: ignore[attr-defined]
        context.invoke(lock_command, study=study)
    except SystemExit as exc:
        if exc.code:
            click.echo(f"The images are uploaded; fix the record and run `bioarchive lock {study}`.", err=True)
        raise
