"""``gaitpf live``: the live gait view (record and show, attach to a recording, or replay).

::

    gaitpf live --simulate [-o FILE.h5]                     # virtual insoles via the BLE path
    gaitpf live --left ADDR --right ADDR -o FILE.h5 --subject S01 --session 1
    gaitpf live --attach FILE.h5                            # follow `gaitpf record` in another process
    gaitpf live --replay FILE.h5 --speed 4
    ... [--screenshot OUT.png --after S] [--stats OUT.json]

Recording modes record with the same recorder as ``gaitpf record`` (crash-safe SWMR file,
flushed at least every ``--flush-interval`` s; closing the window closes the file
cleanly). Qt is imported only by this command. Unusable input (not a gaitpf recording,
no insoles, a recorder that stopped writing) gives one line on stderr and exit code 2.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import click

from .sources_opts import choice_from, source_options

__all__ = ["command"]


@click.command("live")
@click.option("--simulate", is_flag=True, help="Record and show two virtual insoles (no hardware).")
@click.option("--left", help="BLE address of the left insole (record and show).")
@click.option("--right", help="BLE address of the right insole.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Recording file (record modes; --simulate defaults to a file in the temp directory). An existing "
                   "file is left alone (see --overwrite); one another recorder is writing is refused.")
@click.option("--overwrite", is_flag=True, help="Record modes: replace -o FILE if it already exists.")
@click.option("--attach", type=click.Path(path_type=Path), default=None,
              help="Follow a recording another `gaitpf record` process is writing.")
@click.option("--replay", type=click.Path(path_type=Path), default=None, help="Replay a finished recording.")
@click.option("--speed", type=click.FloatRange(min=0.1, max=50), default=1.0, show_default=True,
              help="--replay / --simulate: times real time.")
@click.option("--subject", "subject_id", default=None, help="Record modes: pseudonymous subject id.")
@click.option("--session", default="1", show_default=True, help="Record modes: session label.")
@click.option("--trial", default="1", show_default=True, help="Record modes: trial label.")
@click.option("--body-mass-kg", type=click.FloatRange(20, 250), default=None,
              help="Body mass, kg (thresholds scale with body weight, as in `gaitpf analyze`).")
@click.option("--sensors", "n_sensors", type=click.IntRange(1, 1024), default=16, show_default=True,
              help="--simulate: sensors per insole.")
@click.option("--duration", "duration_s", type=click.FloatRange(min=0.1), default=None,
              help="Record modes: stop recording after S seconds (the window stays open).")
@click.option("--flush-interval", "flush_interval_s", type=click.FloatRange(0.05, 10), default=0.25,
              show_default=True, help="Record modes: longest time between two flushes to disk, s.")
@click.option("--stall-timeout", "stall_s", type=click.FloatRange(0.5, 600), default=5.0, show_default=True,
              help="--attach: seconds without new frames before warning that the recorder stopped.")
@click.option("--screenshot", type=click.Path(path_type=Path), default=None,
              help="Save the window as PNG after --after seconds and exit.")
@click.option("--after", "after_s", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Seconds before the screenshot.")
@click.option("--stats", "stats_path", type=click.Path(path_type=Path), default=None,
              help="Write frames drawn per second and notification-to-screen latency (JSON).")
@click.option("--seed", type=int, default=0, show_default=True, help="--simulate: random seed.")
@source_options
def command(simulate: bool, left: str | None, right: str | None, output: Path | None, overwrite: bool,
            attach: Path | None,
            replay: Path | None, speed: float, subject_id: str | None, session: str, trial: str,
            body_mass_kg: float | None, n_sensors: int, duration_s: float | None, flush_interval_s: float,
            stall_s: float, screenshot: Path | None, after_s: float, stats_path: Path | None, seed: int,
            **source_opts: object) -> None:
    """Live gait view: pressure maps, force with events, running symmetry, recording status."""
    from ..errors import InputError

    choice = choice_from(source_opts)
    choice.check(simulate=simulate, left=left, right=right)
    stream = choice.kind in ("moticon-udp", "lsl")
    modes = [name for name, on in (("--simulate", simulate), ("--left/--right", bool(left or right)),
                                   ("--moticon-udp/--lsl-in", stream),
                                   ("--attach", attach is not None), ("--replay", replay is not None)) if on]
    if len(modes) != 1:
        raise InputError("choose exactly one source: --simulate, --left ADDR --right ADDR -o FILE, "
                         "--moticon-udp HOST:PORT -o FILE, --lsl-in NAME -o FILE, "
                         f"--attach FILE or --replay FILE (got {', '.join(modes) or 'none'})")
    for path in (screenshot, stats_path):
        if path is not None and not (path.parent if str(path.parent) else Path(".")).is_dir():
            raise InputError(f"{path}: the directory does not exist; create it first")
    if speed != 1.0 and not (simulate or replay is not None):
        raise InputError("--speed only applies to --replay and --simulate")
    os.environ.setdefault("QT_API", "pyside6")
    from .._optional import require

    for module in ("PySide6.QtWidgets", "pyqtgraph"):  # before any recording starts
        require(module, "live", feature="gaitpf live")

    from ..io.guard import display_path
    from ..live import sources

    if replay is not None:
        _buf, feeder = sources.open_replay(replay, speed)
        title = f"gaitpf live — replay {display_path(replay.name)} ×{speed:g}"
    elif attach is not None:
        _buf, feeder = sources.open_attach(attach, stall_s=stall_s)
        title = f"gaitpf live — {display_path(attach.name)} (recording)"
    else:
        gait = None
        if simulate:
            from ..sim.gait_model import GaitParams

            gait = GaitParams(n_sensors=n_sensors, seed=seed,
                              body_mass_kg=body_mass_kg if body_mass_kg is not None else 70.0)
            subject_id = subject_id or "sim"
            body_mass_kg = gait.body_mass_kg  # the virtual subject's mass, stored with the recording
            if output is None:
                fd, name = tempfile.mkstemp(prefix=f"gaitpf-live-{time.strftime('%Y%m%d-%H%M%S')}-", suffix=".h5")
                os.close(fd)
                output = Path(name)
        else:
            if not stream and not (left and right):
                raise InputError("give both --left and --right insole addresses (see `gaitpf scan`), or --simulate")
            if output is None:
                raise InputError("give -o FILE.h5: live insoles are always recorded while shown")
        if not subject_id:
            raise InputError("give --subject (a pseudonymous subject id) for the recording")
        feeder = sources.open_record(output=output, left=left, right=right, simulate=simulate,
                                     subject_id=subject_id, session=session, trial=trial,
                                     body_mass_kg=body_mass_kg, flush_interval_s=flush_interval_s, speed=speed,
                                     gait=gait, seed=seed, duration_s=duration_s, overwrite=overwrite,
                                     source_choice=choice, lsl_out=bool(source_opts.get("lsl_out")))
        title = f"gaitpf live — recording {display_path(output.name)}" + (" (simulated insoles)" if simulate else "")

    from ..io.guard import printable
    from ..live.app import run_live

    # Qt copies sys.argv into QApplication and crashes on a non-UTF-8 file name in it
    sys.argv = [printable(a) for a in sys.argv]
    code = run_live(feeder, title=title, screenshot=screenshot, after_s=after_s, stats_path=stats_path)
    if code:
        sys.exit(code)
