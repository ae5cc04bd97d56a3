"""Stance detection: hand-computed square waves, hysteresis, bounds, invalid samples."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from gaitpf.analysis.events import STANCE_COLUMNS, EventParams, detect_stance_phases
from gaitpf.errors import SignalError

FS = 100.0


def square(stances: list[tuple[int, int]], n: int, level: float = 1000.0, floor: float = 0.0) -> np.ndarray:
    """Load that is ``level`` on [start, stop) of each stance and ``floor`` elsewhere."""
    x = np.full(n, floor, dtype=float)
    for a, b in stances:
        x[a:b] = level
    return x


def walk(n_strides: int = 8, stride: int = 100, stance: int = 60, start: int = 20) -> list[tuple[int, int]]:
    return [(start + k * stride, start + k * stride + stance) for k in range(n_strides)]


def test_square_wave_gives_exact_ic_and_to():
    st = walk()
    load = square(st, 900)
    out = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams())
    assert list(out.columns) == list(STANCE_COLUMNS) and list(out.columns[:2]) == ["ic_idx", "to_idx"]
    assert not out["ic_ambiguous"].any() and not out["to_ambiguous"].any()
    assert out["ic_idx"].dtype == np.int64 and out["to_idx"].dtype == np.int64
    # IC = first loaded sample, TO = first sample back at the floor
    assert out["ic_idx"].tolist() == [a for a, _ in st]
    assert out["to_idx"].tolist() == [b for _, b in st]


def test_same_events_in_newtons_with_body_weight_and_offset_free_signal():
    st = walk()
    load = square(st, 900, level=700.0)
    out = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams(), body_weight_n=700.0)
    assert out["ic_idx"].tolist() == [a for a, _ in st]
    assert out["to_idx"].tolist() == [b for _, b in st]


def test_ramped_edges_sit_at_the_knee_not_at_mid_level():
    # 10-sample linear ramps: IC at the first rising sample, TO at the first sample at zero
    n = 900
    x = np.zeros(n)
    starts = [20 + 100 * k for k in range(8)]
    for a in starts:
        x[a : a + 10] = np.linspace(100, 1000, 10)
        x[a + 10 : a + 50] = 1000
        x[a + 50 : a + 60] = np.linspace(900, 0, 10)
    out = detect_stance_phases(x, sampling_rate_hz=FS, params=EventParams())
    assert out["ic_idx"].tolist() == starts
    assert out["to_idx"].tolist() == [a + 59 for a in starts]


def test_hysteresis_ignores_bumps_below_high_and_bridges_mid_stance_dips():
    st = walk(6)
    load = square(st, 700)
    load[st[2][1] + 15 : st[2][1] + 20] = 200.0  # 0.2 of the scale: a swing bump, not a stance
    a, b = st[4]
    load[a + 25 : a + 30] = 150.0  # a dip inside a stance (above low? no: below) of 50 ms
    out = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams())
    assert len(out) == 6  # bump ignored, the dipped stance stays one (short gap merged)
    assert out["ic_idx"].tolist() == [s for s, _ in st]


def test_duration_bounds_drop_too_short_and_too_long_stances():
    st = walk(6)
    load = square(st, 4500)
    load[st[5][1] + 5 : st[5][1] + 15] = 1000.0  # 100 ms "stance" (< min_stance_ms 150)
    load[800:4000] = 1000.0  # 32 s loaded (> max_stance_ms 30 s): sitting/long standing
    out = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams())
    assert out["ic_idx"].tolist() == [s for s, _ in st]
    longer = dataclasses.replace(EventParams(), max_stance_ms=35_000.0)
    out2 = detect_stance_phases(load, sampling_rate_hz=FS, params=longer)
    assert out2["ic_idx"].tolist()[-1] == 800


def test_standing_for_a_few_seconds_keeps_its_initial_contact():
    # a pause of 6 s standing on this foot: its IC and TO are real events (the gaitndd
    # reference tables count them; the stride table labels the stride a pause)
    st = walk(6)
    load = square(st, 2000)
    load[800:1400] = 1000.0
    load[1500:1560] = 1000.0  # walking resumes
    out = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams())
    assert out["ic_idx"].tolist() == [s for s, _ in st] + [800, 1500]
    assert out["to_idx"].tolist()[-2:] == [1400, 1560]


def test_invalid_samples_and_nan_suppress_events():
    st = walk(6)
    load = square(st, 700)
    invalid = np.zeros(700, bool)
    invalid[st[1][0]] = True
    load[st[3][0] + 30] = np.nan
    out = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams(), invalid=invalid)
    ics = out["ic_idx"].tolist()
    assert st[1][0] not in ics and st[3][0] not in ics
    assert st[0][0] in ics and st[2][0] in ics


def test_stances_cut_by_the_recording_edges_are_dropped():
    load = square([(0, 40), (100, 160), (200, 260), (300, 400)], 400)
    out = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams())
    assert out["ic_idx"].tolist() == [100, 200]


def test_no_walking_gives_an_empty_table():
    for load in (np.zeros(500), np.full(500, 3.0), np.random.default_rng(0).normal(0, 1e-3, 500)):
        out = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams())
        assert out.empty and list(out.columns) == list(STANCE_COLUMNS)


def test_thresholds_scale_with_drifting_amplitude():
    # amplitude shrinks 3x over the recording; every stance must still be found
    st = walk(40, stride=100, stance=60)
    load = square(st, 4100)
    load *= np.linspace(3000, 1000, len(load))
    out = detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams())
    assert out["ic_idx"].tolist() == [a for a, _ in st]


def test_input_not_mutated_and_params_validated():
    load = square(walk(), 900)
    before = load.copy()
    detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams())
    np.testing.assert_array_equal(load, before)
    with pytest.raises(SignalError):
        EventParams(low_fraction=0.5, high_fraction=0.3)
    with pytest.raises(SignalError):
        detect_stance_phases(load, sampling_rate_hz=FS, params=EventParams(), body_weight_n=-1.0)
    assert isinstance(detect_stance_phases(load[:2], sampling_rate_hz=FS, params=EventParams()), pd.DataFrame)
