"""``gaitpf analyze INPUT [--strides CSV] [--summary JSON] [--params JSON] [--rate-hz HZ]``.

INPUT is a gaitpf HDF5 recording or any importable file (gaitndd ``.hea``, gaitpdb ``.txt``,
CSV), recognised by content/extension. Outputs are written atomically: complete or absent.
Without output files a human-readable table goes to stdout.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import click

from .options import load_params, params_option, rate_option

#: Column order of STRIDES.csv (the CLI contract); further metric columns follow.
STRIDE_COLUMNS_FIRST = (
    "side", "stride_no", "ic_s", "to_s", "next_ic_s",
    "stride_time_s", "stance_time_s", "swing_time_s", "steady", "label",
)


def write_outputs(result: Any, *, strides_path: Path | None, summary_path: Path | None) -> None:
    """Write STRIDES.csv and SUMMARY.json atomically."""
    from ..io.atomic import atomic_path

    if strides_path is not None:
        table = result.strides
        first = [c for c in STRIDE_COLUMNS_FIRST if c in table]
        table = table[first + [c for c in table.columns if c not in first]]
        with atomic_path(strides_path) as tmp:
            table.to_csv(tmp, index=False, float_format="%.10g")
    if summary_path is not None:
        with atomic_path(summary_path) as tmp:
            Path(tmp).write_text(json.dumps(result.summary, indent=2, allow_nan=False) + "\n")


def render_table(result: Any) -> str:
    """A plain-text summary a clinician can read in a terminal."""
    from rich.console import Console
    from rich.table import Table

    s = result.summary
    console = Console(file=io.StringIO(), record=True, width=110, force_terminal=False, color_system=None)
    head = (
        f"{s.get('source') or 'recording'}: {s['duration_s']:.1f} s at {s['sampling_rate_hz']:g} Hz; "
        + ", ".join(f"{side} {s['n_strides'][side]} strides ({s['n_steady_strides'][side]} steady)"
                    for side in s["sides"])
    )
    console.print(head, soft_wrap=True)
    if s.get("cadence_spm") is not None:
        console.print(f"cadence {s['cadence_spm']:.1f} steps/min")
    table = Table(title="steady-state strides: left vs right", show_lines=False)
    for col in ("metric", "left mean", "right mean", "SI %", "GA %", "SA %"):
        table.add_column(col, justify="left" if col == "metric" else "right")

    def fmt(v: Any, spec: str = ".3f") -> str:
        return "—" if v is None else format(v, spec)

    for metric, row in (s.get("metrics") or {}).items():
        table.add_row(
            metric, fmt(row.get("left_mean")), fmt(row.get("right_mean")),
            fmt(row.get("si_pct"), ".1f"), fmt(row.get("ga_pct"), ".1f"), fmt(row.get("sa_pct"), ".1f"),
        )
    console.print(table)
    if s.get("pci_pct") is not None:
        console.print(f"phase coordination index PCI {s['pci_pct']:.1f} %")
    ts = s.get("trend_symmetry")
    if ts and ts.get("trend_symmetry") is not None:
        console.print(f"trend symmetry of mean force curves {ts['trend_symmetry']:.3f}")
    for w in s.get("warnings", []):
        console.print(f"note: {w}")
    return console.export_text()


@click.command("analyze")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("--strides", "strides_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write one row per stride to this CSV file.")
@click.option("--summary", "summary_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the summary (means, symmetry, PCI) to this JSON file.")
@params_option
@rate_option
def command(input_path: Path, strides_path: Path | None, summary_path: Path | None, params_file: Path | None,
            rate_hz: float | None) -> None:
    """Segment steps and compute stride metrics and left/right symmetry of INPUT."""
    from ..analysis import analyze
    from ..io import read_recording

    params = load_params(params_file)  # before the (maybe long) read
    recording = read_recording(input_path, sampling_rate_hz=rate_hz)
    result = analyze(recording, params)
    write_outputs(result, strides_path=strides_path, summary_path=summary_path)
    if strides_path is None and summary_path is None:
        click.echo(render_table(result), nl=False)
    else:
        s = result.summary
        written = ", ".join(str(p) for p in (strides_path, summary_path) if p is not None)
        click.echo(
            f"{input_path}: " + ", ".join(f"{side} {s['n_strides'][side]} strides" for side in s["sides"])
            + f" -> {written}"
        )
