"""The decision rule through `gaitpf compare --json`: simulated null and true-change pairs.

20 null pairs (stance-time SI 8 % in S1 and S2, different seeds) and 20 true-change pairs
(the same S1 against S2 with SI 2 %). A change is real only when its 95 % CI excludes 0
and it exceeds the MDC95; the old rule (MDC alone, from a within-trial split half)
called 6 of 20 unchanged pairs real. `benchmarks/bench_decisions.py` runs 200 + 200.
"""
from __future__ import annotations

import json

import pytest

from gaitpf.cli.main import main
from gaitpf.io import write_recording
from gaitpf.sessions.stats import index_values
from gaitpf.sim.gait_model import GaitParams, expected_metrics, simulate_trial

N_PAIRS = 20
DURATION_S = 50.0


def _gait(si: float, seed: int) -> GaitParams:
    return GaitParams(step_time_asymmetry_pct=si, affected_side="left", seed=seed)


def _true_sa(si: float) -> float:
    e = expected_metrics(_gait(si, 0))
    return float(index_values(e["left"]["stance_time_s"], e["right"]["stance_time_s"], "sa_pct", magnitude=True))


def _write(root, subject, no, si, seed, tag=""):
    rec, _ = simulate_trial(_gait(si, seed), duration_s=DURATION_S)
    path = root / subject / f"S{no}{tag}" / "T1.h5"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_recording(path, rec.replace(subject_id=subject, session=f"S{no}", trial="T1",
                                      metadata={"session_no": no, "date": f"2024-03-{no:02d}",
                                                "affected_side": "left"}))
    return path


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    out = []
    for k in range(N_PAIRS):
        subject = f"SIM{k:02d}"
        a = _write(root, subject, 1, 8.0, 1000 + 3 * k)
        b = _write(root, subject, 2, 8.0, 1001 + 3 * k)
        c = _write(root, subject, 2, 2.0, 1002 + 3 * k, tag="_treated")
        out.append((a, b, c))
    return out


def _compare(capsys, a, b, seed):
    main(["compare", str(a), str(b), "--json", "--n-boot", "400", "--seed", str(seed)])
    data = json.loads(capsys.readouterr().out)
    rows = [r for r in data["metrics"] if r["metric"] == "stance_time_s"]
    assert [r["is_baseline"] for r in rows] == [True, False]
    assert [s["session"] for s in data["sessions"]] == ["S1", "S2"]
    return rows[1]


def test_null_and_true_change_pairs(pairs, capsys):
    truth = _true_sa(2.0) - _true_sa(8.0)
    null = [_compare(capsys, a, b, k) for k, (a, b, _c) in enumerate(pairs)]
    change = [_compare(capsys, a, c, k) for k, (a, _b, c) in enumerate(pairs)]
    for r in null + change:
        # the rule, stated: real only when the CI excludes 0 AND |change| > MDC95
        excl = r["change_abs_ci_low"] > 0 or r["change_abs_ci_high"] < 0
        assert r["ci_excludes_zero"] == excl
        assert r["above_mdc95"] == (abs(r["change_abs"]) > r["mdc95"])
        assert r["exceeds_mdc"] == (excl and abs(r["change_abs"]) > r["mdc95"])
        assert r["mdc_kind"] == "within_session" and r["mdc95"] > 0
    false_alarms = sum(r["exceeds_mdc"] for r in null)
    power = sum(r["exceeds_mdc"] for r in change)
    covered_null = sum(r["change_abs_ci_low"] <= 0 <= r["change_abs_ci_high"] for r in null)
    covered_change = sum(r["change_abs_ci_low"] <= truth <= r["change_abs_ci_high"] for r in change)
    print(f"false alarms {false_alarms}/{N_PAIRS}, power {power}/{N_PAIRS}, coverage null {covered_null}, "
          f"change {covered_change}")
    assert false_alarms <= 2                   # ≤ 10 % of 20 (goal 5 %; 200 pairs in the benchmark)
    assert power >= 18                         # ≥ 90 %
    assert covered_null >= 17 and covered_change >= 17


def test_same_day_trials_are_not_a_change(pairs, capsys, tmp_path):
    """Trials of one session are compared trial by trial, labelled session/trial, not by file name."""
    a, b, _ = pairs[0]
    rec_b = simulate_trial(_gait(8.0, 77), duration_s=DURATION_S)[0]
    p = tmp_path / "other.h5"
    write_recording(p, rec_b.replace(subject_id="SIM00", session="S1", trial="T2",
                                     metadata={"session_no": 1, "date": "2024-03-01", "affected_side": "left"}))
    main(["compare", str(p), str(a), "--json", "--n-boot", "400"])
    data = json.loads(capsys.readouterr().out)
    assert [s["label"] for s in data["sessions"]] == ["S1/T1", "S1/T2"]
    assert [s["session"] for s in data["sessions"]] == ["S1", "S1"]
