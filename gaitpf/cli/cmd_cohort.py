"""``gaitpf cohort ROOT --by treatment -o cohort.parquet``: a study's tidy table and group plot.

One row per subject × session × metric × statistic (see :mod:`gaitpf.sessions.cohort`),
written as Parquet (``.parquet``) or CSV (``.csv``); ``--plot`` (default: next to the table,
``<name>_by_<field>.png``) draws the group mean ± 95 % CI of the headline asymmetry per
session number.
"""
from __future__ import annotations

from pathlib import Path

import click

from .cmd_progress import analysis_options, bootstrap_params
from .feedback import working

__all__ = ["command"]


@click.command("cohort")
@click.argument("root", type=click.Path(file_okay=False, path_type=Path))
@click.option("--by", default="treatment", show_default=True, help="Session metadata field that defines groups.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="cohort.parquet or .csv")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None,
              help="Group plot PNG (default: <output stem>_by_<by>.png; 'none' to skip).")
@analysis_options
def command(root: Path, by: str, output: Path, plot_path: Path | None, metric: str, index: str, n_boot: int,
            seed: int) -> None:
    """Tidy subjects x sessions x metrics table of every recording under ROOT."""
    from ..errors import InputError
    from ..io.atomic import atomic_path
    from ..sessions.cohort import build_cohort

    if output.suffix.lower() not in (".parquet", ".csv"):
        raise InputError(f"{output}: use a .parquet or .csv file name")
    with working(f"cohort of {root}: analyzing every recording and bootstrapping each subject"):
        table, notes = build_cohort(root, by=by, metric=metric, index=index, params=bootstrap_params(n_boot, seed))
    with atomic_path(output) as tmp:
        if output.suffix.lower() == ".parquet":
            table.to_parquet(tmp, index=False)
        else:
            table.to_csv(tmp, index=False)
    n_subj = table["subject_id"].nunique()
    a = table.attrs
    click.echo(f"{output}: {len(table)} rows, {n_subj} subject(s), groups by {by}: "
               f"{', '.join(sorted(map(str, table['group'].dropna().unique()))) or '–'}")
    click.echo(f"{a['n_files']} file(s) under {root}: {a['n_recordings']} recording(s) analyzed, "
               f"{a['n_files'] - a['n_recordings']} file(s) left out; {len(notes)} note(s) on what was "
               "left out (below)")
    if plot_path is None or str(plot_path).lower() != "none":
        from ..report.plots import cohort_plot

        fig = cohort_plot(table, by="group", metric=metric, index=index)
        if fig is not None:
            fig.axes[0].set_title(fig.axes[0].get_title().replace("by group", f"by {by}"))
            target = plot_path or output.with_name(f"{output.stem}_by_{by}.png")
            with atomic_path(target) as tmp:
                fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
            click.echo(f"group plot: {target}")
    for w in a.get("warnings", []):
        click.echo(f"warning: {w}", err=True)
    for n in notes:
        click.echo(f"left out: {n}", err=True)
