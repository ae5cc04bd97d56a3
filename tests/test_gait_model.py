"""The virtual gait model: force curve, events, asymmetry, variability, COP, determinism."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from gaitpf.errors import InputError
from gaitpf.layouts import gaitpf16_layout
from gaitpf.model import REGIONS
from gaitpf.sim import pressure
from gaitpf.sim.gait_model import (
    BLOCK_SAMPLES,
    GaitParams,
    GaitSimulator,
    WalkingBouts,
    expected_metrics,
    iter_frames,
    simulate_trial,
)

FS = 100.0


@pytest.fixture(scope="module")
def long_trial():
    """20 min of a symmetric subject (cheap: ~1 s)."""
    params = GaitParams(seed=11)
    return params, *simulate_trial(params, duration_s=1200)


@pytest.fixture(scope="module")
def antalgic_trial():
    params = GaitParams(affected_side="left", step_time_asymmetry_pct=10, load_asymmetry_pct=20,
                        heel_offload_pct=40, seed=4)
    return params, *simulate_trial(params, duration_s=300)


def walking_stances(truth: pd.DataFrame, params: GaitParams) -> pd.DataFrame:
    """Stances inside a bout (drops the ones spanning a standing pause), with next IC."""
    df = truth.copy()
    df["next_ic_idx"] = np.append(df["ic_idx"].to_numpy()[1:], -1)
    df = df.iloc[:-1]
    stride_n = df["next_ic_idx"] - df["ic_idx"]
    return df[stride_n < 1.5 * params.stride_time_s * FS]


# ---- hand-checked pieces of the force model ------------------------------------------
def test_grf_curve_hits_its_control_points():
    u = np.array([0.0, 0.25, 0.5, 0.76, 1.0, -0.5, 1.5])
    np.testing.assert_allclose(pressure.grf_bw(u), [0.0, 1.15, 0.80, 1.12, 0.0, 0.0, 0.0], atol=1e-12)
    fine = pressure.grf_bw(np.linspace(0, 1, 1001))
    assert fine.max() == pytest.approx(1.15, abs=0.005) and fine.min() == 0.0


def test_contact_weights_roll_heel_to_toe():
    w = pressure.contact_weights(np.array([0.0, 0.5, 1.0]))
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert w[0, 0] == pytest.approx(1.0)  # heel strike: all on the heel
    assert w[1, 2] == w[1].max()  # mid-stance: forefoot dominates
    assert w[2, 3] == w[2].max()  # toe-off: toes


def test_footprints_sum_to_one_and_land_in_their_region():
    lay = gaitpf16_layout()
    g = pressure.footprints(lay)
    assert g.shape == (4, 16)
    np.testing.assert_allclose(g.sum(axis=1), 1.0, rtol=1e-6)
    for area, row in zip(pressure.AREA_NAMES, g):
        assert lay.region[int(np.argmax(row))] == area


def test_render_force_rows_sum_to_the_curve_and_swing_is_zero():
    g = pressure.footprints(gaitpf16_layout())
    u = np.array([0.25, 0.5, 0.3, 0.7])
    out = pressure.render_force(u, np.array([0.0, 0.0, 1.0, 0.0]), np.array([True, True, True, False]),
                                np.ones(4), body_weight_n=700.0, load_factor=0.9, heel_scale=1.0,
                                area_to_sensor=g)
    np.testing.assert_allclose(out.sum(axis=1), [0.9 * 700 * 1.15, 0.9 * 700 * 0.80, 0.9 * 350, 0.0], rtol=1e-5)
    assert np.all(out[3] == 0.0)


# ---- events --------------------------------------------------------------------------
def test_truth_events_are_consistent_and_alternate(long_trial):
    params, rec, truth = long_trial
    assert rec.truth is truth
    for side in ("left", "right"):
        ic, to = truth[side]["ic_idx"].to_numpy(), truth[side]["to_idx"].to_numpy()
        assert truth[side]["ic_idx"].dtype == np.int64
        assert np.all(ic < to) and np.all(to[:-1] < ic[1:])
        assert 0 < ic[0] and to[-1] <= rec.feet[side].n_samples
    # inside a bout the feet alternate: exactly one right IC between consecutive left ICs
    walk = walking_stances(truth["left"], params)
    right_ic = truth["right"]["ic_idx"].to_numpy()
    between = np.searchsorted(right_ic, walk["next_ic_idx"]) - np.searchsorted(right_ic, walk["ic_idx"])
    assert np.all(between == 1)
    assert len(walk) > 500


def test_cadence_and_stance_match_parameters(long_trial):
    params, _, truth = long_trial
    for side in ("left", "right"):
        w = walking_stances(truth[side], params)
        stride_s = (w["next_ic_idx"] - w["ic_idx"]) / FS
        stance_pct = 100 * (w["to_idx"] - w["ic_idx"]) / (w["next_ic_idx"] - w["ic_idx"])
        assert 120.0 / stride_s.mean() == pytest.approx(params.cadence_spm, rel=0.01)
        assert stance_pct.mean() == pytest.approx(params.stance_pct, abs=0.7)
        # right IC sits half a stride after the left one
    lw = walking_stances(truth["left"], params)
    right_ic = truth["right"]["ic_idx"].to_numpy()
    nxt = right_ic[np.searchsorted(right_ic, lw["ic_idx"])]
    phase = (nxt - lw["ic_idx"]) / (lw["next_ic_idx"] - lw["ic_idx"])
    assert phase.mean() == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("cv_pct", [2.0, 4.0])
def test_stride_variability_has_requested_cv_and_is_serially_correlated(cv_pct):
    params = GaitParams(stride_cv_pct=cv_pct, seed=21, walking_bouts=WalkingBouts(n_bouts=1))
    _, truth = simulate_trial(params, duration_s=2400)
    w = walking_stances(truth["left"], params)
    stride = ((w["next_ic_idx"] - w["ic_idx"]) / FS).to_numpy()
    assert 100 * stride.std() / stride.mean() == pytest.approx(cv_pct, rel=0.2)
    lag1 = np.corrcoef(stride[:-1], stride[1:])[0, 1]
    assert lag1 > 0.35  # AR(1) with 0.6: serially correlated, unlike white noise (≈ 0)
    white = GaitParams(stride_cv_pct=cv_pct, stride_ar1_coef=0.0, seed=21, walking_bouts=WalkingBouts(n_bouts=1))
    wt = walking_stances(simulate_trial(white, duration_s=2400)[1]["left"], white)
    s_white = ((wt["next_ic_idx"] - wt["ic_idx"]) / FS).to_numpy()
    assert abs(np.corrcoef(s_white[:-1], s_white[1:])[0, 1]) < 0.15


def test_antalgic_side_has_shorter_stance_by_requested_asymmetry(antalgic_trial):
    params, _, truth = antalgic_trial
    stance = {s: ((walking_stances(truth[s], params)["to_idx"] - walking_stances(truth[s], params)["ic_idx"]) / FS)
              .mean() for s in ("left", "right")}
    assert stance["left"] < stance["right"]
    si = 100 * (stance["right"] - stance["left"]) / (0.5 * (stance["right"] + stance["left"]))
    assert si == pytest.approx(10.0, abs=1.0)
    assert expected_metrics(params)["stance_time_si_pct"] == pytest.approx(10.0)


# ---- forces --------------------------------------------------------------------------
def _stance_peaks(values: np.ndarray, truth: pd.DataFrame, params: GaitParams) -> np.ndarray:
    total = values.sum(axis=1)
    w = walking_stances(truth, params)
    return np.array([total[a:b].max() for a, b in zip(w["ic_idx"], w["to_idx"])])


def test_forces_scale_with_body_weight_and_load_asymmetry(antalgic_trial):
    params, rec, truth = antalgic_trial
    bw = params.body_weight_n
    peaks = {s: np.median(_stance_peaks(rec.feet[s].values, truth[s], params)) / bw for s in ("left", "right")}
    assert peaks["left"] == pytest.approx(1.15 * 0.9, abs=0.04)
    assert peaks["right"] == pytest.approx(1.15 * 1.1, abs=0.04)
    # quiet standing at the start: half body weight per foot, times the load factor, still
    start = slice(int(0.5 * FS), int(2.0 * FS))
    left = rec.feet["left"].values[start].sum(axis=1) / bw
    right = rec.feet["right"].values[start].sum(axis=1) / bw
    assert left.mean() == pytest.approx(0.45, abs=0.01) and right.mean() == pytest.approx(0.55, abs=0.01)
    assert (left + right).std() < 0.01


def test_swing_is_exactly_zero_without_noise_and_near_zero_with_it():
    for noise, limit in ((0.0, 0.0), (1.0, 0.01)):
        params = GaitParams(noise_pct=noise, seed=2)
        rec, truth = simulate_trial(params, duration_s=40)
        for side in ("left", "right"):
            w = walking_stances(truth[side], params)
            total = rec.feet[side].values.sum(axis=1)
            swing = np.concatenate([total[b:c] for b, c in zip(w["to_idx"], w["next_ic_idx"])])
            assert np.all(rec.feet[side].values >= 0)
            assert np.median(swing) <= limit * params.body_weight_n
            if noise == 0:
                assert np.all(swing == 0)


def _cop_y(values: np.ndarray, y_mm: np.ndarray) -> np.ndarray:
    total = values.sum(axis=1)
    return (values @ y_mm) / np.where(total > 0, total, np.nan)


def test_cop_rolls_from_heel_to_toes(long_trial):
    params, rec, truth = long_trial
    foot = rec.feet["right"]
    cop = _cop_y(foot.values.astype(float), foot.layout.y_mm)
    w = walking_stances(truth["right"], params).iloc[:200]
    at = {f: np.array([cop[int(a + f * (b - a))] for a, b in zip(w["ic_idx"], w["to_idx"])]) for f in (0.05, 0.5, 0.9)}
    assert np.all(at[0.05] < at[0.5]) and np.all(at[0.5] < at[0.9])
    assert np.median(at[0.05]) < 0.3 * 260 and np.median(at[0.9]) > 0.8 * 260


def _heel_share(rec, truth, params, side):
    foot = rec.feet[side]
    heel = np.array([r == "heel" for r in foot.layout.region])
    w = walking_stances(truth[side], params)
    idx = np.concatenate([np.arange(a, b) for a, b in zip(w["ic_idx"], w["to_idx"])])
    v = foot.values[idx].astype(float)
    return v[:, heel].sum() / v.sum()


def test_heel_offload_lowers_heel_share_on_affected_side(antalgic_trial, long_trial):
    params, rec, truth = antalgic_trial
    left, right = (_heel_share(rec, truth, params, s) for s in ("left", "right"))
    assert left / right == pytest.approx(0.6, abs=0.06)  # 40 % offload
    params0, rec0, truth0 = long_trial
    l0, r0 = (_heel_share(rec0, truth0, params0, s) for s in ("left", "right"))
    assert l0 == pytest.approx(r0, rel=0.03) and 0.15 < l0 < 0.5
    assert set(rec.feet["left"].layout.region) <= set(REGIONS)


# ---- determinism, streaming, sizes -----------------------------------------------------
def test_same_seed_same_data_other_seed_other_data():
    a, ta = simulate_trial(GaitParams(seed=7), duration_s=30)
    b, tb = simulate_trial(GaitParams(seed=7), duration_s=30)
    c, tc = simulate_trial(GaitParams(seed=8), duration_s=30)
    for s in ("left", "right"):
        assert np.array_equal(a.feet[s].values, b.feet[s].values)
        pd.testing.assert_frame_equal(ta[s], tb[s])
        assert not np.array_equal(a.feet[s].values, c.feet[s].values)
    assert not ta["left"].equals(tc["left"])


def test_streaming_equals_whole_trial_whatever_the_chunk():
    params = GaitParams(seed=3, baseline_drift_n=20.0, adc_step_n=0.25)
    rec, truth = simulate_trial(params, duration_s=100)
    chunks = list(iter_frames(params, chunk_s=0.37, duration_s=100))
    assert chunks[0].start_idx == 0 and chunks[1].start_idx == 37
    for s in ("left", "right"):
        streamed = np.concatenate([c.values[s] for c in chunks])
        assert np.array_equal(streamed, rec.feet[s].values)
        events = pd.concat([c.events[s] for c in chunks], ignore_index=True)
        pd.testing.assert_frame_equal(events, truth[s])
        v = rec.feet[s].values
        assert np.allclose(v / 0.25, np.round(v / 0.25), atol=1e-3)
    assert len(chunks[-1].time_s) == 10000 - 37 * (len(chunks) - 1)


def test_endless_stream_keeps_walking_with_pauses():
    params = GaitParams(seed=5, walking_bouts=WalkingBouts(bout_s=20.0))
    gen = iter_frames(params, chunk_s=10.0)
    chunks = [next(gen) for _ in range(12)]  # 120 s: standing, 5 bouts of 20 s with pauses
    left = np.concatenate([c.values["left"] for c in chunks]).sum(axis=1)
    events = pd.concat([c.events["left"] for c in chunks], ignore_index=True)
    assert len(events) > 80 and np.all(np.diff(events["ic_idx"]) > 0)
    pauses = np.diff(events["ic_idx"]) / FS > 2.0  # a 2 s pause between two bouts
    long_stances = (events["to_idx"] - events["ic_idx"]) / FS > 1.5  # the foot stays down over it
    assert 4 <= pauses.sum() <= 5
    assert np.array_equal(np.flatnonzero(pauses), np.flatnonzero(long_stances[:-1]))
    assert np.all(np.isfinite(left)) and left.max() > params.body_weight_n


def test_thousand_sensels_shape_and_totals():
    params = GaitParams(n_sensors=1000, seed=1)
    rec, truth = simulate_trial(params, duration_s=16)
    foot = rec.feet["left"]
    assert foot.values.shape == (1600, 1000) and foot.values.dtype == np.float32
    assert foot.layout.layout_id == "grid-1000"
    start = foot.values[50:250].sum(axis=1) / params.body_weight_n
    assert start.mean() == pytest.approx(0.5, abs=0.02)
    assert len(truth["left"]) >= 4


def test_eight_sensor_layout_is_gaitpdb_like():
    rec, _ = simulate_trial(GaitParams(n_sensors=8), duration_s=20)
    assert rec.feet["right"].layout.layout_id == "gaitpdb-8"
    assert rec.feet["right"].layout.names[0] == "R1"


def test_block_rendering_matches_across_block_edges():
    sim = GaitSimulator(GaitParams(seed=9), duration_s=120)
    whole = sim.render(0, 3 * BLOCK_SAMPLES)["left"]
    part = sim.render(BLOCK_SAMPLES - 5, BLOCK_SAMPLES + 5)["left"]
    assert np.array_equal(part, whole[BLOCK_SAMPLES - 5:BLOCK_SAMPLES + 5])


def test_recording_metadata(antalgic_trial):
    params, rec, _ = antalgic_trial
    assert rec.subject_id == "sim" and rec.body_mass_kg == 70.0
    assert rec.source["importer"] == "simulate"
    assert rec.source["params"] == dataclasses.asdict(params)
    assert rec.feet["left"].unit == "N" and rec.sampling_rate_hz == 100.0
    kinds = set(rec.annotations["kind"])
    assert kinds == {"standing"} and len(rec.annotations) == 3  # start, pause, end


@pytest.mark.parametrize(
    "kwargs, duration, message",
    [
        ({"step_time_asymmetry_pct": 10.0}, 60, "affected_side"),
        ({"stance_pct": 79.0, "step_time_asymmetry_pct": 10.0, "affected_side": "left"}, 60, "52–80"),
        ({"cadence_spm": 20.0}, 60, "cadence_spm"),
        ({}, 12, "too short"),
    ],
)
def test_bad_parameters_raise_input_error_naming_the_value(kwargs, duration, message):
    with pytest.raises(InputError, match=message):
        simulate_trial(GaitParams(**kwargs), duration_s=duration)


def test_contact_area_variation_moves_load_not_events():
    """region_cv_pct varies where the force sits per stride; total force and events stay those of the seed."""
    import pandas as pd

    from gaitpf.analysis import analyze

    base = GaitParams(seed=11, region_cv_pct=0.0)
    varied = GaitParams(seed=11, region_cv_pct=20.0, region_scale_right=(1.2, 1.0, 0.9, 1.0))
    r0, t0 = simulate_trial(base, duration_s=30)
    r1, t1 = simulate_trial(varied, duration_s=30)
    for s in ("left", "right"):
        pd.testing.assert_frame_equal(t0[s], t1[s])
        tot0, tot1 = r0.feet[s].values.sum(axis=1), r1.feet[s].values.sum(axis=1)
        assert np.allclose(tot0[tot0 > 50], tot1[tot0 > 50], rtol=0.05)
    sd = {}
    for name, rec in (("base", r0), ("varied", r1)):
        st = analyze(rec).strides
        st = st[st["steady"]]
        sd[name] = st.groupby("side")["heel_load_pct"].std()
        if name == "varied":
            med = st.groupby("side")["heel_load_pct"].median()
    assert (sd["base"] < 0.5).all() and (sd["varied"] > 1.0).all()    # percentage points per stride
    assert med["right"] > med["left"]                                  # the right foot's heel factor 1.2
