"""Per-stride kinetics, stance curves and centre of pressure: hand-computed values."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gaitpf.analysis import kinetics as K
from gaitpf.errors import SignalError
from gaitpf.model import SensorLayout

FS = 10.0  # Hz → dt = 0.1 s

# An M-shaped stance at samples 2..9 and a short second stance at 13..15.
#            idx: 0  1   2   3   4   5   6   7   8  9 10 11 12  13  14  15 16
M_LOAD = np.array([0, 0, 10, 50, 80, 60, 70, 90, 40, 5, 0, 0, 0, 20, 30, 20, 0], dtype=float)


def _strides() -> pd.DataFrame:
    # non-default index, and a NaN next_ic_idx (last stride of the foot)
    return pd.DataFrame(
        {"ic_idx": [2, 13], "to_idx": [9, 15], "next_ic_idx": [13.0, np.nan], "steady": [True, True]},
        index=[5, 7],
    )


def _kin(values=None, load=M_LOAD, *, strides=None, unit="N", layout=None, channel_ok=None, bw=None):
    return K.stride_kinetics(
        M_LOAD[:, None] if values is None else values,
        load,
        strides=_strides() if strides is None else strides,
        sampling_rate_hz=FS,
        unit=unit,
        layout=layout,
        channel_ok=channel_ok,
        body_weight_n=bw,
    )


def test_m_shaped_stance_hand_values():
    out = _kin(bw=100.0)
    assert list(out.index) == [5, 7]
    row = out.loc[5]
    # stance 2..9 = [10, 50, 80, 60 | 70, 90, 40, 5] (8 samples, halves of 4)
    assert row["peak_force_1_n"] == 80.0          # max of first half, at idx 4
    assert row["peak_force_2_n"] == 90.0          # max of second half, at idx 7
    assert row["valley_force_n"] == 60.0          # min over idx 4..7 = [80, 60, 70, 90]
    assert row["time_to_peak_1_s"] == pytest.approx(0.2)   # (4 − 2)·0.1
    assert row["time_to_peak_2_s"] == pytest.approx(0.5)   # (7 − 2)·0.1
    # trapezoid: 0.1·(Σ = 405 − (10 + 5)/2) = 39.75 N·s
    assert row["impulse_n_s"] == pytest.approx(39.75)
    # loading rate: (80 − 10)/0.2 s = 350 N/s
    assert row["loading_rate_n_per_s"] == pytest.approx(350.0)
    # %BW with BW = 100 N: same numbers
    assert row["peak_force_1_pct_bw"] == pytest.approx(80.0)
    assert row["impulse_pct_bw_s"] == pytest.approx(39.75)
    # stride with NaN next_ic_idx still has stance metrics: stance 13..15 = [20 | 30, 20]
    last = out.loc[7]
    assert (last["peak_force_1_n"], last["peak_force_2_n"]) == (20.0, 30.0)
    assert last["impulse_n_s"] == pytest.approx(0.1 * (70 - 20))  # 5.0
    assert np.isnan(last["loading_rate_n_per_s"])  # peak at IC: no rise time
    # single channel: no COP/regional columns at all
    assert not any(c.startswith("cop_") or c.endswith("_load_pct") or c == "ml_index" for c in out.columns)


def test_unit_suffixes_and_no_bw_for_non_newton():
    kpa = _kin(unit="kPa", bw=700.0)
    assert {"peak_force_1_kpa", "impulse_kpa_s", "loading_rate_kpa_per_s"} <= set(kpa.columns)
    assert not any(c.endswith("_pct_bw") for c in kpa.columns)
    au = _kin(unit="au")
    assert "impulse_au_s" in au.columns and "peak_force_2_au" in au.columns
    assert not any(c.endswith("_pct_bw") for c in _kin(bw=None).columns)
    with pytest.raises(SignalError, match="unit"):
        _kin(unit="psi")


def test_invalid_and_out_of_range_strides():
    st = pd.DataFrame({"ic_idx": [2, 13], "to_idx": [3, 15]})  # first stance only 2 samples
    out = _kin(strides=st)
    assert np.isnan(out.iloc[0]["peak_force_1_n"]) and out.iloc[1]["peak_force_2_n"] == 30.0
    with pytest.raises(SignalError, match="outside the signal"):
        _kin(strides=pd.DataFrame({"ic_idx": [10], "to_idx": [99]}))
    load = M_LOAD.copy()
    load[5] = np.nan
    nan_out = _kin(load=load)
    assert np.isnan(nan_out.loc[5, "impulse_n_s"]) and nan_out.loc[7, "impulse_n_s"] == pytest.approx(5.0)
    empty = _kin(strides=_strides().iloc[:0])
    assert empty.empty and "impulse_n_s" in empty.columns


def test_inputs_not_mutated():
    values = np.column_stack([M_LOAD, M_LOAD, M_LOAD, M_LOAD])
    load = M_LOAD.copy()
    strides = _strides()
    before = (values.copy(), load.copy(), strides.copy())
    ok = np.array([True, True, True, False])
    ok_before = ok.copy()
    _kin(values, load, strides=strides, layout=_layout4(), channel_ok=ok, bw=500.0)
    K.mean_stance_curve(load, strides=strides)
    K.mean_cop_path(values, strides=strides, layout=_layout4(), channel_ok=None)
    np.testing.assert_array_equal(values, before[0])
    np.testing.assert_array_equal(load, before[1])
    pd.testing.assert_frame_equal(strides, before[2])
    np.testing.assert_array_equal(ok, ok_before)


# --------------------------------------------------------------------------- COP
def _layout4() -> SensorLayout:
    # heel at (0, 0), toe at (0, 200), medial midfoot (−10, 100), lateral forefoot (10, 150)
    return SensorLayout(
        x_mm=np.array([0.0, 0.0, -10.0, 10.0]),
        y_mm=np.array([0.0, 200.0, 100.0, 150.0]),
        region=("heel", "toes", "midfoot", "forefoot"),
        ml_zone=("central", "central", "medial", "lateral"),
        names=("S1", "S2", "S3", "S4"),
        layout_id="test-4",
    )


def test_cop_heel_then_toe_exact():
    # samples 1..3 load only the heel sensor, 4..6 only the toe sensor (50 each); stance 1..6
    v = np.zeros((10, 4))
    v[1:4, 0] = 50.0
    v[4:7, 1] = 50.0
    st = pd.DataFrame({"ic_idx": [1], "to_idx": [6]})
    out = K.stride_kinetics(v, v.sum(axis=1), strides=st, sampling_rate_hz=100.0, unit="N",
                            layout=_layout4(), channel_ok=None, body_weight_n=None).iloc[0]
    # COP y: 0, 0, 0, 200, 200, 200 → one jump of 200 mm; x stays 0
    assert out["cop_path_length_mm"] == pytest.approx(200.0)
    assert out["cop_progression_mm"] == pytest.approx(200.0)
    assert out["cop_ml_excursion_mm"] == pytest.approx(0.0)
    # impulse share: heel 150, toes 150 → 50 % each; midfoot/forefoot sensors unloaded → 0 %
    assert out["heel_load_pct"] == pytest.approx(50.0)
    assert out["toes_load_pct"] == pytest.approx(50.0)
    assert out["midfoot_load_pct"] == 0.0 and out["forefoot_load_pct"] == 0.0
    assert np.isnan(out["ml_index"])  # no medial/lateral load at all
    x, y = K.cop_trajectory(v, layout=_layout4(), channel_ok=None, start_idx=0, stop_idx=5)
    np.testing.assert_allclose(y, [np.nan, 0, 0, 0, 200])
    np.testing.assert_allclose(x, [np.nan, 0, 0, 0, 0])
    mean_path = K.mean_cop_path(v, strides=st, layout=_layout4(), channel_ok=None, n_points=6)
    # 6 points over 1..6 hit the samples exactly
    np.testing.assert_allclose(mean_path["y_mm"], [0, 0, 0, 200, 200, 200])
    assert mean_path["n"] == 1


def test_cop_path_sums_steps_and_ml_index_sign():
    # heel → medial midfoot → lateral forefoot → toe, one sensor loaded per sample
    v = np.zeros((6, 4))
    v[1, 0], v[2, 2], v[3, 3], v[4, 1] = 10.0, 10.0, 30.0, 10.0
    st = pd.DataFrame({"ic_idx": [1], "to_idx": [4]})
    out = K.stride_kinetics(v, v.sum(axis=1), strides=st, sampling_rate_hz=100.0, unit="N",
                            layout=_layout4(), channel_ok=None, body_weight_n=None).iloc[0]
    # steps: (0,0)→(−10,100): √(100+10000); (−10,100)→(10,150): √(400+2500); (10,150)→(0,200): √(100+2500)
    expected = np.sqrt(10100.0) + np.sqrt(2900.0) + np.sqrt(2600.0)
    assert out["cop_path_length_mm"] == pytest.approx(expected)
    assert out["cop_ml_excursion_mm"] == pytest.approx(20.0)
    # lateral 30, medial 10 → (30 − 10)/(30 + 10) = +0.5 (positive = lateral)
    assert out["ml_index"] == pytest.approx(0.5)
    # regional shares: heel 10, midfoot 10, forefoot 30, toes 10 of 60
    shares = out[[f"{r}_load_pct" for r in ("heel", "midfoot", "forefoot", "toes")]].to_numpy(float)
    np.testing.assert_allclose(shares, [100 / 6, 100 / 6, 50.0, 100 / 6])


def test_regional_shares_sum_to_100_and_excluded_channel():
    rng = np.random.default_rng(1)
    v = rng.uniform(0, 100, size=(60, 4))
    v[20:25] = 0.0  # a swing
    st = pd.DataFrame({"ic_idx": [0, 25], "to_idx": [19, 59]})
    out = K.stride_kinetics(v, v.sum(axis=1), strides=st, sampling_rate_hz=100.0, unit="N",
                            layout=_layout4(), channel_ok=None, body_weight_n=None)
    total = out[[f"{r}_load_pct" for r in ("heel", "midfoot", "forefoot", "toes")]].sum(axis=1)
    np.testing.assert_allclose(total, 100.0)
    assert ((out["ml_index"] > -1) & (out["ml_index"] < 1)).all()
    # 5 sensors, one marked not ok and carrying garbage: results equal the clean 4-sensor case
    lay5 = SensorLayout(
        x_mm=np.r_[_layout4().x_mm, 500.0], y_mm=np.r_[_layout4().y_mm, 900.0],
        region=(*_layout4().region, "toes"), ml_zone=(*_layout4().ml_zone, "lateral"),
        names=("S1", "S2", "S3", "S4", "S5"),
    )
    v5 = np.column_stack([v, np.full(60, 1e6)])
    out5 = K.stride_kinetics(v5, v.sum(axis=1), strides=st, sampling_rate_hz=100.0, unit="N", layout=lay5,
                             channel_ok=np.array([True, True, True, True, False]), body_weight_n=None)
    pd.testing.assert_frame_equal(out5, out)


def test_cop_columns_absent_with_too_few_usable_channels():
    v = np.column_stack([M_LOAD] * 4)
    out = _kin(v, layout=_layout4(), channel_ok=np.array([True, True, False, True]))
    assert "cop_path_length_mm" not in out.columns and "heel_load_pct" not in out.columns
    assert "impulse_n_s" in out.columns
    assert _kin(v, layout=None).columns.str.startswith("cop_").sum() == 0
    path = K.mean_cop_path(v, strides=_strides(), layout=None, channel_ok=None)
    assert path["n"] == 0 and np.isnan(path["x_mm"]).all()


def test_sensor_offset_is_removed_before_cop():
    # constant offset of 5 on every sensor must not pull the COP toward the centre
    v = np.zeros((200, 4))
    v[100:103, 0] = 50.0
    v[103:106, 1] = 50.0
    st = pd.DataFrame({"ic_idx": [100], "to_idx": [105]})
    clean = K.stride_kinetics(v, v.sum(1), strides=st, sampling_rate_hz=100.0, unit="au",
                              layout=_layout4(), channel_ok=None, body_weight_n=None)
    offset = K.stride_kinetics(v + 5.0, v.sum(1), strides=st, sampling_rate_hz=100.0, unit="au",
                               layout=_layout4(), channel_ok=None, body_weight_n=None)
    pd.testing.assert_frame_equal(clean, offset)
    np.testing.assert_allclose(K.sensor_baseline(v + 5.0), 5.0)


# --------------------------------------------------------------------------- stance curves
def test_mean_stance_curve_hand_values():
    load = np.array([0.0, 0.0, 10.0, 20.0, 0.0, 0.0, 30.0, 60.0, 0.0])
    st = pd.DataFrame({"ic_idx": [1, 5], "to_idx": [3, 7]})
    out = K.mean_stance_curve(load, strides=st, n_points=5)
    # stance 1..3 = [0, 10, 20] at 0, 25, 50, 75, 100 % → 0, 5, 10, 15, 20
    # stance 5..7 = [0, 30, 60]                          → 0, 15, 30, 45, 60
    np.testing.assert_allclose(out["mean"], [0, 10, 20, 30, 40])
    # sample SD of two values a, b = |a − b|/√2
    np.testing.assert_allclose(out["sd"], np.array([0, 10, 20, 30, 40]) / np.sqrt(2))
    assert out["n"] == 2
    assert out["mean"].shape == (5,)


def test_mean_stance_curve_empty_and_nan():
    out = K.mean_stance_curve(M_LOAD, strides=_strides().iloc[:0])
    assert out["n"] == 0 and out["mean"].shape == (101,) and np.isnan(out["mean"]).all()
    load = M_LOAD.copy()
    load[14] = np.nan
    one = K.mean_stance_curve(load, strides=_strides())
    assert one["n"] == 1 and np.isnan(one["sd"]).all()
    assert one["mean"][0] == 10.0 and one["mean"][-1] == 5.0


# --------------------------------------------------------------------------- end to end
def _synthetic_recording(right_scale: float = 1.2):
    """Two 4-sensor insoles, 100 Hz, stride 1.0 s, stance 0.62 s, right foot loads ×right_scale.

    Per sensor, a half-sine over its part of stance (heel 0–55 %, midfoot medial/lateral
    20–80 %, toe 45–100 %): the centre of pressure rolls heel → toe and the total load has
    two humps. The right foot starts 0.5 s after the left (perfect anti-phase).
    """
    from gaitpf.model import FootSignals, Recording

    fs, n_strides = 100.0, 40
    n = int(fs * (n_strides + 2))
    lay = SensorLayout(
        x_mm=np.array([0.0, -25.0, 25.0, 0.0]), y_mm=np.array([30.0, 110.0, 110.0, 230.0]),
        region=("heel", "midfoot", "midfoot", "toes"), ml_zone=("central", "medial", "lateral", "central"),
        names=("S1", "S2", "S3", "S4"), layout_id="test-4",
    )
    parts = np.array([[0.0, 0.55, 450.0], [0.2, 0.8, 120.0], [0.2, 0.8, 180.0], [0.45, 1.0, 450.0]])
    feet = {}
    for side, start_s, scale in (("left", 0.3, 1.0), ("right", 0.8, right_scale)):
        t = np.arange(n) / fs
        phase = (t - start_s) % 1.0
        u = phase / 0.62                              # 0..1 over stance
        in_stance = (t >= start_s) & (u <= 1.0) & (t < start_s + n_strides)
        v = np.zeros((n, 4))
        for k, (a, b, amp) in enumerate(parts):
            w = np.clip((u - a) / (b - a), 0.0, 1.0)
            v[:, k] = np.where(in_stance, amp * scale * np.sin(np.pi * w), 0.0)
        feet[side] = FootSignals(side=side, values=v, unit="N", sampling_rate_hz=fs, layout=lay)
    return Recording(feet=feet, subject_id="synthetic", body_mass_kg=70.0)


def test_end_to_end_cli_analyze_reports_kinetics_and_symmetry(tmp_path):
    import json

    import gaitpf
    from gaitpf.cli.main import main

    path = tmp_path / "synthetic.h5"
    gaitpf.write_recording(path, _synthetic_recording(1.2))
    strides_csv, summary_json = tmp_path / "strides.csv", tmp_path / "summary.json"
    main(["analyze", str(path), "--strides", str(strides_csv), "--summary", str(summary_json)])
    table = pd.read_csv(strides_csv)
    summary = json.loads(summary_json.read_text())
    for col in ("peak_force_1_n", "peak_force_2_pct_bw", "impulse_n_s", "loading_rate_n_per_s",
                "cop_path_length_mm", "cop_progression_mm", "heel_load_pct", "toes_load_pct", "ml_index"):
        assert col in table.columns, col
    steady = table[table["steady"]]
    assert (steady["side"] == "left").sum() >= 20 and (steady["side"] == "right").sum() >= 20
    shares = steady[["heel_load_pct", "midfoot_load_pct", "forefoot_load_pct", "toes_load_pct"]]
    np.testing.assert_allclose(shares["heel_load_pct"] + shares["midfoot_load_pct"] + shares["toes_load_pct"], 100.0, atol=1e-3)  # CSV rounding
    assert shares["forefoot_load_pct"].isna().all()  # this layout has no forefoot sensor
    # lateral sensor amplitude 180 vs medial 120, same timing → ml_index = (180−120)/300 = 0.2
    np.testing.assert_allclose(steady["ml_index"], 0.2, atol=1e-3)
    # COP rolls from the heel (y = 30) to the toe (y = 230): progression close to 200 mm
    assert steady["cop_progression_mm"].between(180.0, 200.0 + 1e-9).all()
    metrics = summary["metrics"]
    # right loads are 1.2 × left: SI = 100·0.2/1.1 = 18.18 %, SR = 1/1.2 (peaks are exact samples)
    assert metrics["peak_force_1_n"]["si_pct"] == pytest.approx(200.0 / 11.0, rel=1e-6)
    assert metrics["peak_force_2_n"]["sr"] == pytest.approx(1 / 1.2, rel=1e-6)
    assert metrics["impulse_n_s"]["si_pct"] == pytest.approx(200.0 / 11.0, abs=1.0)
    assert abs(metrics["cop_progression_mm"]["si_pct"]) < 1.0
    # perfect anti-phase stepping; curves of identical shape with 1.2 × range
    assert summary["pci_pct"] == pytest.approx(0.0, abs=1.0)
    assert summary["trend_symmetry"]["trend_symmetry"] > 0.99
    assert summary["trend_symmetry"]["range_amplitude"] == pytest.approx(1.2, abs=0.03)
