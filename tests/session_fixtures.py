"""Helpers shared by test_sessions.py and test_report.py: small recordings trees."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from gaitpf.io import write_recording
from gaitpf.model import FootSignals, Recording
from gaitpf.sim.gait_model import GaitParams, simulate_trial


def write_trial(root: Path, subject: str, session: str, trial: str, *, asym: float, seed: int,
                metadata: dict[str, Any] | None = None, duration_s: float = 45.0, n_sensors: int = 16,
                one_foot: str | None = None) -> Path:
    """Simulate a trial (left foot affected) and write it to root/subject/session/trial.h5."""
    p = GaitParams(step_time_asymmetry_pct=asym, load_asymmetry_pct=asym, heel_offload_pct=2 * asym,
                   affected_side="left" if asym else None, seed=seed, n_sensors=n_sensors)
    rec, _ = simulate_trial(p, duration_s=duration_s)
    feet = rec.feet if one_foot is None else {one_foot: rec.feet[one_foot]}
    rec = rec.replace(feet=feet, subject_id=subject, session=session, trial=trial, metadata=dict(metadata or {}),
                      truth=None if one_foot else rec.truth)
    path = root / subject / session / f"{trial}.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_recording(path, rec)
    return path


def write_standing(root: Path, subject: str, session: str, trial: str, *, metadata: dict[str, Any]) -> Path:
    """A 'trial' in which the subject only stands (flat load on both feet): no steady walking."""
    rng = np.random.default_rng(0)
    n = 3000
    feet = {s: FootSignals(side=s, values=400 + rng.normal(0, 2, (n, 1)), unit="N", sampling_rate_hz=100.0)
            for s in ("left", "right")}
    rec = Recording(feet=feet, subject_id=subject, session=session, trial=trial, metadata=dict(metadata))
    path = root / subject / session / f"{trial}.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_recording(path, rec)
    return path


def meta(k: int, **extra: Any) -> dict[str, Any]:
    out = {"session_no": k, "date": f"2024-02-{k:02d}", "treatment": "insoles", "affected_side": "left",
           "pain_vas": 8 - k}
    out.update(extra)
    return out


def build_subject(root: Path, subject: str = "PF001", *, asyms: tuple[float, ...] = (12.0, 8.0, 4.0),
                  trials: int = 1, seed: int = 0, treatment: str = "insoles") -> list[Path]:
    """One subject, one session per asymmetry (decreasing), complete metadata."""
    paths = []
    for k, a in enumerate(asyms, start=1):
        for t in range(1, trials + 1):
            paths.append(write_trial(root, subject, f"S{k}", f"T{t}", asym=a, seed=seed + 10 * k + t,
                                     metadata=meta(k, treatment=treatment)))
    return paths
