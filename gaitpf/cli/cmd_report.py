"""``gaitpf report SUBJECT -o report.html [-o report.pdf]``: the clinician's report.

The HTML file is self-contained (figures inline, no network needed); the PDF is the same
document printed by headless Chromium (A4; page 1 is the one-page summary). SUBJECT is a
subject folder or an id under ``--root``.
"""
from __future__ import annotations

from pathlib import Path

import click

from .cmd_progress import analysis_options, bootstrap_params
from .feedback import working

__all__ = ["command"]


@click.command("report")
@click.argument("subject")
@click.option("-o", "--output", "outputs", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Report file, .html or .pdf (repeatable).")
@click.option("--root", type=click.Path(file_okay=False), default="recordings", show_default=True,
              help="Recordings root (<root>/<subject>/<session>/<trial>.h5).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Processes analysing trials in parallel.")
@analysis_options
def command(subject: str, outputs: tuple[Path, ...], root: str, workers: int, metric: str, index: str,
            n_boot: int, seed: int) -> None:
    """Write SUBJECT's report: one-page summary (change, decision, pain, pressure maps, confounders), then details."""
    from ..errors import InputError
    from ..report import write_reports
    from ..sessions.compare import subject_progress

    for out in outputs:
        if out.suffix.lower() not in (".html", ".htm", ".pdf"):
            raise InputError(f"{out}: unknown report format; use .html or .pdf")
    if any(out.suffix.lower() == ".pdf" for out in outputs):
        from ..report.pdf import find_chromium

        find_chromium()  # say so before minutes of analysis
    with working(f"report of {subject}") as step:
        step("analyzing every trial and bootstrapping the sessions")
        progress = subject_progress(subject, root=root, metric=metric, index=index,
                                    params=bootstrap_params(n_boot, seed), workers=workers)
        step(f"writing {', '.join(str(o) for o in outputs)}")
        written = write_reports(progress, outputs)
    for out in written:
        click.echo(f"report written: {out}")
    click.echo(progress.headline)
    for w in progress.left_out:
        click.echo(f"left out: {w}", err=True)
