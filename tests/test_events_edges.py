"""Physical stance edges: terminal plateaus, slow heel ramps, ambiguity flags (synthetic waveforms)."""
from __future__ import annotations

import dataclasses

import numpy as np

from gaitpf.analysis.events import EventParams, detect_stance_phases

FS = 100.0
STRIDE = 110


def _walk(shape, n_strides: int = 10, start: int = 30) -> tuple[np.ndarray, list[int]]:
    """Repeat one stride ``shape`` (load in units of the stance peak) every STRIDE samples."""
    x = np.zeros(start + n_strides * STRIDE + 60)
    starts = [start + k * STRIDE for k in range(n_strides)]
    for a in starts:
        x[a: a + len(shape)] = shape
    return 800.0 * x, starts


def test_toe_off_on_a_terminal_plateau_is_the_end_of_the_second_fall():
    # steep fall to a shoulder at 0.28 of the peak held 250 ms, then a steep fall to the floor
    stance = np.concatenate([np.linspace(0.2, 1.0, 5), np.ones(40), np.linspace(0.8, 0.28, 4),
                             np.full(25, 0.28), np.linspace(0.2, 0.0, 4)])
    load, starts = _walk(stance)
    shoulder = 45 + 4          # first sample of the shoulder
    end = 45 + 4 + 25 + 3      # first sample at the floor after the second fall
    old = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams(plateau_fraction=10.0))
    # the failure: the 150 ms floor search ends on the shoulder, so TO is its start (still loaded)
    assert (old["to_idx"].to_numpy() - old["ic_idx"].to_numpy() <= shoulder).all()
    new = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams())
    assert new["ic_idx"].tolist() == starts
    assert new["to_idx"].tolist() == [a + end for a in starts]
    # the shoulder start is kept as the alternative placement, and flagged
    assert new["to_ambiguous"].all() and not new["ic_ambiguous"].any()
    assert (new["to_alt_idx"] == old["to_idx"]).all()


def test_a_shoulder_without_a_second_fall_is_left_alone():
    # load steps down to 0.28 and decays slowly to 0: no steep second fall within 400 ms
    stance = np.concatenate([np.linspace(0.2, 1.0, 5), np.ones(40), np.linspace(0.8, 0.28, 4),
                             np.linspace(0.28, 0.0, 45)])
    load, _ = _walk(stance)
    a = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams())
    b = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams(plateau_fraction=10.0))
    assert a["to_idx"].tolist() == b["to_idx"].tolist()


def test_slow_heel_ramp_contact_is_the_first_sustained_loading_on_calibrated_signals():
    # heel ramp 0 -> 0.12 of the peak over 80 ms, short plateau 60 ms, then the steep rise
    ramp = np.linspace(0.0, 0.12, 9)[1:]
    stance = np.concatenate([ramp, np.full(6, 0.12), np.linspace(0.3, 1.0, 4), np.ones(40), np.linspace(0.7, 0.0, 5)])
    load, starts = _walk(stance)
    contact = int(np.argmax(ramp > 0.08))     # first sample above the contact level (0.08 of S)
    steep = len(ramp) + 6                     # first sample of the steep rise
    cal = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams(), calibrated=True)
    raw = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams(), calibrated=False)
    # the failure on a calibrated insole: the steep-rise rule reports the contact 60-100 ms late
    assert raw["ic_idx"].tolist() == [a + steep for a in starts]
    # physics: the sole is loaded from the contact-level crossing of the ramp on
    assert cal["ic_idx"].tolist() == [a + contact for a in starts]
    # both are flagged, each with the other as the alternative; TO is the same
    assert cal["ic_ambiguous"].all() and raw["ic_ambiguous"].all()
    assert (cal["ic_alt_idx"] == raw["ic_idx"]).all() and (raw["ic_alt_idx"] == cal["ic_idx"]).all()
    assert cal["to_idx"].tolist() == raw["to_idx"].tolist()
    forced = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams(ic_rule="contact"))
    assert forced["ic_idx"].tolist() == cal["ic_idx"].tolist()


def test_steep_rise_from_the_floor_is_not_ambiguous_and_rule_independent():
    stance = np.concatenate([np.linspace(0.1, 1.0, 6), np.ones(40), np.linspace(0.8, 0.0, 6)])
    load, starts = _walk(stance)
    for cal in (True, False):
        out = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams(), calibrated=cal)
        assert out["ic_idx"].tolist() == starts
        assert not out["ic_ambiguous"].any() and not out["to_ambiguous"].any()
        assert (out["ic_alt_idx"] == out["ic_idx"]).all() and (out["to_alt_idx"] == out["to_idx"]).all()


def test_ambiguity_tolerance_is_a_parameter():
    ramp = np.linspace(0.0, 0.12, 9)[1:]
    stance = np.concatenate([ramp, np.full(6, 0.12), np.linspace(0.3, 1.0, 4), np.ones(40), np.linspace(0.7, 0.0, 5)])
    load, _ = _walk(stance)
    wide = dataclasses.replace(EventParams(), ambiguity_ms=200.0)
    out = detect_stance_phases(load, sampling_rate_hz=FS, params=wide, calibrated=True)
    assert not out["ic_ambiguous"].any()


def test_events_do_not_depend_on_a_demographics_file_beside_the_walk(tmp_path):
    # a demographics.txt beside gaitpdb walks gives the recording a body mass; the events
    # must not change with it (the thresholds follow the signal unless use_body_weight)
    import shutil
    from pathlib import Path

    from gaitpf.analysis import AnalysisParams, analyze
    from gaitpf.io.gaitpdb import read_gaitpdb

    src = Path(__file__).parent / "data" / "gaitpdb" / "JuPt02_01.txt"
    alone = tmp_path / "JuPt02_01.txt"
    shutil.copy(src, alone)
    with_bw, without = read_gaitpdb(src), read_gaitpdb(alone)
    assert with_bw.body_mass_kg is not None and without.body_mass_kg is None
    cols = ["ic_idx", "to_idx", "stride_time_s", "stance_pct", "label"]
    a, b = analyze(with_bw).strides[cols], analyze(without).strides[cols]
    assert a.equals(b)
    # the body-weight scale is still available, explicitly, and it does move the events
    # (which is why it must not switch on by itself when a file happens to lie beside the walk)
    explicit = AnalysisParams(events=dataclasses.replace(EventParams(), use_body_weight=True))
    c = analyze(with_bw, explicit).strides[cols]
    assert len(c) > 0 and not c[["ic_idx", "to_idx"]].equals(a[["ic_idx", "to_idx"]])


def test_heel_bump_kink_is_the_alternative_of_an_ambiguous_contact():
    # steep rise to a heel bump at 0.35 of the peak, plateau 50 ms, then the steep main rise:
    # the gaitndd tables mark such contacts sometimes at the first rise, sometimes at the kink
    stance = np.concatenate([np.linspace(0.12, 0.35, 3), np.full(5, 0.35), np.linspace(0.5, 1.0, 4),
                             np.ones(40), np.linspace(0.7, 0.0, 5)])
    load, starts = _walk(stance)
    out = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams())
    assert out["ic_idx"].tolist() == starts                          # first rise
    assert out["ic_ambiguous"].all()
    assert out["ic_alt_idx"].tolist() == [a + 8 for a in starts]      # first sample of the main rise
