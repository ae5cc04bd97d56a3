"""gaitpf.analysis.pressure_map on tiny arrays, checked against hand computation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gaitpf.analysis.pressure_map import map_difference, pool_maps, pressure_map, pressure_scale, region_share
from gaitpf.errors import SignalError

# 2 sensors, 8 samples at 10 Hz; stances 1..3 and 5..6; unloaded level 0
V = np.array([[0, 0], [2, 1], [4, 1], [2, 3], [0, 0], [6, 0], [2, 2], [0, 0]], dtype=float)
STRIDES = pd.DataFrame({"ic_idx": [1, 5], "to_idx": [3, 6]})


def test_peak_and_pti_by_hand():
    v0 = V.copy()
    m = pressure_map(V, strides=STRIDES, sampling_rate_hz=10.0, unit="kPa", baseline=np.zeros(2))
    # sensor 0: peaks 4 and 6 -> 5; PTI (2+4+2)*0.1=0.8 and (6+2)*0.1=0.8 -> 0.8
    # sensor 1: peaks 3 and 2 -> 2.5; PTI (1+1+3)*0.1=0.5 and (0+2)*0.1=0.2 -> 0.35
    np.testing.assert_allclose(m["peak"], [5.0, 2.5])
    np.testing.assert_allclose(m["pti"], [0.8, 0.35])
    np.testing.assert_allclose(m["peak_sd"], [np.sqrt(2.0), np.sqrt(0.5)])
    assert m["n_strides"] == 2 and m["unit"] == "kPa" and m["absolute"]
    np.testing.assert_array_equal(V, v0)  # input not mutated


def test_force_with_area_becomes_kpa_and_baseline_is_subtracted():
    # 1 N on 100 mm² = 10 kPa; an offset of 1 N is the unloaded level
    m = pressure_map(V + 1.0, strides=STRIDES, sampling_rate_hz=10.0, unit="N", area_mm2=np.array([100.0, 50.0]),
                     baseline=np.ones(2))
    np.testing.assert_allclose(m["peak"], [50.0, 50.0])  # 5 N/100 mm², 2.5 N/50 mm²
    assert m["unit"] == "kPa" and m["absolute"]


def test_without_area_the_map_is_relative_and_dead_channels_are_nan():
    m = pressure_map(V, strides=STRIDES, sampling_rate_hz=10.0, unit="N", channel_ok=np.array([True, False]),
                     baseline=np.zeros(2))
    assert m["unit"] == "N" and not m["absolute"]
    assert m["peak"][0] == 5.0 and np.isnan(m["peak"][1])
    assert pressure_scale("au", np.array([1.0, 1.0]), 2)[2] is False
    assert pressure_scale("N", np.array([1.0, 0.0]), 2)[2] is False  # a zero area is not an area


def test_negative_readings_count_as_no_load_and_no_strides_give_nan():
    m = pressure_map(-V, strides=STRIDES, sampling_rate_hz=10.0, unit="kPa", baseline=np.zeros(2))
    np.testing.assert_allclose(m["peak"], [0.0, 0.0])
    e = pressure_map(V, strides=STRIDES.iloc[:0], sampling_rate_hz=10.0, unit="kPa")
    assert e["n_strides"] == 0 and np.isnan(e["peak"]).all()
    with pytest.raises(SignalError):
        pressure_map(V, strides=pd.DataFrame({"ic_idx": [5], "to_idx": [9]}), sampling_rate_hz=10.0, unit="kPa")


def test_pool_difference_and_region_share():
    a = {"peak": np.array([1.0, 2.0]), "pti": np.array([1.0, 3.0]), "n_strides": 1, "unit": "kPa", "absolute": True}
    b = {"peak": np.array([4.0, 2.0]), "pti": np.array([3.0, 1.0]), "n_strides": 3, "unit": "kPa", "absolute": True}
    p = pool_maps([a, b])
    np.testing.assert_allclose(p["peak"], [3.25, 2.0])  # (1*1 + 3*4)/4
    assert p["n_strides"] == 4
    assert pool_maps([dict(a, n_strides=0)]) is None
    d = map_difference(a, b)
    np.testing.assert_allclose(d["pti"], [2.0, -2.0])
    share = region_share(np.array([1.0, 3.0, np.nan, 4.0]), ["heel", "forefoot", "forefoot", "heel"])
    assert share == pytest.approx({"heel": 62.5, "forefoot": 37.5})
    with pytest.raises(SignalError):
        pool_maps([a, dict(b, unit="N", absolute=False)])


def test_loaded_cop_path_skips_lightly_loaded_samples():
    from gaitpf.analysis.pressure_map import loaded_cop_path

    # heel sensor at y=0, toe sensor at y=100; stance 0..4; sample 0 and 4 carry < 10 % of the peak (10)
    v = np.array([[0.5, 0.0], [10, 0], [5, 5], [0, 10], [0.0, 0.5]], dtype=float)
    st = pd.DataFrame({"ic_idx": [0], "to_idx": [4]})
    c = loaded_cop_path(v, strides=st, x_mm=np.array([0.0, 10.0]), y_mm=np.array([0.0, 100.0]),
                        baseline=np.zeros(2), n_points=3)
    # loaded samples 1..3: COP y = 0, 50, 100 -> resampled at 0, 50, 100 %
    np.testing.assert_allclose(c["y_mm"], [0.0, 50.0, 100.0])
    np.testing.assert_allclose(c["x_mm"], [0.0, 5.0, 10.0])
    assert c["n"] == 1
    # with no threshold the tiny loads at the ends pull the line back (the "hook")
    raw = loaded_cop_path(v, strides=st, x_mm=np.array([0.0, 10.0]), y_mm=np.array([0.0, 100.0]),
                          baseline=np.zeros(2), min_load_frac=0.0, n_points=5)
    assert raw["y_mm"][0] == 0.0 and raw["y_mm"][-1] == 100.0 and raw["y_mm"][1] == 0.0
