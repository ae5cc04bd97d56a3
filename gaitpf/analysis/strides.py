"""Stride table: stance phases of both feet in, one row per stride out (indices → seconds).

This is the *one* place where sample indices become seconds: ``t = times_s[side][idx]``
(each foot's own aligned time base, which honours gaps and device clock alignment).

A stride of a foot runs from one initial contact (IC) to the next IC of the same foot:
stance = IC → toe-off (TO), swing = TO → next IC (Perry J, Burnfield JM (2010) *Gait
Analysis: Normal and Pathological Function*, 2nd ed.). With ``t_ic, t_to, t_next`` in s:

* ``stride_time_s = t_next − t_ic``; ``stance_time_s = t_to − t_ic``;
  ``swing_time_s = t_next − t_to``; ``stance_pct = 100·stance/stride``.
* ``step_time_s`` = ``t_ic`` − the last contralateral IC before it.
* ``initial_double_support_s`` = contralateral TO that follows ``t_ic`` − ``t_ic`` when the
  contralateral foot is still loaded at ``t_ic`` (else 0);
  ``terminal_double_support_s`` = ``t_to`` − contralateral IC inside the stance (else 0);
  ``double_support_s`` = their sum.
* ``single_support_s`` = the contralateral swing inside this stance (contralateral
  next IC − contralateral TO).
* ``cadence_spm = 120 / stride_time_s`` (two steps per stride).
* ``ic_ambiguous`` / ``to_ambiguous``: the stride's IC / TO has two defensible placements
  more than ``EventParams.ambiguity_ms`` apart (see :mod:`gaitpf.analysis.events_edges`);
  ``ic_alt_s`` / ``to_alt_s`` = the other placement (s; the event itself when not ambiguous).
* ``turn``: the stance is a pivot turn (the foot stayed loaded across a contralateral
  step; :mod:`gaitpf.analysis.merged`); such strides are not steady.
* ``to_loaded``: the load at TO is still clearly above the following swing floor (a
  self-check: see :mod:`gaitpf.analysis.selfcheck`).

Contralateral columns are NaN with one foot only, or where the other foot has no events
around this stride.

Walking bouts. Every stride is kept and labelled; only ``steady`` strides feed the
steady-state statistics. Labels (``"gap"``, ``"pause"``, ``"turn_or_outlier"``,
``"incomplete"``, ``"bout_start"``, ``"bout_end"``, ``"steady"``) and the selection rule
(gait initiation/termination, turns, robust outliers of stride and swing time): see
:mod:`gaitpf.analysis.steady`.

Reference for the steady-state rule: Lindemann U et al. (2008) J Neuroeng Rehabil 5:18
(exclude gait initiation/termination strides); Hausdorff JM et al. (1997) J Appl Physiol
82:262 (median-based removal of turn/pause outliers in the gaitndd series).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import SignalError
from .steady import pause_and_outlier, select_steady

__all__ = ["StrideParams", "build_stride_table", "pause_and_outlier", "steady_mask", "STRIDE_COLUMNS", "LABELS"]

STRIDE_COLUMNS: tuple[str, ...] = (
    "side", "stride_no", "ic_idx", "to_idx", "next_ic_idx", "ic_s", "to_s", "next_ic_s",
    "stride_time_s", "stance_time_s", "swing_time_s", "stance_pct", "swing_pct",
    "step_time_s", "initial_double_support_s", "terminal_double_support_s",
    "double_support_s", "single_support_s", "cadence_spm", "bout_id", "label", "steady",
    "ic_ambiguous", "to_ambiguous", "ic_alt_s", "to_alt_s", "to_loaded", "turn",
)  # fmt: skip

LABELS: tuple[str, ...] = ("steady", "bout_start", "bout_end", "pause", "turn_or_outlier", "gap", "incomplete")


@dataclass(frozen=True)
class StrideParams:
    """Tunables of :func:`build_stride_table`.

    Parameters
    ----------
    median_window : int
        Strides in the centred running median of stride time (odd). Default 11.
    outlier_fraction : float
        |stride − local median| above this fraction of the median → ``turn_or_outlier``.
        Default 0.2.
    pause_factor : float
        Stride longer than this × local median → ``pause``. Default 1.8.
    max_stride_s : float
        Stride longer than this (s) → ``pause``. Default 4.0.
    bout_edge_strides : int
        Strides at each end of a bout labelled ``bout_start``/``bout_end`` (gait initiation
        and termination). Default 2.
    outlier_mad_k : float
        Robust outlier cut on stride and swing time, in robust SDs (1.4826 × running MAD).
        Default 3.
    min_scale_fraction : float
        Floor of the robust SD as a fraction of the running median. Default 0.02.
    outlier_neighbours : int
        Strides on each side of an outlier (turn approach/exit) labelled with it. Default 1.
    """

    median_window: int = 11
    outlier_fraction: float = 0.2
    pause_factor: float = 1.8
    max_stride_s: float = 4.0
    bout_edge_strides: int = 2
    outlier_mad_k: float = 3.0
    min_scale_fraction: float = 0.02
    outlier_neighbours: int = 1

    def __post_init__(self) -> None:
        if not (
            self.median_window >= 1
            and 0 < self.outlier_fraction < self.pause_factor - 1
            and self.max_stride_s > 0
            and self.bout_edge_strides >= 0
            and self.outlier_mad_k > 0
            and self.min_scale_fraction >= 0
            and self.outlier_neighbours >= 0
        ):
            raise SignalError(f"invalid stride parameters: {self!r}")


def _empty() -> pd.DataFrame:
    cols: dict[str, pd.Series] = {}
    for c in STRIDE_COLUMNS:
        if c in ("side", "label"):
            cols[c] = pd.Series(dtype=object)
        elif c in ("stride_no", "ic_idx", "to_idx", "next_ic_idx", "bout_id"):
            cols[c] = pd.Series(dtype=np.int64)
        elif c in ("steady", "ic_ambiguous", "to_ambiguous", "to_loaded", "turn"):
            cols[c] = pd.Series(dtype=bool)
        else:
            cols[c] = pd.Series(dtype=float)
    return pd.DataFrame(cols)


def _own_strides(side: str, st: pd.DataFrame, t: np.ndarray, gap: np.ndarray | None) -> dict[str, np.ndarray]:
    ic_all = st["ic_idx"].to_numpy(np.int64)
    to_all = st["to_idx"].to_numpy(np.int64)
    if len(ic_all) and (ic_all.min() < 0 or to_all.max() >= len(t)):
        raise SignalError(f"{side} foot: event index outside the {len(t)} samples of its time base")
    ic, to, nxt = ic_all[:-1], to_all[:-1], ic_all[1:]
    if gap is not None and len(gap):
        # a gap flag on a sample in (ic, next ic]: the flagged samples between the two bounds
        flagged = np.flatnonzero(np.asarray(gap, dtype=bool))
        has_gap = np.searchsorted(flagged, nxt, side="right") > np.searchsorted(flagged, ic, side="right")
    else:
        has_gap = np.zeros(len(ic), bool)
    m = len(ic)
    ic_alt = st["ic_alt_idx"].to_numpy(np.int64)[:-1] if "ic_alt_idx" in st else ic
    to_alt = st["to_alt_idx"].to_numpy(np.int64)[:-1] if "to_alt_idx" in st else to
    ic_alt, to_alt = np.clip(ic_alt, 0, len(t) - 1), np.clip(to_alt, 0, len(t) - 1)
    return {"ic": ic, "to": to, "next": nxt, "ic_s": t[ic], "to_s": t[to], "next_s": t[nxt], "gap": has_gap,
            "ic_amb": ic_alt != ic if m else np.zeros(0, bool), "to_amb": to_alt != to if m else np.zeros(0, bool),
            "ic_alt_s": t[ic_alt], "to_alt_s": t[to_alt],
            "to_loaded": st["to_loaded"].to_numpy(bool)[:-1] if "to_loaded" in st else np.zeros(m, bool),
            "turn": st["turn"].to_numpy(bool)[:-1] if "turn" in st else np.zeros(m, bool)}


def _contralateral(own: dict[str, np.ndarray], c_ic_s: np.ndarray, c_to_s: np.ndarray) -> dict[str, np.ndarray]:
    """Contralateral timing columns, vectorized with searchsorted (NaN where undefined)."""
    m = len(own["ic_s"])
    nan = np.full(m, np.nan)
    if len(c_ic_s) == 0:
        return {k: nan.copy() for k in ("step", "ids", "tds", "ss", "complete")}
    ic_s, to_s, next_s = own["ic_s"], own["to_s"], own["next_s"]
    # last contralateral IC strictly before our IC (and its TO)
    j = np.searchsorted(c_ic_s, ic_s, side="left") - 1
    has_prev = j >= 0
    jj = np.clip(j, 0, len(c_ic_s) - 1)
    step = np.where(has_prev, ic_s - c_ic_s[jj], np.nan)
    prev_to = np.where(has_prev, c_to_s[jj], np.nan)
    # initial double support: contralateral foot still loaded at our IC
    ids = np.where(has_prev, np.clip(prev_to - ic_s, 0.0, None), np.nan)
    ids = np.minimum(ids, to_s - ic_s)
    # next contralateral IC after our IC
    k = j + 1
    has_next = k < len(c_ic_s)
    kk = np.clip(k, 0, len(c_ic_s) - 1)
    c_next_ic = np.where(has_next, c_ic_s[kk], np.nan)
    inside_stance = has_next & (c_next_ic < to_s)
    tds = np.where(has_next, np.where(inside_stance, to_s - c_next_ic, 0.0), np.nan)
    # single support = contralateral swing: from contralateral TO to its next IC
    ss = np.where(has_prev & has_next, c_next_ic - np.maximum(prev_to, ic_s), np.nan)
    ss = np.where(np.isfinite(ss), np.clip(ss, 0.0, None), np.nan)
    complete = has_next & (c_next_ic < next_s) & has_prev
    return {"step": step, "ids": ids, "tds": tds, "ss": ss, "complete": complete.astype(float)}


def build_stride_table(
    stances: Mapping[str, pd.DataFrame],
    *,
    times_s: Mapping[str, np.ndarray],
    sampling_rate_hz: float,
    params: StrideParams,
    gap_before: Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Build the stride table of one recording (one or both feet).

    Parameters
    ----------
    stances : {side: DataFrame[ic_idx, to_idx]}
        Stance phases per foot (sorted, non-overlapping), e.g. from
        :func:`gaitpf.analysis.events.detect_stance_phases`.
    times_s : {side: ndarray}
        Time (s) of every sample of each foot on the common time base.
    sampling_rate_hz : float
        Nominal sampling rate (Hz); used to validate the time bases.
    params : StrideParams
    gap_before : {side: ndarray of bool}, optional
        True where frames were lost just before the sample.

    Returns
    -------
    DataFrame
        Columns :data:`STRIDE_COLUMNS`, rows sorted by side then time, index 0..n-1.
    """
    if not (np.isfinite(sampling_rate_hz) and sampling_rate_hz > 0):
        raise SignalError(f"sampling_rate_hz must be > 0, got {sampling_rate_hz!r}")
    gap_before = gap_before or {}
    sides = [s for s in ("left", "right") if s in stances]
    own: dict[str, dict[str, np.ndarray]] = {}
    ordered = {side: stances[side].sort_values("ic_idx") for side in sides}
    for side in sides:
        t = np.asarray(times_s[side], dtype=float)
        own[side] = _own_strides(side, ordered[side], t, gap_before.get(side))
    parts = []
    for side in sides:
        o = own[side]
        m = len(o["ic"])
        if m == 0:
            continue
        other = "right" if side == "left" else "left"
        if other in stances:
            st = ordered[other]
            t = np.asarray(times_s[other], dtype=float)
            c = _contralateral(o, t[st["ic_idx"].to_numpy(np.int64)], t[st["to_idx"].to_numpy(np.int64)])
            incomplete = c["complete"] != 1.0
        else:
            c = _contralateral(o, np.zeros(0), np.zeros(0))
            incomplete = np.zeros(m, bool)
        stride = o["next_s"] - o["ic_s"]
        stance = o["to_s"] - o["ic_s"]
        swing = o["next_s"] - o["to_s"]
        turn = o["turn"]
        label, bout, steady = select_steady(stride, swing, o["gap"], incomplete, turn, params=params)
        ds = c["ids"] + c["tds"]
        parts.append(
            {
                "side": np.full(m, side, dtype=object),
                "stride_no": np.arange(m, dtype=np.int64),
                "ic_idx": o["ic"],
                "to_idx": o["to"],
                "next_ic_idx": o["next"],
                "ic_s": o["ic_s"],
                "to_s": o["to_s"],
                "next_ic_s": o["next_s"],
                "stride_time_s": stride,
                "stance_time_s": stance,
                "swing_time_s": swing,
                "stance_pct": 100.0 * stance / stride,
                "swing_pct": 100.0 * swing / stride,
                "step_time_s": c["step"],
                "initial_double_support_s": c["ids"],
                "terminal_double_support_s": c["tds"],
                "double_support_s": ds,
                "single_support_s": c["ss"],
                "cadence_spm": 120.0 / stride,
                "bout_id": bout,
                "label": label,
                "steady": steady.astype(bool),
                "ic_ambiguous": o["ic_amb"],
                "to_ambiguous": o["to_amb"],
                "ic_alt_s": o["ic_alt_s"],
                "to_alt_s": o["to_alt_s"],
                "to_loaded": o["to_loaded"],
                "turn": o["turn"],
            }
        )
    if not parts:
        return _empty()
    # one frame from the concatenated columns of both feet (index 0..n-1)
    return pd.DataFrame({c: np.concatenate([p[c] for p in parts]) for c in STRIDE_COLUMNS})


def steady_mask(table: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the steady rows (missing ``steady`` → False; no column → every row)."""
    if "steady" not in table.columns:
        return np.ones(len(table), dtype=bool)
    col = table["steady"]
    if col.dtype == np.bool_:  # the usual case: no missing values to fill
        return col.to_numpy()
    return col.astype("boolean").fillna(False).to_numpy(dtype=bool)
