"""Stride table: hand-computed timing, double/single support, labels, one foot, no mutation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gaitpf.analysis.strides import STRIDE_COLUMNS, StrideParams, build_stride_table

FS = 100.0


def stances(pairs):
    return pd.DataFrame({"ic_idx": np.array([a for a, _ in pairs], np.int64), "to_idx": np.array([b for _, b in pairs], np.int64)})


def times(n=2000):
    return np.arange(n) / FS


# left stance 60 samples every 100; right the same, shifted by half a stride
LEFT = [(10 + 100 * k, 70 + 100 * k) for k in range(12)]
RIGHT = [(60 + 100 * k, 120 + 100 * k) for k in range(12)]


def table(left=LEFT, right=RIGHT, gap=None, params=StrideParams()):
    st = {"left": stances(left), "right": stances(right)}
    t = {"left": times(), "right": times()}
    gaps = gap or {"left": np.zeros(2000, bool), "right": np.zeros(2000, bool)}
    return build_stride_table(st, times_s=t, sampling_rate_hz=FS, params=params, gap_before=gaps)


def test_columns_and_hand_computed_timing():
    tab = table()
    assert list(tab.columns) == list(STRIDE_COLUMNS)
    left = tab[tab["side"] == "left"].reset_index(drop=True)
    assert len(left) == 11 and left["stride_no"].tolist() == list(range(11))
    row = left.iloc[1]  # IC 110, TO 170, next IC 210
    assert (row["ic_idx"], row["to_idx"], row["next_ic_idx"]) == (110, 170, 210)
    assert row["ic_s"] == pytest.approx(1.1) and row["next_ic_s"] == pytest.approx(2.1)
    assert row["stride_time_s"] == pytest.approx(1.0)
    assert row["stance_time_s"] == pytest.approx(0.6)
    assert row["swing_time_s"] == pytest.approx(0.4)
    assert row["stance_pct"] == pytest.approx(60.0) and row["swing_pct"] == pytest.approx(40.0)
    assert row["cadence_spm"] == pytest.approx(120.0)
    # right IC at 0.6 s → step 0.5 s; right TO at 1.2 s → initial DS 0.1 s;
    # right IC at 1.6 s inside left stance (to 1.7 s) → terminal DS 0.1 s; single support 0.4 s
    assert row["step_time_s"] == pytest.approx(0.5)
    assert row["initial_double_support_s"] == pytest.approx(0.1)
    assert row["terminal_double_support_s"] == pytest.approx(0.1)
    assert row["double_support_s"] == pytest.approx(0.2)
    assert row["single_support_s"] == pytest.approx(0.4)
    assert row["stance_time_s"] == pytest.approx(row["double_support_s"] + row["single_support_s"])


def test_time_base_is_used_not_the_nominal_rate():
    st = {"left": stances(LEFT)}
    t = times() * 1.01  # a device clock 1 % slow, aligned by the acquisition layer
    tab = build_stride_table(st, times_s={"left": t}, sampling_rate_hz=FS, params=StrideParams(), gap_before={})
    assert tab["stride_time_s"].iloc[0] == pytest.approx(1.01)


def test_labels_bouts_and_steady():
    tab = table()
    left = tab[tab["side"] == "left"]
    # first left stride has no right IC before it: contralateral incomplete
    assert left["label"].iloc[0] == "incomplete"
    # gait initiation/termination: the first/last two strides of the bout (bout_edge_strides = 2)
    assert left["label"].iloc[-2:].eq("bout_end").all() and left["label"].iloc[1] == "bout_start"
    assert left["label"].iloc[2:-2].eq("steady").all() and left["steady"].iloc[2:-2].all()
    right = tab[tab["side"] == "right"]
    assert right["label"].iloc[:2].eq("bout_start").all()
    assert not tab.loc[tab["label"] != "steady", "steady"].any()


def test_pause_splits_bouts_and_outlier_is_flagged():
    left = LEFT[:6] + [(a + 300, b + 300) for a, b in LEFT[6:]]  # 4 s stop after stride 5
    right = RIGHT[:5] + [(a + 300, b + 300) for a, b in RIGHT[5:]]
    left = left[:9] + [(left[9][0] + 30, left[9][1] + 30)] + left[10:]  # one 1.3 s / 0.7 s pair
    tab = table(left, right)
    lt = tab[tab["side"] == "left"].reset_index(drop=True)
    assert lt.loc[5, "label"] == "pause" and lt.loc[5, "bout_id"] == -1
    assert lt.loc[4, "label"] == "bout_end" and lt.loc[6, "label"] == "bout_start"
    assert lt.loc[0:4, "bout_id"].eq(0).all() and lt.loc[6:, "bout_id"].eq(1).all()
    assert set(lt.loc[[8, 9], "label"]) == {"turn_or_outlier"}
    assert not lt.loc[[5, 8, 9], "steady"].any()


def test_gap_labels_the_stride_containing_it():
    gaps = {"left": np.zeros(2000, bool), "right": np.zeros(2000, bool)}
    gaps["left"][450] = True  # inside left stride 4 (IC 410 → 510)
    tab = table(gap=gaps)
    lt = tab[tab["side"] == "left"].reset_index(drop=True)
    assert lt.loc[4, "label"] == "gap" and lt.loc[4, "bout_id"] == -1
    assert lt.loc[3, "label"] == "bout_end" and lt.loc[5, "label"] == "bout_start"


def test_one_foot_only_gives_nan_contralateral_columns():
    tab = build_stride_table(
        {"right": stances(RIGHT)}, times_s={"right": times()}, sampling_rate_hz=FS, params=StrideParams(), gap_before={}
    )
    assert set(tab["side"]) == {"right"} and len(tab) == 11
    for col in ("step_time_s", "double_support_s", "single_support_s", "initial_double_support_s"):
        assert tab[col].isna().all()
    assert tab["steady"].sum() == 11 - 2 * StrideParams().bout_edge_strides


def test_empty_and_single_stance_give_empty_table_with_columns():
    for st in ({"left": stances([])}, {"left": stances([(10, 70)]), "right": stances([])}):
        tab = build_stride_table(st, times_s={s: times() for s in st}, sampling_rate_hz=FS, params=StrideParams(), gap_before={})
        assert tab.empty and list(tab.columns) == list(STRIDE_COLUMNS)


def test_inputs_not_mutated():
    st = {"left": stances(LEFT), "right": stances(RIGHT)}
    copies = {k: v.copy() for k, v in st.items()}
    t = {"left": times(), "right": times()}
    build_stride_table(st, times_s=t, sampling_rate_hz=FS, params=StrideParams(), gap_before={})
    for k in st:
        pd.testing.assert_frame_equal(st[k], copies[k])
    np.testing.assert_array_equal(t["left"], times())
