"""``gaitpf batch ROOT -o OUT/ [--jobs N] [--scheduler ADDRESS] [--csv] [--quiet] [--force]``.

Re-analyzes every recording under ROOT (gaitpf HDF5, gaitndd ``.hea``, gaitpdb ``.txt``,
gaitpf CSV, vendor exports) and writes to OUT the partitioned Parquet datasets
``strides/``, ``summary/`` (one row per recording) and ``symmetry/`` (one file per
recording, written by the worker that analyzed it; each folder reads as one table:
``pandas.read_parquet("OUT/strides")``), their consolidated copies ``strides.parquet``,
``summary.parquet``, ``symmetry.parquet`` when at most ``--consolidate-max`` recordings
were analyzed (CSV copies with ``--csv``), ``failures.parquet``/``failures.csv`` and
``batch_report.json``. Results are cached in ``OUT/.cache/`` by input content, gaitpf
version and parameters: re-running after an interruption, or after adding recordings,
only analyzes what is new. See ``docs/batch.md``.

Exit codes: 0 all recordings analyzed; 1 some recordings failed (listed on stderr and in
``failures.csv``; the others are in the outputs); 2 usage error or the batch itself
could not run (missing ROOT, unwritable OUT, unreachable scheduler).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("batch")
@click.argument("root", type=click.Path(exists=True))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Output folder (created); holds the tables and the result cache.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Local worker processes [default: all cores].")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on an existing Dask distributed cluster (tcp://host:8786); needs gaitpf[cluster].")
@click.option("--params", "params_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help='Analysis parameters as JSON: {"events": {"high_fraction": 0.35}, "strides": {...}}.')
@click.option("--csv", is_flag=True, help="Also write strides.csv, summary.csv and symmetry.csv.")
@click.option("--consolidate-max", type=click.IntRange(min=0), default=None, metavar="N",
              help="Write the single-file tables (strides.parquet...) when at most N recordings were analyzed; "
                   "0: never [default: 2000]. The partitioned folders are always written.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar and no end-of-run summary (for scripts).")
@click.option("--force", is_flag=True, help="Recompute every recording, ignoring cached results.")
def command(root: str, out_dir: str, jobs: int | None, scheduler: str | None, params_file: str | None,
            csv: bool, consolidate_max: int | None, quiet: bool, force: bool) -> None:
    """Re-analyze every recording under ROOT in parallel, resumably, into OUT.

    Exit code 1 when some recordings failed (see OUT/failures.csv).
    """
    from ..errors import InputError
    from ..batch.runner import CONSOLIDATE_MAX, params_from_dict, run_batch

    if scheduler:  # before the output folder is touched
        from .._optional import require

        require("dask.distributed", "cluster", feature="gaitpf batch --scheduler")
    params = None
    if params_file:
        try:
            params = params_from_dict(json.loads(Path(params_file).read_text()))
        except json.JSONDecodeError as exc:
            raise InputError(f"{params_file}: not valid JSON ({exc})") from exc
    report = run_batch(root, out_dir, params=params, jobs=jobs, scheduler=scheduler, csv=csv, quiet=quiet,
                       force=force, consolidate_max=CONSOLIDATE_MAX if consolidate_max is None else consolidate_max)
    if not quiet:
        rate = report.recording_hours / report.elapsed_s if report.elapsed_s > 0 else 0.0
        click.echo(
            f"{report.n_total} recording(s): {report.n_computed} analyzed, {report.n_reused} reused from cache, "
            f"{report.n_failed} failed in {report.elapsed_s:.1f} s ({rate:.2f} recording-h/s) -> {out_dir}",
            err=True,
        )
    if report.failures:
        click.echo(f"gaitpf: {report.n_failed} recording(s) failed (see {Path(out_dir) / 'failures.csv'}):",
                   err=True)
        for f in report.failures:
            click.echo(f"  {f['path']}: {f['reason']}", err=True)
        sys.exit(1)  # SystemExit passes through click and gaitpf.cli.main unchanged
