"""Report context (side, orientation, decision, confounders) and plot ranges, on small hand-made inputs."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from gaitpf.report.context import build_context, oriented_index
from gaitpf.sessions.stats import BootstrapParams


class _S(SimpleNamespace):
    def n_steady(self, side):
        return 40


def _progress(change, lo, hi, mdc, *, meta=None, exceeds=None, warnings=()):
    meta = meta or [{"affected_side": "left", "condition": "own shoes", "treatment": "insoles", "notes": "n1"},
                    {"affected_side": "left", "condition": "own shoes", "treatment": "insoles", "notes": "n2"}]
    sessions = [_S(label=f"S{k + 1}", metadata=m, boot=object(), notes=[], usable_trials=[]) for k, m in enumerate(meta)]
    rows = []
    for k, s in enumerate(sessions):
        rows.append({"session": s.label, "metric": "stance_time_s", "left_mean": 0.60, "right_mean": 0.66,
                     "value": 3.0, "value_ci_low": 2.0, "value_ci_high": 4.0, "is_baseline": k == 0,
                     "comparable": True, "change_abs": np.nan if k == 0 else change,
                     "change_abs_ci_low": np.nan if k == 0 else lo, "change_abs_ci_high": np.nan if k == 0 else hi,
                     "change_rel_pct": np.nan, "mdc95": np.nan if k == 0 else mdc,
                     "exceeds_mdc": None if k == 0 else exceeds})
    st = pd.DataFrame([{"session": s.label, "cadence_spm": 100.0} for s in sessions])
    return SimpleNamespace(sessions=sessions, table=pd.DataFrame(rows), session_table=st, metric="stance_time_s",
                           index="si_pct", mdc={"stance_time_s": {"mdc95": mdc, "method": "split-half (x)"}},
                           warnings=list(warnings), left_out=[], baseline="S1", params=BootstrapParams(n_boot=200),
                           trend={}, subject_id="X", headline="h")


@pytest.mark.parametrize("change,lo,hi,mdc,real", [
    (-3.0, -4.0, -2.0, 1.0, True),    # CI excludes 0 and |change| > MDC
    (-3.0, -6.0, 0.5, 1.0, False),    # CI includes 0
    (-0.8, -1.0, -0.6, 1.0, False),   # within the MDC
])
def test_decision_needs_ci_excluding_zero_and_mdc(change, lo, hi, mdc, real):
    ctx = build_context(_progress(change, lo, hi, mdc))
    assert ctx.decision["real"] is real
    assert ctx.decision["mdc_kind"] == "within-session"
    assert ctx.decision["text"].startswith("real change:") is real


def test_orientation_affected_vs_unaffected():
    ctx = build_context(_progress(-3.0, -4, -2, 1.0))
    assert ctx.affected_side == "left" and ctx.unaffected_side == "right"
    # left (affected) stance 0.60 s, right 0.66 s: affected shorter -> negative
    assert oriented_index(0.66, 0.60, "si_pct") == pytest.approx(100 * (0.60 - 0.66) / 0.63)
    assert oriented_index(0.66, 0.60, "ga_pct") == pytest.approx(100 * np.log(0.60 / 0.66))
    assert [s["notes"] for s in ctx.sessions] == ["n1", "n2"]


def test_missing_side_condition_change_and_warnings_once():
    meta = [{"condition": "own shoes"}, {"condition": "sandals", "affected_side": "none"}]
    w = "session S2: cadence 110 vs 100 steps/min at baseline (+10%); walking speed differs"
    ctx = build_context(_progress(-3.0, -4, -2, 1.0, meta=meta, warnings=[w, w, "few strides"]))
    assert ctx.affected_side is None and "right vs left" in ctx.side_text
    assert ctx.confounders[0] == w and any("sandals" in c for c in ctx.confounders)
    assert ctx.warnings == ["few strides"]


def test_regional_axis_keeps_a_minimum_span():
    import matplotlib.pyplot as plt

    from gaitpf.report.plots import MIN_SPAN_PCT, _min_span

    fig, ax = plt.subplots()
    _min_span(ax, 37.19, 37.21, MIN_SPAN_PCT)
    lo, hi = ax.get_ylim()
    assert hi - lo >= MIN_SPAN_PCT and lo <= 37.19 and hi >= 37.21
    plt.close(fig)
