"""Decision rule by simulation: false alarms, power and CI coverage of `gaitpf compare`.

Per pair k, three virtual-insole trials of one subject (left side affected) are simulated
(:func:`gaitpf.sim.gait_model.simulate_trial`) and written as recordings of sessions
S1 and S2 (session numbers and dates in the metadata):

* **null pair**: S1 and S2 both with stance-time SI = 8 % (different seeds, no true change);
* **true-change pair**: the same S1 against S2 with SI = 2 % (the treatment worked).

Each pair goes through :func:`gaitpf.sessions.identity.compare_files` (what
``gaitpf compare --json`` runs). Printed: the false-alarm rate (null pairs called a real
change, ``exceeds_mdc``; goal ≤ 5 %), the power (true-change pairs called real; goal
≥ 90 %), the coverage of the true change by the 95 % CI of the change (goal 93–97 %), the
same rates under the old rule (|change| > MDC95 alone), and the mean MDC95 and CI width.

Usage::

    python benchmarks/bench_decisions.py [--pairs 200] [--duration-s 60] [--n-boot 1000] [--jobs 2]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

SI_BEFORE, SI_AFTER = 8.0, 2.0


def gait(si: float, seed: int) -> Any:
    from gaitpf.sim.gait_model import GaitParams

    return GaitParams(step_time_asymmetry_pct=si, affected_side="left", seed=seed)


def true_sa(si: float) -> float:
    from gaitpf.sessions.stats import index_values
    from gaitpf.sim.gait_model import expected_metrics

    e = expected_metrics(gait(si, 0))
    return float(index_values(e["left"]["stance_time_s"], e["right"]["stance_time_s"], "sa_pct", magnitude=True))


def write(folder: Path, subject: str, session_no: int, si: float, seed: int, duration_s: float) -> Path:
    from gaitpf.io import write_recording
    from gaitpf.sim.gait_model import simulate_trial

    rec, _ = simulate_trial(gait(si, seed), duration_s=duration_s)
    meta = {"session_no": session_no, "date": f"2024-03-{session_no:02d}", "affected_side": "left"}
    path = folder / subject / f"S{session_no}" / f"T1_{seed}.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_recording(path, rec.replace(subject_id=subject, session=f"S{session_no}", trial="T1", metadata=meta))
    return path


def one_pair(args: tuple[int, float, int, str]) -> dict[str, Any]:
    from gaitpf.sessions.identity import compare_files
    from gaitpf.sessions.stats import BootstrapParams

    k, duration_s, n_boot, tmp = args
    folder = Path(tmp) / f"pair{k}"
    subject = f"SIM{k:04d}"
    a = write(folder, subject, 1, SI_BEFORE, 3 * k + 1, duration_s)
    b = write(folder, subject, 2, SI_BEFORE, 3 * k + 2, duration_s)
    c = write(folder / "change", subject, 2, SI_AFTER, 3 * k + 3, duration_s)
    out = {}
    for kind, other in (("null", b), ("change", c)):
        pr = compare_files([a, other], params=BootstrapParams(n_boot=n_boot, seed=k))
        r = pr.table[(pr.table["metric"] == "stance_time_s") & ~pr.table["is_baseline"]].iloc[0]
        out[kind] = {key: r[key] for key in ("change_abs", "change_abs_ci_low", "change_abs_ci_high", "mdc95",
                                             "exceeds_mdc", "ci_excludes_zero", "above_mdc95", "mdc_kind")}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=200)
    ap.add_argument("--duration-s", type=float, default=60.0)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args()
    truth = {"null": 0.0, "change": true_sa(SI_AFTER) - true_sa(SI_BEFORE)}
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, ProcessPoolExecutor(max_workers=a.jobs) as ex:
        results = list(ex.map(one_pair, [(k, a.duration_s, a.n_boot, tmp) for k in range(a.pairs)], chunksize=4))
    elapsed = time.monotonic() - t0
    print(f"{a.pairs} null pairs (stance SI {SI_BEFORE:g} % both) and {a.pairs} true-change pairs "
          f"(SI {SI_BEFORE:g} % -> {SI_AFTER:g} %, true |SA| change {truth['change']:+.3f} points), "
          f"{a.duration_s:g} s trials, n_boot {a.n_boot}, {elapsed:.0f} s")
    cover_all = []
    for kind in ("null", "change"):
        rows = [r[kind] for r in results]
        real = np.array([bool(r["exceeds_mdc"]) for r in rows])
        old = np.array([bool(r["above_mdc95"]) for r in rows])
        excl = np.array([bool(r["ci_excludes_zero"]) for r in rows])
        lo = np.array([r["change_abs_ci_low"] for r in rows], float)
        hi = np.array([r["change_abs_ci_high"] for r in rows], float)
        cover = (lo <= truth[kind]) & (truth[kind] <= hi)
        cover_all.append(cover)
        mdc = np.array([r["mdc95"] for r in rows], float)
        kinds = sorted({r["mdc_kind"] for r in rows})
        what = "false-alarm rate" if kind == "null" else "power"
        print(f"  {kind:>6}: {what} {100 * real.mean():.1f} % (CI excludes 0: {100 * excl.mean():.1f} %; "
              f"old rule |change| > MDC95 alone: {100 * old.mean():.1f} %); CI coverage of the true change "
              f"{100 * cover.mean():.1f} %; mean MDC95 {mdc.mean():.3f} ({', '.join(kinds)}), mean CI width "
              f"{np.mean(hi - lo):.3f} points")
    print(f"  CI coverage of the change, all {2 * a.pairs} pairs: {100 * np.concatenate(cover_all).mean():.1f} % "
          "(goal 93-97 %)")


if __name__ == "__main__":
    main()
