"""``gaitpf import INPUT -o OUT.h5``: convert any readable recording to gaitpf HDF5.

The recording keeps no path or file name of INPUT (clinics name files after patients): its
subject id is ``--subject``, a CSV's own ``subject_id`` line, or the pseudonym
``anon-XXXXXXXX`` from the content hash, and ``source["sha256"]`` identifies the input
(:mod:`gaitpf.io.provenance`).
"""
from __future__ import annotations

import math
from pathlib import Path

import click

from ..errors import InputError
from ..model import Recording
from .options import rate_option


def summary_line(path: Path, rec: Recording, fmt: str) -> str:
    """One line: where, who, and per foot frames x sensors, duration and rate; ``fmt`` = input format."""
    feet = ", ".join(f"{s} {f.n_samples} frames x {f.n_sensors} sensors ({f.unit})" for s, f in rec.feet.items())
    return (
        f"{path}: subject {rec.subject_id} session {rec.session} trial {rec.trial}: {feet}; "
        f"{rec.duration_s:.1f} s at {rec.sampling_rate_hz:g} Hz (from {fmt})"
    )


@click.command("import")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="HDF5 file to write.")
@click.option("--right", "right_path", type=click.Path(path_type=Path), default=None,
              help="The right foot's file when INPUT holds the left foot only (e.g. Tekscan .asf).")
@click.option("--subject", default=None,
              help="Pseudonymous subject id (default: the CSV's own subject_id line, else anon-XXXXXXXX from "
                   "the file's SHA-256; never the file name).")
@click.option("--session", default=None, help="Session label (default: from the input, else 1).")
@click.option("--trial", default=None, help="Trial label (default: from the input, else 1).")
@click.option("--body-mass-kg", type=float, default=None, help="Body mass in kg (scales force thresholds).")
@rate_option
def command(
    input_path: Path, output: Path, right_path: Path | None, subject: str | None, session: str | None,
    trial: str | None, body_mass_kg: float | None, rate_hz: float | None,
) -> None:
    """Convert INPUT (PhysioNet gaitndd/gaitpdb, CSV, a vendor export or gaitpf HDF5) to a gaitpf HDF5 recording."""
    from ..io import detect_format, read_recording, write_recording

    if body_mass_kg is not None and not (math.isfinite(body_mass_kg) and 0 < body_mass_kg < 500):
        raise InputError(f"--body-mass-kg {body_mass_kg}: give the body mass in kg, a number between 0 and 500")
    fmt = detect_format(input_path)
    rec = read_recording(input_path, sampling_rate_hz=rate_hz)
    if right_path is not None:
        from ..io.pairing import pair_recordings

        rec = pair_recordings(rec, read_recording(right_path, sampling_rate_hz=rate_hz), input_path, right_path)
    changes = {
        k: v for k, v in (("subject_id", subject), ("session", session), ("trial", trial),
                          ("body_mass_kg", body_mass_kg)) if v is not None
    }
    if changes:
        rec = rec.replace(**changes)
    write_recording(output, rec)
    click.echo(summary_line(output, rec, fmt))
