"""`bioarchive serve`: build, serve site/ on 127.0.0.1, rebuild on changes.

The server and the watch filter are builder.site.preview's. Rebuilds run the
whole `bioarchive build` pipeline (which swaps site/ in only when it succeeds),
so the preview never shows a half-built site, and a broken record or template
shows as a message here while the last good site stays up.
"""

from __future__ import annotations

import threading
from pathlib import Path

import click
from rich.console import Console


@click.command(name="serve")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="The archive repository (default: found from the current folder).")
@click.option("--site-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the site is built (default: <root>/site).")
@click.option("--port", type=int, default=8000, show_default=True, help="Port on 127.0.0.1.")
@click.option("--watch/--no-watch", default=True, show_default=True,
              help="Rebuild when a record, template, page or setting changes.")
def command(root: Path | None, site_dir: Path | None, port: int, watch: bool) -> None:
    """Preview the website locally, rebuilding when records change."""
    from watchfiles import watch as watch_changes

    from builder.core.settings import find_root
    from builder.site.build import build
    from builder.site.preview import make_server, rebuild_filter, watched_paths

    console = Console(stderr=True)
    root = find_root(root)
    site_dir = (site_dir or root / "site").resolve()

    def rebuild(workers: int | None = None) -> bool:
        try:
            report = build(root, site_dir=site_dir, console=console, allow_invalid=True,  # a preview shows the rest
                           workers=workers)
        except Exception as exc:  # noqa: BLE001 - keep serving the last good site
            console.print(f"[red]✗ build failed:[/] {type(exc).__name__}: {exc}", highlight=False)
            output = getattr(exc, "output", "")
            if output:
                console.print(output[-3000:], markup=False, highlight=False)
            return False
        if report.studies_skipped:
            console.print(f"[yellow]left out (errors):[/] {', '.join(report.studies_skipped)}", highlight=False)
        return True

    if not rebuild() and not site_dir.is_dir():
        raise click.ClickException("the first build failed and there is no earlier site to serve")
    server = make_server(site_dir, port=port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    console.print(f"[bold]Serving[/] {site_dir} at http://127.0.0.1:{server.server_port}/ (Ctrl+C to stop)")
    try:
        if watch:
            for changes in watch_changes(*watched_paths(root), watch_filter=rebuild_filter(root, site_dir)):
                names = sorted({Path(p).name for _, p in changes})
                console.print(f"[dim]changed: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}; rebuilding[/]")
                # The server's thread is running now: forking build workers from a process with
                # threads risks a child inheriting a lock some thread held. Rebuilds run in-process.
                rebuild(workers=0)
        else:
            thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
