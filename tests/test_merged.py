"""Merged stances split with the other foot's contacts; pivot turns labelled, not split."""
from __future__ import annotations

import numpy as np

from gaitpf.analysis.events import EventParams, detect_stance_phases
from gaitpf.analysis.merged import split_merged_stances
from gaitpf.analysis.selfcheck import self_checks
from gaitpf.analysis.strides import StrideParams, build_stride_table

FS = 100.0
STRIDE, STANCE = 110, 66


def _feet(valley: float, at: int = 8, n_strides: int = 20):
    """Left and right loads (square stances, peak 800); left's swing after stance ``at`` only
    drops to ``valley`` × the peak (a shallow swing or a pivot)."""
    n = 60 + n_strides * STRIDE + 60
    left, right = np.zeros(n), np.zeros(n)
    l_ic = [40 + k * STRIDE for k in range(n_strides)]
    r_ic = [a + STRIDE // 2 for a in l_ic]
    for a in l_ic:
        left[a: a + STANCE] = 800.0
    for a in r_ic:
        right[a: a + STANCE] = 800.0
    a = l_ic[at]
    left[a + STANCE: a + STRIDE] = valley * 800.0
    return left, right, np.array(l_ic), np.array(r_ic)


def _detect(left, right):
    p = EventParams()
    st = {s: detect_stance_phases(x, sampling_rate_hz=FS, params=p) for s, x in (("left", left), ("right", right))}
    return st, split_merged_stances(st, {"left": left, "right": right}, sampling_rate_hz=FS, params=p)


def _table(st, n):
    t = np.arange(n) / FS
    return build_stride_table(st, times_s={"left": t, "right": t}, sampling_rate_hz=FS, params=StrideParams())


def test_shallow_swing_merges_two_stances_and_the_other_foot_splits_them():
    left, right, l_ic, _ = _feet(valley=0.15)
    before, after = _detect(left, right)
    # the failure: the swing never drops below the hysteresis level, one left contact is lost
    assert len(before["left"]) == len(l_ic) - 1
    assert self_checks(_table(before, len(left)))["left"]["alternation_breaks_pct"] > 0
    # remedy: split at the valley between the two right contacts
    assert after["left"]["ic_idx"].tolist() == l_ic.tolist()
    to = after["left"]["to_idx"].to_numpy()
    assert to[8] == l_ic[8] + STANCE and not after["left"]["turn"].any()
    assert self_checks(_table(after, len(left)))["left"]["alternation_breaks_pct"] == 0.0
    # inputs untouched
    assert len(before["left"]) == len(l_ic) - 1 and "turn" not in before["left"]


def test_pivot_turn_keeps_the_foot_loaded_and_is_labelled_not_split():
    left, right, l_ic, _ = _feet(valley=0.45)
    _, after = _detect(left, right)
    assert len(after["left"]) == len(l_ic) - 1            # not split
    assert after["left"]["turn"].sum() == 1
    tab = _table(after, len(left))
    row = tab[(tab["side"] == "left") & tab["turn"]]
    assert len(row) == 1 and row["label"].iloc[0] in ("turn_or_outlier", "pause") and not row["steady"].iloc[0]


def test_normal_walking_is_left_alone():
    left, right, l_ic, r_ic = _feet(valley=0.0)
    before, after = _detect(left, right)
    for s in ("left", "right"):
        assert after[s]["ic_idx"].tolist() == before[s]["ic_idx"].tolist()
        assert not after[s]["turn"].any()


def test_chunked_analysis_with_split_and_turn_equals_whole_file(tmp_path):
    import pandas as pd

    from gaitpf.analysis import analyze
    from gaitpf.batch.chunked import analyze_hdf5_chunked
    from gaitpf.io import read_recording, write_recording
    from gaitpf.model import FootSignals, Recording

    left, right, _, _ = _feet(valley=0.15, at=5, n_strides=60)
    pivot, _, l_ic, _ = _feet(valley=0.45, at=40, n_strides=60)
    left[l_ic[40]: l_ic[41]] = pivot[l_ic[40]: l_ic[41]]
    feet = {s: FootSignals(s, np.column_stack([v * 0.7, v * 0.3]).astype(np.float32), "au", FS)
            for s, v in (("left", left), ("right", right))}
    path = tmp_path / "merged.h5"
    write_recording(path, Recording(feet=feet, subject_id="merged"))
    whole = analyze(read_recording(path))
    chunked, _ = analyze_hdf5_chunked(path, chunk_samples=300)
    pd.testing.assert_frame_equal(chunked.strides, whole.strides, check_exact=True)
    assert whole.strides["turn"].sum() == 1
    assert whole.summary["self_checks"]["left"]["alternation_breaks_pct"] == 0.0
