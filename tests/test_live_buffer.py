"""The live buffer: online stance detection equals the offline analysis; ring, counters, metrics."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gaitpf.analysis import AnalysisParams, analyze
from gaitpf.analysis.events import detect_stance_phases
from gaitpf.analysis.preprocess import prepare_load
from gaitpf.io import read_recording
from gaitpf.live.buffer import LiveBuffer
from gaitpf.live.online import HEALTHY_SA_PCT, HEALTHY_SI_PCT
from gaitpf.model import QUALITY_GAP_BEFORE, Recording
from gaitpf.sim.gait_model import GaitParams, WalkingBouts, simulate_trial

DATA = Path(__file__).parent / "data"


def offline_stances(rec: Recording, side: str) -> pd.DataFrame:
    """Exactly what gaitpf.analysis.analyze does per foot."""
    foot = rec.feet[side]
    p = AnalysisParams()
    prep = prepare_load(foot.values, sampling_rate_hz=rec.sampling_rate_hz, unit=foot.unit, params=p.preprocess)
    bw = rec.body_mass_kg * 9.80665 if rec.body_mass_kg and foot.unit == "N" else None
    return detect_stance_phases(prep.load, sampling_rate_hz=rec.sampling_rate_hz, params=p.events,
                                body_weight_n=bw, invalid=prep.invalid)


def stream(rec: Recording, *, chunk: int = 7, **kw) -> LiveBuffer:
    """Feed a recording block by block, both feet interleaved, like an acquisition thread."""
    buf = LiveBuffer(sampling_rate_hz=rec.sampling_rate_hz, n_sensors={s: f.n_sensors for s, f in rec.feet.items()},
                     unit=next(iter(rec.feet.values())).unit, layouts={s: f.layout for s, f in rec.feet.items()},
                     body_mass_kg=rec.body_mass_kg, **kw)
    n = max(f.n_samples for f in rec.feet.values())
    for lo in range(0, n, chunk):
        for side, f in rec.feet.items():
            sl = slice(lo, lo + chunk)
            buf.push(side, f.values[sl], time_s=f.times_s()[sl],
                     sample_counter=None if f.sample_counter is None else f.sample_counter[sl],
                     quality=None if f.quality is None else f.quality[sl])
    return buf


def assert_online_equals_offline(rec: Recording, buf: LiveBuffer) -> int:
    """Every offline stance that the online detector could have confirmed is found within one sample."""
    n_checked = 0
    for side in rec.sides:
        off = offline_stances(rec, side)
        on = buf.stances(side)
        n = rec.feet[side].n_samples
        # the last confirm_n samples cannot be confirmed yet; the first warm-up window is included
        reachable = off[off["to_idx"] < n - 1 - buf.confirm_n - 1]
        assert len(reachable) >= 5
        assert len(on) == len(reachable), (side, len(on), len(reachable))
        assert np.abs(on["ic_idx"].to_numpy() - reachable["ic_idx"].to_numpy()).max() <= 1
        assert np.abs(on["to_idx"].to_numpy() - reachable["to_idx"].to_numpy()).max() <= 1
        n_checked += len(on)
    return n_checked


# ---------------------------------------------------------------- hand-computed
def test_square_wave_gives_the_hand_computed_events():
    # 100 Hz, body weight 700 N: 1 s strides, 0.6 s stance (60 loaded samples), 14 s long
    fs, bw = 100.0, 700.0
    n = 1400
    load = np.zeros(n)
    ics = np.arange(150, n - 100, 100)
    for ic in ics:
        load[ic:ic + 60] = bw
    rec_mass = bw / 9.80665
    buf = LiveBuffer(sampling_rate_hz=fs, n_sensors={"left": 1}, unit="N", body_mass_kg=rec_mass)
    for lo in range(0, n, 5):
        buf.push("left", load[lo:lo + 5], time_s=np.arange(lo, min(lo + 5, n)) / fs)
    st = buf.stances("left")
    # a clean square wave: IC = first loaded sample, TO = first unloaded sample (events.py)
    expect_ic = ics[ics + 60 < n - 1 - buf.confirm_n]
    np.testing.assert_array_equal(st["ic_idx"].to_numpy(), expect_ic)
    np.testing.assert_array_equal(st["to_idx"].to_numpy(), expect_ic + 60)
    m = buf.snapshot().metrics
    assert m["n_strides"] == {"left": len(expect_ic) - 1}
    assert m["stance_time_s"]["left"] == pytest.approx(0.60)
    assert m["swing_time_s"]["left"] == pytest.approx(0.40)
    assert m["si_pct"] == {}  # one foot only: no symmetry


def test_healthy_band_converts_patterson_ratios():
    # SI = 200 (SR - 1) / (SR + 1): 1.05 -> 4.878 %, 1.06 -> 5.825 %
    assert HEALTHY_SI_PCT["stance_time_s"] == pytest.approx(200 * 0.05 / 2.05)
    assert HEALTHY_SI_PCT["swing_time_s"] == pytest.approx(200 * 0.06 / 2.06)
    assert 0 < HEALTHY_SA_PCT["stance_time_s"] < HEALTHY_SI_PCT["stance_time_s"]


def test_counters_duplicates_gaps_and_links():
    buf = LiveBuffer(sampling_rate_hz=100.0, n_sensors={"left": 2, "right": 2}, unit="N")
    v = np.ones((5, 2))
    buf.push("left", v, time_s=np.arange(5) / 100, sample_counter=np.arange(5))
    buf.push("left", v[:3], time_s=np.arange(3, 6) / 100, sample_counter=np.array([3, 4, 5]))  # 3, 4 duplicates
    q = np.zeros(2, np.uint8)
    buf.push("left", v[:2], time_s=np.array([0.09, 0.10]), sample_counter=np.array([9, 10]), quality=q)  # 3 lost
    buf.push("right", v[:1], time_s=np.array([0.0]), sample_counter=np.array([0]),
             quality=np.array([QUALITY_GAP_BEFORE], np.uint8), battery_pct=55.0)
    snap = buf.snapshot()
    left, right = snap.sides["left"], snap.sides["right"]
    assert left.frames == 8 and left.lost_frames == 3 and left.gaps == 1
    assert right.frames == 1 and right.gaps == 1 and right.battery_pct == 55.0
    np.testing.assert_allclose(left.total, [2.0] * 8)
    assert len(snap.new_arrivals) == 9 and len(buf.snapshot().new_arrivals) == 0
    buf.push_event("right", "disconnected")
    snap = buf.snapshot()
    assert snap.link_down == ["right"] and snap.messages[-1][0] == "error"
    buf.push_event("right", "connected")
    assert buf.snapshot().link_down == []


def test_ring_keeps_the_last_window_contiguous():
    buf = LiveBuffer(sampling_rate_hz=10.0, n_sensors={"left": 1}, unit="N", window_s=2.0, confirm_s=0.5)
    for k in range(100):
        buf.push("left", np.array([[float(k)]]), time_s=np.array([k / 10.0]))
    snap = buf.snapshot(last_s=1.0)
    np.testing.assert_array_equal(snap.sides["left"].total, np.arange(90, 100))
    assert snap.sides["left"].frames == 100


# ---------------------------------------------------------------- online == offline
@pytest.fixture(scope="module")
def antalgic():
    params = GaitParams(seed=7, step_time_asymmetry_pct=8.0, affected_side="left",
                        walking_bouts=WalkingBouts(standing_start_s=2.0, standing_end_s=2.0, pause_s=1.5))
    rec, _truth = simulate_trial(params, duration_s=40.0)
    return rec


@pytest.fixture(scope="module")
def antalgic_buf(antalgic):
    return stream(antalgic)


def test_online_equals_offline_simulated_with_body_weight(antalgic, antalgic_buf):
    buf = antalgic_buf
    assert buf.body_weight_n is not None and buf.confirm_n == 40
    assert assert_online_equals_offline(antalgic, buf) >= 40


def test_online_equals_offline_simulated_without_body_mass(antalgic):
    # no body mass: running load scale (centred windows) -> events confirmed after 5.3 s
    rec = Recording(feet=antalgic.feet, subject_id="sim", body_mass_kg=None)
    buf = stream(rec, chunk=13)
    assert buf.body_weight_n is None and buf.confirm_n == 530
    assert assert_online_equals_offline(rec, buf) >= 30


def test_online_equals_offline_on_physionet_gaitpdb():
    rec = read_recording(DATA / "gaitpdb" / "JuPt02_01.txt")  # Parkinson's patient, 8 sensors, N
    first = {s: f.__class__(side=s, values=f.values[:3000], unit=f.unit, sampling_rate_hz=f.sampling_rate_hz,
                            layout=f.layout) for s, f in rec.feet.items()}
    rec35 = Recording(feet=first, subject_id=rec.subject_id, body_mass_kg=rec.body_mass_kg)
    buf = stream(rec35, chunk=10)
    assert assert_online_equals_offline(rec35, buf) >= 50


def test_running_symmetry_matches_the_offline_stride_table(antalgic, antalgic_buf):
    buf = antalgic_buf
    m = buf.snapshot().metrics
    res = analyze(antalgic)
    steady = res.strides[res.strides["steady"]]
    for side in ("left", "right"):
        last = steady[steady["side"] == side].tail(buf.n_symmetry_strides)
        assert m["stance_time_s"][side] == pytest.approx(last["stance_time_s"].mean(), abs=0.02)
    # the simulated antalgic left side has the shorter stance: SI = 100 (R - L) / mean > 0
    assert m["si_pct"]["stance_time_s"] > HEALTHY_SI_PCT["stance_time_s"]
    assert m["cadence_spm"] == pytest.approx(res.summary["cadence_spm"], rel=0.05)
    assert len(m["history"]) >= 10
