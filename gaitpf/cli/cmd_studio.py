"""``gaitpf studio``: the clinician's workstation, one window for a whole visit.

::

    gaitpf studio [--root RECORDINGS]                  # real insoles (scan and assign in Devices)
    gaitpf studio --root DIR --simulate                # virtual insoles through the BLE path
    gaitpf studio --root DIR --simulate --autopilot --screenshots SHOTDIR

Patients, the visit form (saved as session metadata), devices, recording with the live
view, the trial check, and progress with the report export. Recordings land under
``ROOT/<subject>/<session>/T<k>.h5``, reports under ``ROOT``. Qt is imported only by this
command. ``--autopilot`` drives the real window through a whole visit (a new patient, or
the ``--subject`` given if it exists) and exits 0, saving a PNG per screen.
"""
from __future__ import annotations

import os
from pathlib import Path

import click

__all__ = ["command"]


@click.command("studio")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("recordings"),
              show_default=True, help="Recordings root (<root>/<subject>/<session>/<trial>.h5).")
@click.option("--simulate", is_flag=True, help="Two virtual insoles (no hardware) through the same BLE path.")
@click.option("--speed", type=click.FloatRange(0.5, 20), default=1.0, show_default=True,
              help="--simulate: virtual time runs this many times faster than real time.")
@click.option("--sensors", "n_sensors", type=click.IntRange(1, 64), default=16, show_default=True,
              help="--simulate: sensors per insole.")
@click.option("--seed", type=int, default=0, show_default=True, help="--simulate: random seed.")
@click.option("--autopilot", is_flag=True, help="Drive the window through a whole visit, then exit.")
@click.option("--screenshots", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="--autopilot: save a PNG of each screen in this folder.")
@click.option("--subject", "subject_id", default="PF-A01", show_default=True,
              help="--autopilot: patient id (a returning patient if it exists, else created).")
@click.option("--trial-seconds", "trial_s", type=click.FloatRange(0.5, 600), default=5.0, show_default=True,
              help="--autopilot: seconds recorded per trial after the first strides.")
@click.option("--trials", "n_trials", type=click.IntRange(1, 20), default=2, show_default=True,
              help="--autopilot: trials recorded in the visit.")
@click.option("--n-boot", type=click.IntRange(200, 100000), default=None,
              help="Bootstrap resamples of the progress CIs (default: as `gaitpf progress`).")
@click.option("--stats", "stats_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="--autopilot: write clicks and seconds to the first recorded trial (JSON).")
def command(root: Path, simulate: bool, speed: float, n_sensors: int, seed: int, autopilot: bool,
            screenshots: Path | None, subject_id: str, trial_s: float, n_trials: int, n_boot: int | None,
            stats_path: Path | None) -> None:
    """The clinician's workstation: patients, visit, devices, recording, trial check, progress."""
    from ..errors import InputError
    from ..sessions.metadata import check_subject_id

    if speed != 1.0 and not simulate:
        raise InputError("--speed only applies with --simulate")
    if (screenshots is not None or stats_path is not None) and not autopilot:
        raise InputError("--screenshots and --stats only apply with --autopilot")
    check_subject_id(subject_id)
    if not (os.environ.get("QT_QPA_PLATFORM") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise InputError("no display: run gaitpf studio on a desktop (X11 or Wayland), under `xvfb-run -a`, or "
                         "with QT_QPA_PLATFORM=offscreen (e.g. with --autopilot)")
    os.environ.setdefault("QT_API", "pyside6")
    from ..studio.run import run_studio

    run_studio(root, simulate=simulate, speed=speed, seed=seed, autopilot=autopilot, screenshots=screenshots,
               subject_id=subject_id, trial_s=trial_s, n_trials=n_trials, n_boot=n_boot, stats_path=stats_path, n_sensors=n_sensors)
