"""Report context: it words what the statistics decided (never recomputes), and plot ranges."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gaitpf.report.context import build_context, sign_short
from gaitpf.sessions.decision import decide, sign_convention
from gaitpf.sessions.stats import BootstrapParams


def _progress(change, lo, hi, mdc, *, meta=None, affected="left", warnings=(), confounders=(), sd_conf=()):
    meta = meta or [{"condition": "own shoes", "treatment": "insoles", "notes": "n1"},
                    {"condition": "own shoes", "treatment": "insoles", "notes": "n2"}]
    sessions = [SimpleNamespace(label=f"S{k + 1}", boot=object(), warnings=[f"metadata missing: x ({k})"],
                                confounders=list(sd_conf) if k else []) for k in range(len(meta))]
    rows = []
    for k, s in enumerate(sessions):
        row = {"label": s.label, "session": s.label, "metric": "stance_time_s", "left_mean": 0.60,
               "right_mean": 0.66, "value": 3.0, "value_ci_low": 2.0, "value_ci_high": 4.0, "is_baseline": k == 0,
               "asym_oriented": -3.0, "asym_oriented_ci_low": -4.0, "asym_oriented_ci_high": -2.0,
               "comparable": True, "change_abs": np.nan, "change_abs_ci_low": np.nan, "change_abs_ci_high": np.nan,
               "change_rel_pct": np.nan, "mdc95": np.nan, "mdc_kind": None, "ci_excludes_zero": None,
               "above_mdc95": None, "exceeds_mdc": None}
        if k:
            row.update(change_abs=change, change_abs_ci_low=lo, change_abs_ci_high=hi, mdc95=mdc,
                       mdc_kind="within_session", **decide(change, lo, hi, mdc))
        rows.append(row)
    st = pd.DataFrame([{"label": s.label, "session": s.label, "cadence_spm": 100.0, "included": True,
                        "n_steady_left": 40, "n_steady_right": 41, **m} for s, m in zip(sessions, meta)])
    return SimpleNamespace(sessions=sessions, table=pd.DataFrame(rows), session_table=st, metric="stance_time_s",
                           index="si_pct", mdc={"stance_time_s": {"mdc95": mdc, "mdc_kind": "within_session"}},
                           warnings=list(warnings) + list(confounders), confounders=list(confounders), left_out=[],
                           baseline="S1", params=BootstrapParams(n_boot=200), trend={}, subject_id="X",
                           headline="h", affected_side=affected, sign_convention=sign_convention("si_pct", affected))


@pytest.mark.parametrize("change,lo,hi,mdc,real", [
    (-3.0, -4.0, -2.0, 1.0, True),    # CI excludes 0 and |change| > MDC
    (-3.0, -6.0, 0.5, 1.0, False),    # CI includes 0
    (-0.8, -1.0, -0.6, 1.0, False),   # within the MDC
])
def test_decision_is_the_statistics_flag_in_words(change, lo, hi, mdc, real):
    ctx = build_context(_progress(change, lo, hi, mdc))
    assert ctx.decision["real"] is real
    assert ctx.decision["mdc_kind"] == "within session"
    assert ctx.decision["text"].startswith("real change:") is real
    assert (ctx.decision["change"], ctx.decision["ci_low"], ctx.decision["ci_high"]) == (change, lo, hi)


def test_decision_follows_the_row_not_its_own_arithmetic():
    p = _progress(-3.0, -4.0, -2.0, 1.0)
    p.table.loc[1, "exceeds_mdc"] = False  # the statistics say no: the report must not say yes
    p.table.loc[1, "above_mdc95"] = False
    assert build_context(p).decision["real"] is False


def test_side_sign_notes_warnings_and_confounders_once():
    c = "session S2: condition 'sandals' differs from the baseline's 'own shoes'"
    ctx = build_context(_progress(-3.0, -4, -2, 1.0, warnings=["few strides", "few strides"], confounders=[c],
                                  sd_conf=["condition 'sandals' vs 'own shoes' at baseline"]))
    assert ctx.affected_side == "left" and ctx.unaffected_side == "right"
    assert ctx.sign_short == "+ = affected side larger than unaffected, − = smaller"
    assert "affected (left)" in ctx.sign_text
    assert [s["notes"] for s in ctx.sessions] == ["n1", "n2"]
    assert [s["warnings"] for s in ctx.sessions] == [["metadata missing: x (0)"], ["metadata missing: x (1)"]]
    assert ctx.sessions[1]["confounders"] == ["condition 'sandals' vs 'own shoes' at baseline"]
    assert ctx.confounders == [c] and ctx.warnings == ["few strides"]


def test_missing_side_is_right_vs_left():
    meta = [{"condition": "own shoes"}, {"condition": "own shoes", "affected_side": "none"}]
    ctx = build_context(_progress(-3.0, -4, -2, 1.0, meta=meta, affected=None))
    assert ctx.affected_side is None and "right vs left" in ctx.side_text and "'none'" in ctx.side_text
    assert ctx.sign_short.startswith("+ = right larger") and sign_short("sr", None).startswith("> 1 = right")


def test_regional_axis_keeps_a_minimum_span():
    import matplotlib.pyplot as plt

    from gaitpf.report.plots import MIN_SPAN_PCT, _min_span

    fig, ax = plt.subplots()
    _min_span(ax, 37.19, 37.21, MIN_SPAN_PCT)
    lo, hi = ax.get_ylim()
    assert hi - lo >= MIN_SPAN_PCT and lo <= 37.19 and hi >= 37.21
    plt.close(fig)
