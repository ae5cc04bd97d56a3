"""``gaitpf info FILE [--json]``: frames, duration, gaps, clock and clean close of a recording."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def _fmt(value: Any, spec: str = "", none: str = "n/a") -> str:
    if value is None:
        return none
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return format(value, spec) if spec else str(value)


def render(info: dict[str, Any]) -> str:
    """Human-readable text of :func:`gaitpf.io.describe_file`'s dictionary."""
    mass = _fmt(info["body_mass_kg"], "g", "unknown")
    lines = [
        f"{info['path']}  ({info['format']}"
        + (f", schema v{info['schema_version']})" if info["schema_version"] is not None else ")"),
        f"subject {info['subject_id']}  session {info['session']}  trial {info['trial']}  "
        f"body mass {mass}{' kg' if info['body_mass_kg'] is not None else ''}  created {info['created_utc']}",
        f"closed cleanly: {_fmt(info['closed_cleanly'])}"
        + ("  (opened read-only in SWMR mode: the recorder is still running or was killed; "
           "`gaitpf repair` fixes a killed one)" if info["opened_swmr"] else ""),
        f"annotations: {info['n_annotations']}",
    ]
    header = ("side", "frames", "sensors", "unit", "rate_hz", "duration_s", "lost", "gaps", "gap_s", "clock_ms",
              "layout")
    rows = [header]
    inconsistent = []
    for side, f in info["feet"].items():
        ok = f.get("time_consistent", True)
        if not ok:
            inconsistent.append(side)
        rows.append((
            side, str(f["frames"]), str(f["sensors"]), f["unit"], f"{f['sampling_rate_hz']:g}",
            _duration(f["duration_s"]) + ("" if ok else "*"), _fmt(f["n_lost_frames"]), str(f["gaps"]["count"]),
            f"{f['gaps']['total_s']:.2f}", _fmt(f["clock_residual_ms"], ".2f"), _fmt(f["layout_id"], none="-"),
        ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if inconsistent:
        lines.append(f"* {' and '.join(inconsistent)}: rows at the end hold no frame (a write failed); the "
                     "duration counts the real frames only; `gaitpf repair` keeps just those")
    return "\n".join(lines)


def _duration(value: Any) -> str:
    """Duration cell, s: never negative (an impossible value shows as n/a)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return f"{v:.2f}" if v >= 0 and v == v and v != float("inf") else "n/a"


@click.command("info")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def command(file: Path, as_json: bool) -> None:
    """Describe a recording FILE: per foot frames, sensors, duration, lost frames, gaps, clock."""
    from ..io import describe_file

    info = describe_file(file)
    click.echo(json.dumps(info, indent=2, sort_keys=True) if as_json else render(info))
