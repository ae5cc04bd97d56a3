"""Merged stances: split them with the other foot's contacts, or label a pivot turn.

A shallow swing (the first steps after standing, a turn, a swing floor that has risen)
may never drop below the hysteresis level of :mod:`gaitpf.analysis.events`, and two
stances of the same foot merge into one. The other foot tells: in walking, each stance
holds about one contact of the other foot (its initial contact at ~50 % of the stride),
so a stance holding **two or more** contralateral initial contacts spans a missed swing.

Rule, per stance of foot A holding ≥ 2 initial contacts of foot B (sample indices on a
common time base; both feet have the same sampling rate):

* the valley ``v`` is the minimum of A's load between B's first two contacts inside the
  stance; ``p1``, ``p2`` are A's peak load before and after it inside the stance; the
  floor ``f`` is A's minimum over the swings before and after the stance (at most
  ``swing_floor_window_ms`` each);
* the depth ``(min(p1, p2) − v) / (min(p1, p2) − f)`` ≥ ``split_depth`` (default 0.7: the
  valley is within 30 % of the peak height of the floor — the foot left the ground, only a
  risen floor or a shallow swing kept the load above the hysteresis level) → **split**:
  the first stance ends (TO) at the first sample after ``p1`` within ``split_edge`` (0.1)
  of the valley's height above it, the second begins (IC) after the last such sample
  before ``p2``;
* otherwise the foot stayed loaded (a pivot turn: a gaitpdb control's load dips to 350 N,
  not to 0, while turning on that foot) → not split; the stance is flagged ``turn`` (the
  stride table then keeps it out of the steady strides).

Applied up to three times so a stance holding three missed swings is split fully. The
stances are whole-record arrays; :func:`gaitpf.analysis.analyze` and the chunked reader
call this after the per-foot detection, so both give the same result.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

__all__ = ["split_merged_stances"]


def _split_one(
    load: np.ndarray, st: pd.DataFrame, other_ic: np.ndarray, *, fs: float, params: Any
) -> tuple[pd.DataFrame, bool]:
    """One pass over the stances of one foot; returns the new table and whether it changed."""
    ic = st["ic_idx"].to_numpy(np.int64)
    to = st["to_idx"].to_numpy(np.int64)
    n = len(load)
    inside_lo = np.searchsorted(other_ic, ic, side="right")
    inside_hi = np.searchsorted(other_ic, to, side="left")
    cand = np.flatnonzero(inside_hi - inside_lo >= 2)
    if cand.size == 0:
        return st, False
    turn = st["turn"].to_numpy(bool).copy() if "turn" in st else np.zeros(len(st), bool)
    w = max(1, int(round(params.swing_floor_window_ms * fs / 1000.0)))
    new_rows: list[dict[str, Any]] = []
    drop = np.zeros(len(st), bool)
    for i in cand:
        if turn[i]:
            continue
        b1, b2 = int(other_ic[inside_lo[i]]), int(other_ic[inside_lo[i] + 1])
        seg = load[b1: b2 + 1]
        if not np.isfinite(seg).any():
            continue
        j = b1 + int(np.nanargmin(seg))
        v = float(load[j])
        k1 = int(ic[i]) + int(np.nanargmax(load[ic[i]: j + 1]))
        k2 = j + int(np.nanargmax(load[j: to[i] + 1]))
        peak = min(float(load[k1]), float(load[k2]))
        prev_lo = max(int(to[i - 1]) if i > 0 else 0, int(ic[i]) - w)
        next_hi = min(int(ic[i + 1]) if i + 1 < len(ic) else n - 1, int(to[i]) + w)
        floor = float(np.nanmin(np.concatenate([load[prev_lo: ic[i] + 1], load[to[i]: next_hi + 1]])))
        height = peak - floor
        if not (height > 0) or (peak - v) < params.split_depth * height:
            turn[i] = True
            continue
        level = v + params.split_edge * (peak - v)
        fall = np.flatnonzero(load[k1: j + 1] <= level)
        rise = np.flatnonzero(load[j: k2 + 1] <= level)
        to1 = k1 + int(fall[0]) if fall.size else j
        ic2 = j + int(rise[-1]) + 1 if rise.size else j + 1
        ic2 = max(ic2, to1 + 1)
        if not (ic[i] < to1 < ic2 < to[i]):
            turn[i] = True
            continue
        row = st.iloc[i].to_dict()
        first = dict(row, to_idx=to1, to_alt_idx=to1, to_ambiguous=False, to_loaded=False, turn=False)
        second = dict(row, ic_idx=ic2, ic_alt_idx=ic2, ic_ambiguous=False, turn=False)
        new_rows += [first, second]
        drop[i] = True
    out = st.copy()
    out["turn"] = turn
    if not drop.any():
        return out, False
    out = pd.concat([out[~drop], pd.DataFrame(new_rows)], ignore_index=True)
    out = out.sort_values("ic_idx", kind="stable").reset_index(drop=True)
    return out.astype({c: st[c].dtype for c in st.columns} | {"turn": bool}), True


def split_merged_stances(
    stances: Mapping[str, pd.DataFrame], loads: Mapping[str, np.ndarray], *, sampling_rate_hz: float, params: Any,
) -> dict[str, pd.DataFrame]:
    """Split merged stances / flag pivot turns (see the module docstring).

    Parameters
    ----------
    stances : {side: DataFrame}
        Stance tables of :func:`gaitpf.analysis.events.detect_stance_phases`.
    loads : {side: ndarray}
        The baseline-free load each table was detected on (any unit).
    sampling_rate_hz : float
    params : EventParams
        ``split_depth``, ``split_edge``, ``swing_floor_window_ms``.

    Returns
    -------
    dict
        New stance tables (inputs not modified), with a bool ``turn`` column.
    """
    out = {s: st.copy() for s, st in stances.items()}
    for s in out:
        if "turn" not in out[s]:
            out[s]["turn"] = np.zeros(len(out[s]), bool)
    if not ("left" in out and "right" in out):
        return out
    for _ in range(3):
        changed = False
        for side, other in (("left", "right"), ("right", "left")):
            load = np.asarray(loads[side], dtype=float)
            other_ic = out[other]["ic_idx"].to_numpy(np.int64)
            out[side], ch = _split_one(load, out[side], other_ic, fs=sampling_rate_hz, params=params)
            changed |= ch
        if not changed:
            break
    return out
