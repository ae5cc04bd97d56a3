"""``gaitpf compare A.h5 B.h5 [...] [--json]``: compare recordings of one subject.

The inputs are identified by the subject, session and trial stored in each recording
(and its date), never by file name: files of different sessions are pooled per session
and compared in session order (session number, date), the earliest being the baseline;
files of one session are compared trial by trial. The same recording twice is refused,
and so are different subjects unless ``--allow-mixed-subjects``. Per unit: left/right
means and the asymmetry with 95 % block-bootstrap CIs; change versus baseline (absolute
and relative, with CIs), the MDC95 and its kind, and the decision: a change is real only
when its CI excludes 0 and it exceeds the MDC95 (see :mod:`gaitpf.sessions.decision`).
"""
from __future__ import annotations

from pathlib import Path

import click

from .cmd_progress import analysis_options, bootstrap_params, emit

__all__ = ["command"]


@click.command("compare")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@click.option("--allow-mixed-subjects", is_flag=True,
              help="Compare recordings of different subjects (refused otherwise).")
@analysis_options
def command(files: tuple[Path, ...], as_json: bool, allow_mixed_subjects: bool, metric: str, index: str,
            n_boot: int, seed: int) -> None:
    """Compare recordings FILES of one subject (the earliest session is the baseline)."""
    from ..sessions.identity import compare_files

    from .feedback import working

    with working(f"comparing {len(files)} recordings: analyzing and bootstrapping"):
        progress = compare_files(list(files), metric=metric, index=index, params=bootstrap_params(n_boot, seed),
                                 allow_mixed_subjects=allow_mixed_subjects)
    emit(progress, as_json)
