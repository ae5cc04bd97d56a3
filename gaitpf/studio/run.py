"""Start the studio: the acquisition thread, the window, and optionally the autopilot.

:func:`run_studio` is what ``gaitpf studio`` calls; it returns the exit code (0) and
raises :class:`~gaitpf.errors.GaitpfError` with one line when the autopilot could not go
through the visit or the virtual insoles could not start.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from ..errors import GaitpfError, OutputError

__all__ = ["run_studio"]

log = logging.getLogger(__name__)


def run_studio(root: Path, *, simulate: bool = False, speed: float = 1.0, seed: int = 0, autopilot: bool = False,
               screenshots: Path | None = None, subject_id: str = "PF-A01", trial_s: float = 5.0, n_trials: int = 2,
               n_boot: int | None = None, stats_path: Path | None = None, min_free_bytes: int | None = None,
               n_sensors: int = 16) -> int:
    """Open the studio on ``root`` until the window is closed (or the autopilot finished)."""
    t0 = time.monotonic()
    from .app import StudioWindow, make_app
    from .devices import DeviceService

    app = make_app()
    gait = None
    if simulate:
        from ..sim.gait_model import GaitParams

        gait = GaitParams(seed=seed, n_sensors=n_sensors, step_time_asymmetry_pct=6.0, load_asymmetry_pct=6.0,
                          heel_offload_pct=12.0, affected_side="left")
    service = DeviceService(simulate=simulate, gait=gait, speed=speed, seed=seed)
    try:
        service.start()
    except Exception as exc:
        service.stop()
        if isinstance(exc, GaitpfError):
            raise
        raise GaitpfError(f"the virtual insoles could not start: {type(exc).__name__}: {exc}") from exc
    params = None
    if n_boot is not None:
        from ..sessions.stats import BootstrapParams

        params = BootstrapParams(n_boot=n_boot, seed=seed or 20240611)
    try:
        win = StudioWindow(root, service, progress_params=params, min_free_bytes=min_free_bytes)
    except BaseException:
        service.stop()
        raise
    win.show()
    pilot = None
    if autopilot:
        from .autopilot import Autopilot

        if screenshots is not None:
            screenshots.mkdir(parents=True, exist_ok=True)
        pilot = Autopilot(win, subject_id=subject_id, screenshots=screenshots, trial_s=trial_s, n_trials=n_trials,
                          t0_monotonic=t0)
        pilot.done.connect(win.close)
        pilot.start()
    from ..live.app import exec_closing_on_signals

    try:
        exec_closing_on_signals(app, win.close)
    finally:
        if win.isVisible():
            win.close()
        else:
            win.shutdown()
    if pilot is not None:
        if stats_path is not None:
            from ..io.atomic import atomic_path

            try:
                with atomic_path(stats_path) as tmp:
                    Path(str(tmp)).write_text(json.dumps({**pilot.stats, "error": pilot.error}, indent=2))
            except OSError as exc:
                raise OutputError(f"{stats_path}: cannot write ({exc})") from exc
        if pilot.error is not None:
            raise GaitpfError(pilot.error)
        for p in pilot.shots:
            print(f"screenshot -> {p}", flush=True)
        for p in pilot.stats.get("report", []):
            print(f"report -> {p}", flush=True)
        print(f"autopilot: visit of {subject_id} done in {pilot.stats.get('seconds_total', 0):.1f} s, "
              f"{pilot.stats.get('clicks_to_first_trial')} clicks to the first recorded trial", flush=True)
    return 0
