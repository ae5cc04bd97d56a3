"""The embedded demo: one plantar-fasciitis patient over several treatment sessions.

``gaitpf demo [--out DIR]`` (the main job of ``make demo``):

1. simulates a patient with an antalgic gait on the painful (left) side — shorter stance,
   less load and heel off-loading (weight shifted to the forefoot) — whose asymmetry
   decreases over the sessions (exponential recovery plus day-to-day noise), with
   realistic, serially correlated stride variability (AR(1) stride times, CV 3 %), force
   and contact-area variation from stride to stride, foot to foot and session to session
   (:func:`session_plan`), a slowly rising cadence and falling pain scores;
2. records every trial from the virtual insoles' gait simulator
   (:func:`gaitpf.sim.gait_model.simulate_trial` + :func:`gaitpf.io.write_recording`, the
   same signals the virtual insoles stream). With ``--ble`` every trial instead goes
   through the real BLE path of ``gaitpf record --simulate`` (private D-Bus, fake BlueZ,
   bleak client, decoder, clock alignment, crash-safe recorder), one process per trial at
   ``speed`` × real time; a trial that fails there is written directly and the output says
   so. The direct path is the default because the BLE path at high speed-ups needs more
   than the 2-minute budget on a 2-core machine;
3. adds the session metadata afterwards (date, session number, treatment, affected side,
   pain, condition), as a clinic would with ``gaitpf session set``;
4. analyzes all sessions, writes the HTML (and PDF) report and prints the headline change
   with its CI, whether it exceeds the MDC, and — because this is a simulation — the
   true change and whether the CI contains it.

Files: ``DIR/<subject>/S01/T1.h5`` …, ``DIR/<subject>_report.html/.pdf`` and
``DIR/demo_summary.json``.
"""
from __future__ import annotations

import asyncio
import datetime as _dt
import json
import logging
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import InputError

__all__ = ["DemoConfig", "session_plan", "true_asymmetry", "run_demo", "DEMO_SUBJECT"]

log = logging.getLogger(__name__)

DEMO_SUBJECT = "PF-DEMO"
_MARKER = ".gaitpf-demo"


@dataclass(frozen=True)
class DemoConfig:
    """What the demo simulates and how it records.

    Parameters
    ----------
    out : Path
        Output folder (the subject folder inside it is replaced on every run).
    n_sessions : int
        Treatment sessions (2–12).
    n_trials : int
        Walking trials per session (2 lets the MDC come from trial-to-trial reliability).
    duration_s : float
        Length of each trial, s (standing, two walking bouts with a turn, standing).
    speed : float
        Virtual-time speed-up of the BLE recording.
    ble : bool
        Record through the BLE virtual-insole path (slower) instead of writing the
        simulator's output directly.
    seed : int
    n_boot : int
        Bootstrap replicates.
    pdf : bool
        Also write the PDF report.
    """

    out: Path = Path("recordings/demo")
    n_sessions: int = 8
    n_trials: int = 2
    duration_s: float = 75.0
    speed: float = 50.0
    ble: bool = False
    seed: int = 7
    n_boot: int = 2000
    pdf: bool = True


