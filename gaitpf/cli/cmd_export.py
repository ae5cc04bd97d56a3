"""``gaitpf export RECORDING -o OUT``: frames and gait events in the formats gait labs use.

The format comes from OUT's extension: ``.csv`` / ``.parquet`` (tidy frames table plus
``OUT-stem.events.<ext>``, :mod:`gaitpf.io.export_tidy`) or ``.c3d`` (analog channels per
sensor, total force and COP per foot, Foot Strike / Foot Off events,
:mod:`gaitpf.io.export_c3d`). Gait events are gaitpf's own (``gaitpf.analysis``); a
recording without walking is exported without gait events, and the line says so.
"""
from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pandas as pd

from ..errors import NoWalkingError, OutputError
from .options import rate_option

FORMATS = (".csv", ".parquet", ".c3d")


def gait_events(rec) -> tuple[pd.DataFrame, str | None]:
    """gaitpf's foot strikes and foot offs (``time_s``, ``side``, ``event``) and a note if none."""
    from ..analysis import analyze

    try:
        strides = analyze(rec).strides
    except NoWalkingError as exc:
        return pd.DataFrame(columns=["time_s", "side", "event"]), str(exc)
    rows = []
    for side, g in strides.groupby("side", sort=False):
        ics = np.unique(np.concatenate([g["ic_s"].to_numpy(float), g["next_ic_s"].dropna().to_numpy(float)]))
        rows += [(t, side, "foot_strike") for t in ics]
        rows += [(t, side, "foot_off") for t in np.unique(g["to_s"].dropna().to_numpy(float))]
    ev = pd.DataFrame(rows, columns=["time_s", "side", "event"])
    return ev.sort_values(["time_s", "side"], kind="stable", ignore_index=True), None


@click.command("export")
@click.argument("input_path", metavar="RECORDING", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Output file: .csv, .parquet (tidy frames + .events table) or .c3d.")
@rate_option
def command(input_path: Path, output: Path, rate_hz: float | None) -> None:
    """Export RECORDING (any readable recording) as tidy CSV/Parquet tables or C3D."""
    from ..io import read_recording

    suffix = output.suffix.lower()
    if suffix not in FORMATS:
        raise OutputError(f"{output}: unknown export format {output.suffix!r}; use one of {', '.join(FORMATS)}")
    rec = read_recording(input_path, sampling_rate_hz=rate_hz)
    events, note = gait_events(rec)
    if suffix == ".c3d":
        from ..io.export_c3d import write_c3d

        written = [write_c3d(output, rec, events)]
    else:
        from ..io.export_tidy import write_tidy

        written = list(write_tidy(output, rec, events))
    n_ev = f"{len(events)} gait events" if note is None else f"no gait events ({note})"
    click.echo(f"{input_path}: {', '.join(rec.sides)} -> {', '.join(str(p) for p in written)}; {n_ev}")
