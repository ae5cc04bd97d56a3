"""Symmetry indices, symmetry table, PCI and trend symmetry: hand-computed values."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from gaitpf.analysis import symmetry as S

# --------------------------------------------------------------------------- scalar indices
# L = R = 3:  SI = 0, SR = 1, GA = 100·|ln 1| = 0, SA = (45° − arctan 1)/90°·100 = 0.
# L = 2, R = 1: SI = 100·(1−2)/(0.5·3) = −66.667; SR = 2; GA = 100·ln 2 = 69.3147;
#              SA = (45° − arctan 2)/90°·100 = (45 − 63.434949)/0.9 = −20.48328.
# L = 1, R = 2: SI = +66.667; SR = 0.5; GA = 69.3147; SA = (45 − 26.565051)/0.9 = +20.48328.
ARCTAN2_DEG = math.degrees(math.atan(2.0))  # 63.43494882...


@pytest.mark.parametrize(
    "left,right,si,sr,ga,sa",
    [
        (3.0, 3.0, 0.0, 1.0, 0.0, 0.0),
        (2.0, 1.0, -200.0 / 3.0, 2.0, 100 * math.log(2), (45 - ARCTAN2_DEG) / 0.9),
        (1.0, 2.0, 200.0 / 3.0, 0.5, 100 * math.log(2), (45 - (90 - ARCTAN2_DEG)) / 0.9),
    ],
)
def test_scalar_indices_hand_values(left, right, si, sr, ga, sa):
    assert S.symmetry_index_pct(left, right) == pytest.approx(si, abs=1e-9)
    assert S.symmetry_ratio(left, right) == pytest.approx(sr, abs=1e-12)
    assert S.gait_asymmetry_pct(left, right) == pytest.approx(ga, abs=1e-9)
    assert S.symmetry_angle_pct(left, right) == pytest.approx(sa, abs=1e-9)
    assert isinstance(S.symmetry_index_pct(left, right), float)


def test_indices_zero_and_nan_safe_without_warnings():
    left = np.array([0.0, 0.0, 1.0, np.nan])
    right = np.array([0.0, 1.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        si = S.symmetry_index_pct(left, right)
        sr = S.symmetry_ratio(left, right)
        ga = S.gait_asymmetry_pct(left, right)
        sa = S.symmetry_angle_pct(left, right)
    # 0/0 undefined everywhere; SI(0, 1) = 100·1/0.5 = 200; SI(1, 0) = −200
    np.testing.assert_allclose(si, [np.nan, 200.0, -200.0, np.nan])
    # SR = L/R: 0/0 NaN, 0/1 = 0, 1/0 NaN
    np.testing.assert_allclose(sr, [np.nan, 0.0, np.nan, np.nan])
    # GA needs a positive finite ratio: all NaN here
    assert np.isnan(ga).all()
    # SA: arctan(0) = 0 → 45/90·100 = 50; arctan(+inf) = 90° → −45/90·100 = −50
    np.testing.assert_allclose(sa, [np.nan, 50.0, -50.0, np.nan])


def test_symmetry_angle_correction_for_opposite_signs():
    # L = −2, R = 1: arctan(−2) = −63.43°, 45 + 63.43 = 108.43° > 90° → subtract 180°:
    # (108.434949 − 180)/90·100 = −79.51672
    assert S.symmetry_angle_pct(-2.0, 1.0) == pytest.approx((45 + ARCTAN2_DEG - 180) / 0.9)
    assert S.symmetry_angle_pct(-2.0, 1.0) == pytest.approx(-79.516723, abs=1e-6)
    # L = −1, R = 1: 45 + 45 = 90 (not > 90) → +100 (equal and opposite)
    assert S.symmetry_angle_pct(-1.0, 1.0) == pytest.approx(100.0)


def test_indices_broadcast_and_do_not_mutate():
    left = np.array([1.0, 2.0, 4.0])
    keep = left.copy()
    out = S.symmetry_index_pct(left, 2.0)
    # (2−1)/1.5·100 = 66.667, 0, (2−4)/3·100 = −66.667
    np.testing.assert_allclose(out, [200 / 3, 0.0, -200 / 3])
    np.testing.assert_array_equal(left, keep)


# --------------------------------------------------------------------------- tables
def _timing_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "side": ["left", "left", "left", "right", "right", "right"],
            "stride_no": [0, 1, 2, 0, 1, 2],
            "ic_idx": [0, 100, 200, 50, 150, 250],
            "ic_s": [0.0, 1.0, 2.0, 0.5, 1.5, 2.5],
            "stride_time_s": [1.0, 1.2, 9.0, 1.1, 1.1, 1.1],
            "peak_force_1_n": [700.0, 720.0, 1.0, np.nan, np.nan, np.nan],
            "bout_id": [0, 0, 0, 0, 0, 0],
            "label": ["ok", "ok", "turn", "ok", "ok", "ok"],
            "steady": [True, True, False, True, True, True],
        }
    )


def test_default_metrics_excludes_ids_and_timestamps():
    table = _timing_table()
    table["swing_time_s"] = 0.4
    table["next_ic_s"] = table["ic_s"] + 1.0
    table["next_ic_idx"] = table["ic_idx"] + 100
    assert S.default_metrics(table) == ["stride_time_s", "swing_time_s", "peak_force_1_n"]


def test_symmetry_table_hand_values_and_steady_only():
    table = _timing_table()
    before = table.copy()
    out = S.symmetry_table(table, metrics=["stride_time_s", "peak_force_1_n"])
    pd.testing.assert_frame_equal(table, before)  # not mutated
    assert list(out.columns) == list(S.SYMMETRY_COLUMNS)
    st = out.set_index("metric").loc["stride_time_s"]
    # steady left: 1.0, 1.2 → mean 1.1, SD = sqrt((0.01 + 0.01)/1) = 0.141421; the 9.0 s turn is ignored
    assert st["left_mean"] == pytest.approx(1.1)
    assert st["left_sd"] == pytest.approx(math.sqrt(0.02))
    assert st["right_mean"] == pytest.approx(1.1)
    assert st["right_sd"] == pytest.approx(0.0)
    assert (st["left_n"], st["right_n"]) == (2, 3)
    assert st["si_pct"] == pytest.approx(0.0, abs=1e-9)
    assert st["sr"] == pytest.approx(1.0)
    # right side of peak_force_1_n is all NaN: mean still reported for left, symmetry NaN
    pk = out.set_index("metric").loc["peak_force_1_n"]
    assert pk["left_mean"] == pytest.approx(710.0)
    assert pk["right_n"] == 0 and np.isnan(pk["right_mean"])
    assert np.isnan(pk["si_pct"]) and np.isnan(pk["sa_pct"]) and np.isnan(pk["sr"])


def test_symmetry_table_one_side_only():
    table = _timing_table()
    left_only = table[table["side"] == "left"]
    out = S.symmetry_table(left_only, metrics=["stride_time_s"])
    assert out.loc["stride_time_s", "left_mean"] == pytest.approx(1.1)
    assert out.loc["stride_time_s", "right_n"] == 0
    assert np.isnan(out.loc["stride_time_s", "si_pct"])


def test_symmetry_table_unequal_means():
    # left 1.0 s, right 1.2 s → SI = 100·0.2/1.1 = 18.1818; SR = 1/1.2 = 0.8333;
    # GA = 100·ln 1.2 = 18.2322; SA = (45 − arctan(1/1.2))/0.9 = (45 − 39.805571)/0.9 = 5.77159
    table = pd.DataFrame({"side": ["left", "right"], "stride_time_s": [1.0, 1.2], "steady": [True, True]})
    row = S.symmetry_table(table, metrics=["stride_time_s"]).iloc[0]
    assert row["si_pct"] == pytest.approx(200.0 / 11.0)
    assert row["sr"] == pytest.approx(1 / 1.2)
    assert row["ga_pct"] == pytest.approx(100 * math.log(1.2))
    assert row["sa_pct"] == pytest.approx((45 - math.degrees(math.atan(1 / 1.2))) / 0.9)
    assert row["sa_pct"] == pytest.approx(5.77159, abs=1e-5)


# --------------------------------------------------------------------------- PCI
def _pci_table(right_offsets_s, *, n=8, swing_left=0.4, swing_right=0.4, steady=None) -> pd.DataFrame:
    """Left ICs at 0, 1, 2, ... s; right ICs at i + right_offsets_s[i % len]."""
    offs = np.resize(np.asarray(right_offsets_s, dtype=float), n + 1)
    l_ic = np.arange(n + 1, dtype=float)
    r_ic = np.arange(n + 1, dtype=float) + offs
    rows = []
    for i in range(n):
        rows.append(("left", l_ic[i], l_ic[i + 1], swing_left))
        rows.append(("right", r_ic[i], r_ic[i + 1], swing_right))
    t = pd.DataFrame(rows, columns=["side", "ic_s", "next_ic_s", "swing_time_s"])
    t["steady"] = True if steady is None else steady
    return t


def test_pci_perfect_alternation_is_zero():
    out = S.phase_coordination_index(_pci_table([0.5]))
    # φ = 360·0.5/1 = 180° for every stride → φ_ABS = 0, φ_CV = 0 → PCI = 0
    assert out["pci_pct"] == pytest.approx(0.0, abs=1e-9)
    assert out["phi_abs_deg"] == pytest.approx(0.0, abs=1e-9)
    assert out["n_strides"] == 8
    assert out["reference_side"] == "left"


def test_pci_constant_phase_shift():
    # right IC 0.6 s after left: φ = 216° → φ_ABS = 36°, P = 100·36/180 = 20 %, CV = 0 → PCI = 20
    out = S.phase_coordination_index(_pci_table([0.6]))
    assert out["phi_abs_deg"] == pytest.approx(36.0)
    assert out["phi_cv_pct"] == pytest.approx(0.0, abs=1e-9)
    assert out["pci_pct"] == pytest.approx(20.0)


def test_pci_alternating_phase_hand_value():
    # right IC alternately 0.45 and 0.55 s after left: φ = 162°, 198°, 162°, 198°
    # φ_ABS = 18° → P = 10 %; mean φ = 180, sample SD = sqrt(4·18²/3) = 20.7846 → CV = 11.547 %
    # PCI = 21.547 %
    out = S.phase_coordination_index(_pci_table([0.45, 0.55], n=4))
    assert out["n_strides"] == 4
    assert out["phi_abs_deg"] == pytest.approx(18.0)
    assert out["phi_cv_pct"] == pytest.approx(100 * math.sqrt(4 * 18**2 / 3) / 180)
    assert out["pci_pct"] == pytest.approx(10 + 100 * math.sqrt(432) / 180)
    assert out["pci_pct"] == pytest.approx(21.547, abs=1e-3)


def test_pci_reference_is_longer_swing_leg_and_unsteady_ignored():
    # right swing longer → reference right: right strides i+0.6 → i+1.6 contain the left IC at i+1:
    # φ = 360·0.4 = 144° → φ_ABS = 36 → PCI = 20 (CV 0)
    steady = [True] * 16
    steady[2] = False  # a left stride; left ICs still count as contralateral events
    t = _pci_table([0.6], swing_right=0.45, steady=steady)
    out = S.phase_coordination_index(t)
    assert out["reference_side"] == "right"
    assert out["phi_mean_deg"] == pytest.approx(144.0)
    assert out["pci_pct"] == pytest.approx(20.0)
    # right strides 0.6→1.6 … 7.6→8.6 each contain one left IC (1 … 8) → 8 strides
    assert out["n_strides"] == 8
    forced = S.phase_coordination_index(t, reference="left")
    assert forced["reference_side"] == "left" and forced["n_strides"] == 7  # one unsteady left stride
    # a weird unsteady reference stride must not change the result
    t2 = t.copy()
    t2.loc[2, "next_ic_s"] = t2.loc[2, "ic_s"] + 5.0
    assert S.phase_coordination_index(t2, reference="left")["pci_pct"] == pytest.approx(forced["pci_pct"])


def test_pci_not_enough_strides_is_nan():
    t = _pci_table([0.5], n=1)
    out = S.phase_coordination_index(t)
    assert np.isnan(out["pci_pct"]) and out["n_strides"] == 1
    assert np.isnan(S.phase_coordination_index(t[t["side"] == "left"])["pci_pct"])


# --------------------------------------------------------------------------- trend symmetry
STANCE = np.sin(np.linspace(0.0, np.pi, 101)) ** 2  # 0 at both ends like a stance curve


def test_trend_symmetry_identical_and_scaled():
    same = S.trend_symmetry(STANCE, STANCE)
    assert same["trend_symmetry"] == pytest.approx(1.0)
    assert same["variability_ratio"] == pytest.approx(0.0, abs=1e-12)
    assert same["range_amplitude"] == pytest.approx(1.0)
    assert same["phase_offset_pct"] == 0.0
    scaled = S.trend_symmetry(STANCE, 2.0 * STANCE + 5.0)
    assert scaled["trend_symmetry"] == pytest.approx(1.0)
    assert scaled["range_amplitude"] == pytest.approx(2.0)
    # mean offset = mean(2x + 5) − mean(x) = mean(x) + 5
    assert scaled["range_offset"] == pytest.approx(STANCE.mean() + 5.0)


def test_trend_symmetry_orthogonal_curves_hand_value():
    # centred L = (1, −1, 1, −1), R = (1, 1, −1, −1): covariance = [[1, 0], [0, 1]] → λ1 = λ2
    # → variability ratio 1, trend symmetry 0; ranges both 2 → range offset 1
    out = S.trend_symmetry([1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0])
    assert out["trend_symmetry"] == pytest.approx(0.0, abs=1e-12)
    assert out["variability_ratio"] == pytest.approx(1.0)
    assert out["range_amplitude"] == pytest.approx(1.0)


def test_trend_symmetry_shifted_curve_gives_phase_offset():
    lagged = np.roll(STANCE, 10)  # right lags left by 10 samples = 10 % of a 101-point cycle
    out = S.trend_symmetry(STANCE, lagged)
    assert out["phase_offset_pct"] == pytest.approx(10.0)
    assert out["trend_symmetry"] < 0.95
    assert out["trend_symmetry_aligned"] == pytest.approx(1.0)
    assert S.trend_symmetry(STANCE, np.roll(STANCE, -7))["phase_offset_pct"] == pytest.approx(-7.0)


def test_trend_symmetry_nan_and_bad_input():
    bad = STANCE.copy()
    bad[40] = np.nan
    for out in (S.trend_symmetry(STANCE, bad), S.trend_symmetry(STANCE, STANCE[:50]),
                S.trend_symmetry(np.zeros(101), STANCE)):
        assert all(np.isnan(v) for v in out.values())
    assert np.isnan(bad[40])  # input untouched


def test_trend_symmetry_inverted_curve_is_not_symmetric():
    out = S.trend_symmetry(STANCE, -STANCE)
    assert out["trend_symmetry"] == pytest.approx(-1.0)


def test_symmetry_table_nullable_steady_and_object_metric() -> None:
    """Missing ``steady`` counts as not steady; non-numeric metric values count as missing."""
    from gaitpf.analysis.symmetry import symmetry_table

    table = pd.DataFrame({
        "side": ["left", "left", "right", "right", "left"],
        "steady": pd.array([True, True, True, True, pd.NA], dtype="boolean"),
        "stride_time_s": [1.0, 1.2, 1.3, 1.5, 99.0],
        "label": pd.Series(["1.0", "x", "2", "4", "5"], dtype=object),
    })
    sym = symmetry_table(table, metrics=["stride_time_s", "label", "absent"]).set_index("metric")
    assert sym.loc["stride_time_s", "left_mean"] == pytest.approx(1.1)
    assert sym.loc["stride_time_s", "right_mean"] == pytest.approx(1.4)
    assert sym.loc["stride_time_s", "left_n"] == 2
    assert sym.loc["label", "left_mean"] == pytest.approx(1.0) and sym.loc["label", "left_n"] == 1
    assert sym.loc["label", "right_mean"] == pytest.approx(3.0)
    assert sym.loc["absent", "left_n"] == 0 and np.isnan(sym.loc["absent", "left_mean"])