def session_plan(cfg: DemoConfig) -> list[dict[str, Any]]:
    """Per session: gait parameters (as kwargs), metadata and the pain score.

    Stance-time symmetry index ``a = 3.5 + 10.5·exp(−k/2.5) + N(0, 0.5²)`` % for session
    k = 0, 1, … (≈ 14 % at baseline, ≈ 4 % after 8 sessions), pain
    7.5 − 0.75·k ± 0.4 (VAS, 0–10), weekly sessions. Like a real patient, every parameter
    also varies from day to day: cadence ``102 + 0.6·k + N(0, 2²)`` steps/min, stance
    ``61 + N(0, 0.7²)`` % of the stride, load asymmetry ``a + N(0, 1²)``, heel off-loading
    ``3·a + N(0, 3²)`` % (capped at 45), stride CV ``3 ± 0.3`` %, force CV ``4 ± 0.5`` %;
    where the force sits varies stride to stride (contact-area CV 20 %), differs between
    the feet (a fixed factor per foot and area, SD 6 %) and between sessions (insole
    placement, SD 4 %).
    """
    rng = np.random.default_rng(cfg.seed)
    feet_rng = np.random.default_rng([cfg.seed, 1])
    foot_bias = {s: np.exp(feet_rng.normal(0.0, 0.06, 4)) for s in ("left", "right")}
    start = _dt.date(2024, 1, 8)
    plan = []
    for k in range(cfg.n_sessions):
        a = float(np.clip(3.5 + 10.5 * math.exp(-k / 2.5) + rng.normal(0, 0.5), 1.0, 20.0))
        pain = float(np.clip(np.round(2 * (7.5 - 0.75 * k + rng.normal(0, 0.4))) / 2, 0.0, 10.0))
        day = {name: float(rng.normal(0, sd)) for name, sd in
               (("cadence", 2.0), ("stance", 0.7), ("load", 1.0), ("heel", 3.0), ("cv", 0.3), ("peak", 0.5))}
        place = {s: foot_bias[s] * np.exp(feet_rng.normal(0.0, 0.04, 4)) for s in ("left", "right")}
        plan.append({
            "label": f"S{k + 1:02d}",
            "gait": dict(cadence_spm=round(102.0 + 0.6 * k + day["cadence"], 2),
                         stance_pct=round(61.0 + day["stance"], 2), step_time_asymmetry_pct=round(a, 2),
                         load_asymmetry_pct=round(float(np.clip(a + day["load"], 0.0, 40.0)), 2),
                         heel_offload_pct=round(float(np.clip(3 * a + day["heel"], 0.0, 45.0)), 2),
                         affected_side="left", stride_cv_pct=round(3.0 + day["cv"], 2), stride_ar1_coef=0.6,
                         peak_cv_pct=round(4.0 + day["peak"], 2), region_cv_pct=20.0,
                         region_scale_left=tuple(round(float(x), 4) for x in place["left"]),
                         region_scale_right=tuple(round(float(x), 4) for x in place["right"]),
                         body_mass_kg=78.0),
            "metadata": {"date": (start + _dt.timedelta(days=7 * k)).isoformat(), "session_no": k + 1,
                         "treatment": "custom insoles + stretching", "affected_side": "left",
                         "pain_vas": pain, "condition": "own shoes, 10 m walkway",
                         "phase": "treatment",
                         "notes": "simulated patient (gaitpf demo)"},
        })
    return plan


def true_asymmetry(gait_kwargs: dict[str, Any], index: str = "sa_pct", metric: str = "stance_time_s") -> float:
    """The simulated (population) asymmetry magnitude of ``metric`` for these parameters."""
    from .sessions.stats import index_values
    from .sim.gait_model import GaitParams, expected_metrics

    e = expected_metrics(GaitParams(**gait_kwargs))
    return float(index_values(e["left"][metric], e["right"][metric], index, magnitude=True))


def _child(job: dict[str, Any]) -> None:
    """Subprocess entry: record one trial through the BLE virtual-insole path (one harness per process)."""
    from .recording.session_run import run_record
    from .sim.gait_model import GaitParams

    gait = GaitParams(**job["gait"])
    result = asyncio.run(run_record(
        left=None, right=None, output=Path(job["path"]), subject_id=DEMO_SUBJECT, session=job["session"],
        trial=job["trial"], duration_s=job["duration_s"], allow=(), rate_hz=None, body_mass_kg=gait.body_mass_kg,
        flush_interval_s=0.5, simulate=True, speed=job["speed"], gait=gait, seed=gait.seed))
    if result.stop_reason != "duration":
        raise SystemExit(f"recording stopped early: {result.stop_reason}")


