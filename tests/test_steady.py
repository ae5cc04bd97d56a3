"""Steady-state selection and the reference-free self-checks, on generated stride series."""
from __future__ import annotations

import numpy as np
import pandas as pd

from gaitpf.analysis.selfcheck import self_checks, variability
from gaitpf.analysis.steady import robust_outliers, select_steady
from gaitpf.analysis.strides import StrideParams, build_stride_table


def _series(seed: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two 30-stride straight passes (1.10 s, CV 1.5 %) joined by a turn of three slow strides."""
    rng = np.random.default_rng(seed)
    stride = 1.10 * (1 + 0.015 * rng.standard_normal(63))
    swing = 0.40 * (1 + 0.02 * rng.standard_normal(63))
    turn = np.arange(30, 33)
    stride[turn] = [1.24, 1.30, 1.22]          # approach, pivot, exit: within ±20 % of the median
    swing[turn] = [0.47, 0.52, 0.46]
    return stride, swing, turn


def test_turn_strides_and_their_neighbours_are_not_steady_and_cv_recovers():
    stride, swing, turn = _series()
    z = np.zeros(stride.size, bool)
    old = StrideParams(outlier_mad_k=1e9, bout_edge_strides=1, outlier_neighbours=0)   # the former ±20 % rule
    label_old, _, steady_old = select_steady(stride, swing, z, z, z, params=old)
    label, _, steady = select_steady(stride, swing, z, z, z, params=StrideParams())
    assert steady_old[turn].all()                      # the failure: ±20 % keeps the turn
    assert not steady[turn].any() and (label[turn] == "turn_or_outlier").all()
    cv = lambda x, m: 100 * x[m].std(ddof=1) / x[m].mean()
    true_cv = cv(stride, np.ones(stride.size, bool) & ~np.isin(np.arange(stride.size), turn))
    assert cv(stride, steady_old) > 1.5 * true_cv
    assert abs(cv(stride, steady) - true_cv) < 0.25 * true_cv
    # gait initiation / termination: two strides at each end of the bout
    assert list(label[:2]) == ["bout_start"] * 2 and list(label[-2:]) == ["bout_end"] * 2


def test_robust_outlier_rule_has_a_scale_floor():
    x = np.full(20, 1.0)
    x[10] = 1.01                                       # 1 % off a perfectly regular walk: jitter, kept
    assert not robust_outliers(x, window=11, k=3.0, min_scale_fraction=0.02).any()
    x[10] = 1.10
    assert robust_outliers(x, window=11, k=3.0, min_scale_fraction=0.02)[10]


def test_pivot_turn_flag_from_the_event_stage_is_not_steady():
    stride, swing, _ = _series()
    z = np.zeros(stride.size, bool)
    turn = z.copy()
    turn[15] = True
    label, _, steady = select_steady(stride, swing, z, z, turn, params=StrideParams())
    assert not steady[14:17].any() and label[15] == "turn_or_outlier"


def _table(left_ic: list[int], right_ic: list[int], to_loaded_left=None) -> pd.DataFrame:
    def st(ics, loaded):
        ic = np.asarray(ics, np.int64)
        d = pd.DataFrame({"ic_idx": ic, "to_idx": ic + 60})
        if loaded is not None:
            d["to_loaded"] = loaded
        return d
    t = np.arange(5000) / 100.0
    return build_stride_table({"left": st(left_ic, to_loaded_left), "right": st(right_ic, None)},
                              times_s={"left": t, "right": t}, sampling_rate_hz=100.0,
                              params=StrideParams(bout_edge_strides=0, outlier_mad_k=1e9, outlier_neighbours=0))


def test_self_checks_count_alternation_breaks_and_loaded_toe_offs():
    left = [100 + 100 * k for k in range(20)]
    right = [150 + 100 * k for k in range(20)]
    loaded = np.zeros(20, bool)
    loaded[3] = True
    chk = self_checks(_table(left, right, loaded))
    assert chk["left"]["alternation_breaks_pct"] == 0.0 and abs(chk["left"]["loaded_to_pct"] - 100 / 19) < 1e-9
    # a right contact missed: the left stride around it holds no right IC
    broken = self_checks(_table(left, right[:8] + right[9:]))
    assert broken["left"]["alternation_breaks_pct"] > 0.0


def test_variability_is_the_cv_of_steady_strides_per_side():
    left = [100 + 100 * k for k in range(20)]
    right = [150 + 100 * k for k in range(20)]
    v = variability(_table(left, right))
    assert v["left"]["stride_time_cv_pct"] == 0.0 and set(v) == {"left", "right"}
    assert set(v["left"]) == {"stride_time_cv_pct", "stance_time_cv_pct", "swing_time_cv_pct"}
