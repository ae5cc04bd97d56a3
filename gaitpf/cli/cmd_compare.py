"""``gaitpf compare A.h5 B.h5 [...] [--json]``: compare trials, the first being the baseline.

Each file is treated as its own session: left/right means and the asymmetry with 95 %
block-bootstrap CIs, change versus the first file (absolute and relative, with CIs) and
whether it exceeds the MDC95 (split-half reliability of the files themselves).
"""
from __future__ import annotations

from pathlib import Path

import click

from .cmd_progress import analysis_options, bootstrap_params, emit

__all__ = ["command"]


@click.command("compare")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the full result as JSON.")
@analysis_options
def command(files: tuple[Path, ...], as_json: bool, metric: str, index: str, n_boot: int, seed: int) -> None:
    """Compare recordings FILES (the first is the baseline)."""
    from ..sessions.compare import compare_files

    progress = compare_files(list(files), metric=metric, index=index, params=bootstrap_params(n_boot, seed))
    emit(progress, as_json)
