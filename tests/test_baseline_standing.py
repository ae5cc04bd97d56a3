"""Standing periods are left out of the swing floor (generated walking with a standing stop)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gaitpf.analysis import AnalysisParams, analyze
from gaitpf.analysis.events import EventParams, detect_stance_phases
from gaitpf.analysis.preprocess import PreprocessParams, prepare_load
from gaitpf.batch.chunked import analyze_hdf5_chunked
from gaitpf.io import read_recording, write_recording
from gaitpf.model import FootSignals, Recording

FS = 100.0


def _foot(phase_s: float, stand=(30.0, 50.0), duration_s: float = 80.0, floor: float = 50.0):
    """Walking (stride 1.1 s, stance 0.66 s) with a standing stop at 400 units above the floor."""
    n = int(duration_s * FS)
    x = np.full(n, floor)
    ics = []
    a = phase_s
    while a + 0.7 < duration_s:
        if not (stand[0] - 0.5 < a < stand[1]):
            i = int(round(a * FS))
            ics.append(i + 1)          # the half-sine is 0 at i: first loaded sample i + 1
            x[i: i + 66] = floor + 800 * np.sin(np.linspace(0, np.pi, 66)) ** 0.5
        a += 1.1
    s0, s1 = int(stand[0] * FS), int(stand[1] * FS)
    x[s0:s1] = floor + 400 + 20 * np.sin(np.arange(s1 - s0) / FS * 2)
    return x, np.array(sorted(ics + [s0]))    # stepping into the standing is a contact too


def _events(x: np.ndarray, params: PreprocessParams) -> tuple[np.ndarray, np.ndarray]:
    prep = prepare_load(x[:, None], sampling_rate_hz=FS, unit="au", params=params)
    st = detect_stance_phases(prep.load, sampling_rate_hz=FS, params=EventParams())
    return st["ic_idx"].to_numpy(), prep.baseline


def test_standing_does_not_lift_the_swing_floor():
    x, ics = _foot(0.2)
    old_ic, old_base = _events(x, PreprocessParams(baseline_standing_window_s=None))
    new_ic, new_base = _events(x, PreprocessParams())
    stand = slice(3300, 4700)
    # the failure: the 10 s envelope climbs to the standing load
    assert old_base[stand].max() > 300
    # remedy: the floor stays at the swing level through the standing
    np.testing.assert_allclose(new_base[stand], 50.0, atol=1.0)
    # every real contact found (±1 sample; the standing is one long stance), none invented
    assert len(new_ic) == len(ics) and np.abs(new_ic - ics).max() <= 1


def test_a_subject_who_never_walks_keeps_a_plain_lower_envelope():
    x = np.full(3000, 200.0) + 5 * np.sin(np.arange(3000) / 50.0)   # 30 s of quiet standing only
    _, base = _events(x, PreprocessParams())
    _, base_old = _events(x, PreprocessParams(baseline_standing_window_s=None))
    np.testing.assert_allclose(base, base_old)


def test_chunked_analysis_with_standing_equals_whole_file(tmp_path: Path):
    # 200 s, standing 90-110 s; standing_max_s 25 keeps each chunk's context (margin) well
    # below the record, so the chunk windows really differ from the whole file
    left, _ = _foot(0.2, stand=(90.0, 110.0), duration_s=200.0)
    right, _ = _foot(0.75, stand=(90.0, 110.0), duration_s=200.0)
    params = AnalysisParams(preprocess=PreprocessParams(baseline_standing_max_s=25.0))
    feet = {s: FootSignals(s, np.column_stack([v * 0.6, v * 0.4]).astype(np.float32), "au", FS)
            for s, v in (("left", left), ("right", right))}
    path = tmp_path / "standing.h5"
    write_recording(path, Recording(feet=feet, subject_id="stand"))
    whole = analyze(read_recording(path), params)
    chunked, _ = analyze_hdf5_chunked(path, params, chunk_samples=700)   # borders inside the standing
    pd.testing.assert_frame_equal(chunked.strides, whole.strides, check_exact=True)
    assert chunked.summary == whole.summary