def _record_ble(jobs: list[tuple[Path, Any, str, str, int]], cfg: DemoConfig,
                echo: Callable[[str], None]) -> list[tuple[Path, Any, str, str, int]]:
    """Record every trial in its own process, one after the other; return the jobs that failed."""
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    timeout_s = 20.0 + 4.0 * cfg.duration_s / cfg.speed

    def one(job: tuple[Path, Any, str, str, int]) -> tuple[Any, str | None]:
        path, gait, session, trial, _seed = job
        arg = json.dumps({"path": str(path), "gait": gait.as_dict() | {"walking_bouts": None}, "session": session,
                          "trial": trial, "duration_s": cfg.duration_s, "speed": cfg.speed})
        code = ("import json, sys; from gaitpf.demo import _child; j = json.loads(sys.argv[1]); "
                "j['gait'].pop('walking_bouts'); _child(j)")
        try:
            proc = subprocess.run([sys.executable, "-c", code, arg], capture_output=True, text=True,
                                  timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return job, f"no clean stop within {timeout_s:.0f} s"
        if proc.returncode != 0:
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            return job, lines[-1] if lines else f"exit code {proc.returncode}"
        return job, None

    failed = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        for job, err in pool.map(one, jobs):
            if err is not None:
                echo(f"  {job[0].parent.name}/{job[0].name}: BLE recording failed ({err}); "
                     "this trial is written directly by the simulator instead")
                job[0].unlink(missing_ok=True)
                failed.append(job)
    return failed


def _record_direct(jobs: list[tuple[Path, Any, str, str, int]], cfg: DemoConfig) -> None:
    from .io import write_recording
    from .sim.gait_model import simulate_trial

    for path, gait, session, trial, _seed in jobs:
        rec, _truth = simulate_trial(gait, duration_s=cfg.duration_s)
        write_recording(path, rec.replace(subject_id=DEMO_SUBJECT, session=session, trial=trial))


def _prepare_out(cfg: DemoConfig) -> Path:
    subject_dir = cfg.out / DEMO_SUBJECT
    if subject_dir.exists():
        if not (subject_dir / _MARKER).exists():
            raise InputError(f"{subject_dir} exists and was not written by `gaitpf demo`; choose another --out")
        shutil.rmtree(subject_dir)
    try:
        subject_dir.mkdir(parents=True)
    except OSError as exc:
        raise InputError(f"{cfg.out}: cannot create the demo folder ({exc}); choose another --out") from exc
    (subject_dir / _MARKER).write_text("written by gaitpf demo; replaced on the next run\n")
    return subject_dir


def run_demo(cfg: DemoConfig, *, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the demo (see the module docstring); returns the summary also written to JSON."""
    from .report import write_reports
    from .sessions.compare import subject_progress
    from .sessions.metadata import update_file_metadata
    from .sessions.stats import BootstrapParams
    from .sim.gait_model import GaitParams

    t0 = time.monotonic()
    if not 2 <= cfg.n_sessions <= 12:
        raise InputError(f"--sessions {cfg.n_sessions}: use 2–12 sessions")
    subject_dir = _prepare_out(cfg)
    plan = session_plan(cfg)
    jobs = []
    for k, s in enumerate(plan):
        (subject_dir / s["label"]).mkdir()
        for t in range(cfg.n_trials):
            seed = cfg.seed * 1000 + 10 * k + t
            gait = GaitParams(**s["gait"], seed=seed)
            jobs.append((subject_dir / s["label"] / f"T{t + 1}.h5", gait, s["label"], f"T{t + 1}", seed))
    mode = "direct simulator output (simulate_trial + write_recording; no BLE path)"
    direct_jobs = jobs
    if cfg.ble:
        echo(f"recording {len(jobs)} trials of {cfg.duration_s:g} s through the virtual BLE insoles "
             f"(the `gaitpf record --simulate` path, {cfg.speed:g}x real time, one process per trial)...")
        direct_jobs = _record_ble(jobs, cfg, echo)
        mode = f"BLE virtual insoles ({cfg.speed:g}x real time)"
        if direct_jobs:
            mode += f"; {len(direct_jobs)} of {len(jobs)} trials written directly after BLE failures"
    if direct_jobs:
        if not cfg.ble:
            echo(f"writing {len(jobs)} simulated trials of {cfg.duration_s:g} s directly (simulate_trial + "
                 "write_recording; `--ble` records through the slower BLE virtual-insole path)...")
        _record_direct(direct_jobs, cfg)
    t_rec = time.monotonic() - t0
    for s in plan:  # metadata added after recording, as with `gaitpf session set`
        for f in sorted((subject_dir / s["label"]).glob("*.h5")):
            update_file_metadata(f, s["metadata"])

    echo(f"analyzing {len(jobs)} trials and bootstrapping {len(plan)} sessions ({cfg.n_boot} replicates)...")
    progress = subject_progress(str(subject_dir), params=BootstrapParams(n_boot=cfg.n_boot, seed=cfg.seed))
    reports = [cfg.out / f"{DEMO_SUBJECT}_report.html"] + ([cfg.out / f"{DEMO_SUBJECT}_report.pdf"] if cfg.pdf else [])
    echo(f"writing the report ({', '.join(r.name for r in reports)})...")
    write_reports(progress, reports)  # the HTML is rendered once and printed to PDF

    truth = {s["label"]: true_asymmetry(s["gait"], progress.index, progress.metric) for s in plan}
    t = progress.table
    head = t[t["metric"] == progress.metric].set_index("label")
    used = [s.label for s in progress.sessions if s.boot is not None]
    summary: dict[str, Any] = {
        "mode": mode, "subject_id": DEMO_SUBJECT, "sessions": used, "metric": progress.metric,
        "index": progress.index, "headline": progress.headline, "reports": [str(r) for r in reports],
        "true_asymmetry": truth, "per_session": {}, "record_s": round(t_rec, 1),
    }
    for label in used:
        r = head.loc[label]
        summary["per_session"][label] = {
            "estimate": float(r["value"]), "ci": [float(r["value_ci_low"]), float(r["value_ci_high"])],
            "true": truth[label],
        }
    if len(used) >= 2:
        last = head.loc[used[-1]]
        true_change = truth[used[-1]] - truth[used[0]]
        summary["change"] = {
            "estimate": float(last["change_abs"]),
            "ci": [float(last["change_abs_ci_low"]), float(last["change_abs_ci_high"])],
            "true": true_change,
            "true_within_ci": bool(last["change_abs_ci_low"] <= true_change <= last["change_abs_ci_high"]),
            "mdc95": float(progress.mdc[progress.metric]["mdc95"]),
            "mdc_kind": last["mdc_kind"],
            "ci_excludes_zero": last["ci_excludes_zero"],
            "above_mdc95": last["above_mdc95"],
            "exceeds_mdc": last["exceeds_mdc"],
        }
    summary["elapsed_s"] = round(time.monotonic() - t0, 1)
    (cfg.out / "demo_summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")

    echo(f"recorded via: {mode}; {len(used)} sessions x {cfg.n_trials} trial(s) -> {subject_dir}")
    echo("")
    echo("HEADLINE: " + progress.headline)
    if "change" in summary:
        c = summary["change"]
        echo(f"simulated truth: {truth[used[0]]:.2f}% -> {truth[used[-1]]:.2f}% (change {c['true']:+.2f} points); "
             f"the 95% CI [{c['ci'][0]:+.2f}, {c['ci'][1]:+.2f}] "
             f"{'contains' if c['true_within_ci'] else 'does NOT contain'} it")
    for w in progress.warnings:
        echo(f"warning: {w}")
    for w in progress.left_out:
        echo(f"left out: {w}")
    echo("")
    for r in reports:
        echo(f"report: {r.resolve()}")
    echo(f"(demo finished in {summary['elapsed_s']:.1f} s; recording took {t_rec:.1f} s)")
    return summary
