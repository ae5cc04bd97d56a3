"""``gaitpf simulate -o FILE.h5 --duration S [...]``: a virtual-insole recording with ground truth.

The trial (standing, walking, a pause/turn halfway, walking, standing) is rendered in
blocks straight into a gaitpf HDF5 file (schema v1, the same content
:func:`gaitpf.io.write_recording` produces, true stance phases under ``/truth``), so an
hour of 2 × 1000 sensels never has to fit in memory. The file is written atomically.
"""
from __future__ import annotations

import math
import os
import time
from typing import Any

import click
import numpy as np

__all__ = ["command", "write_simulation"]


def write_simulation(
    path: str | os.PathLike[str],
    params: Any,
    *,
    duration_s: float,
    subject_id: str = "sim",
    session: str = "1",
    trial: str = "1",
) -> dict[str, int]:
    """Simulate ``duration_s`` seconds with ``params`` and write them to ``path``.

    Parameters
    ----------
    path : path-like
        Output HDF5 file (replaced atomically).
    params : gaitpf.sim.gait_model.GaitParams
    duration_s : float
        Trial duration, s.
    subject_id, session, trial : str

    Returns
    -------
    dict {"left": int, "right": int}
        Number of true stance phases per side.
    """
    from ..io.atomic import atomic_path
    from ..io.hdf5_writer import FootSpec, RecordingWriter
    from ..model import SIDES
    from ..sim.gait_model import BLOCK_SAMPLES, GaitSimulator

    sim = GaitSimulator(params, duration_s)
    truth = {s: sim.truth(s) for s in SIDES}
    feet = {
        s: FootSpec(params.n_sensors, "N", sim.fs, sim.layouts[s], sim.device(s)) for s in SIDES
    }
    n = sim.n_samples
    with atomic_path(path) as tmp:
        with RecordingWriter(
            tmp, subject_id=subject_id, session=session, trial=trial, feet=feet,
            body_mass_kg=params.body_mass_kg, swmr=False, source=sim.recording_metadata(), truth=truth,
        ) as writer:
            for b in range(math.ceil(n / BLOCK_SAMPLES)):
                lo, hi = b * BLOCK_SAMPLES, min((b + 1) * BLOCK_SAMPLES, n)
                block = sim.render(lo, hi)
                time_s = np.arange(lo, hi) / sim.fs
                for s in SIDES:
                    writer.append(s, block[s], time_s=time_s)
            writer.add_annotations(sim.standing_periods())
    return {s: len(truth[s]) for s in SIDES}


@click.command("simulate")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="HDF5 file to write (replaced atomically).")
@click.option("--duration", "duration_s", required=True, type=click.FloatRange(min=1.0),
              help="Trial duration in seconds (3 s standing, walking, 2 s pause, walking, 3 s standing).")
@click.option("--cadence-spm", type=click.FloatRange(40, 200), default=108.0, show_default=True,
              help="Cadence, steps per minute.")
@click.option("--stance-pct", type=click.FloatRange(52, 80), default=61.0, show_default=True,
              help="Mean stance time, % of the stride.")
@click.option("--asymmetry", "asymmetry_pct", type=click.FloatRange(0, 40), default=0.0, show_default=True,
              help="Stance-time symmetry index in %: the affected side's stance is shorter (antalgic gait).")
@click.option("--load-asymmetry", "load_asymmetry_pct", type=click.FloatRange(0, 60), default=0.0,
              show_default=True, help="Force symmetry index in %: the affected side carries less.")
@click.option("--affected-side", type=click.Choice(["left", "right"]), default=None,
              help="Painful side; required with --asymmetry/--load-asymmetry/--heel-offload.")
@click.option("--heel-offload", "heel_offload_pct", type=click.FloatRange(0, 90), default=0.0, show_default=True,
              help="Heel load reduction on the affected side, % (plantar fasciitis).")
@click.option("--stride-cv", "stride_cv_pct", type=click.FloatRange(0, 10), default=2.0, show_default=True,
              help="Stride-time coefficient of variation, %.")
@click.option("--noise-pct", type=click.FloatRange(0, 20), default=1.0, show_default=True,
              help="Sensor noise SD, % of body weight / number of sensors.")
@click.option("--sensors", "n_sensors", type=click.IntRange(1, 5000), default=16, show_default=True,
              help="Sensors per insole: 16 (gaitpf-16), 8 (gaitpdb-8), else a grid of N sensels.")
@click.option("--rate-hz", "sampling_rate_hz", type=click.FloatRange(20, 2000), default=100.0, show_default=True,
              help="Sampling rate, Hz.")
@click.option("--body-mass-kg", type=click.FloatRange(20, 250), default=70.0, show_default=True,
              help="Body mass, kg.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed (same seed, same data).")
@click.option("--subject", "subject_id", default="sim", show_default=True, help="Pseudonymous subject id.")
@click.option("--session", default="1", show_default=True, help="Session label.")
@click.option("--trial", default="1", show_default=True, help="Trial label.")
def command(output: str, duration_s: float, subject_id: str, session: str, trial: str, **model: Any) -> None:
    """Write a virtual-insole recording with ground-truth gait events to OUTPUT.

    Prints one line: duration, true strides per side, and how long it took.
    """
    from ..sim.gait_model import GaitParams

    start = time.perf_counter()
    params = GaitParams(
        cadence_spm=model["cadence_spm"], stance_pct=model["stance_pct"],
        step_time_asymmetry_pct=model["asymmetry_pct"], load_asymmetry_pct=model["load_asymmetry_pct"],
        affected_side=model["affected_side"], heel_offload_pct=model["heel_offload_pct"],
        stride_cv_pct=model["stride_cv_pct"], noise_pct=model["noise_pct"], n_sensors=model["n_sensors"],
        sampling_rate_hz=model["sampling_rate_hz"], body_mass_kg=model["body_mass_kg"], seed=model["seed"],
    )
    counts = write_simulation(output, params, duration_s=duration_s, subject_id=subject_id, session=session,
                              trial=trial)
    took = time.perf_counter() - start
    click.echo(
        f"simulated {duration_s:g} s (2 x {params.n_sensors} sensors @ {params.sampling_rate_hz:g} Hz): "
        f"{counts['left']} left / {counts['right']} right strides -> {output} in {took:.2f} s"
    )
