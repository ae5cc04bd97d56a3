"""Helpers shared by the vendor importers (``vendor_*.py``).

Method
------
* **Sampling rate from the file's own timing**: ``1 / median(diff(t))`` over the
  intervals that are not gaps. An interval is *irregular* when it differs from that
  median by more than 10 %, a *gap* when it is longer than 1.5 medians. Both are
  reported in ``source["timing"]`` (never hidden); irregular timing is also logged.
* **Lost frames are gaps, never filled**: a foot keeps only the frames it delivered,
  on the file's own time base; the first sample after a gap gets
  :data:`~gaitpf.model.QUALITY_GAP_BEFORE` and the annotations get one ``"gap"`` row
  (onset = one interval after the last delivered frame, duration = missing time).
* Unit conversions to the schema's units (kPa): ``N/cm² × 10``, ``mmHg × 0.133322``,
  ``kPa × 1``; force (N) = pressure (kPa) × area (mm²) / 1000.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import FormatError
from ..model import QUALITY_GAP_BEFORE, empty_annotations
from .provenance import content_sha256, pseudonym

__all__ = [
    "KPA_PER_UNIT", "to_kpa", "timing_report", "gaps_from_time", "provenance",
    "GAP_FACTOR", "IRREGULAR_TOL",
]

log = logging.getLogger(__name__)

#: An interval longer than GAP_FACTOR × the median interval is a gap (lost frames).
GAP_FACTOR = 1.5
#: An interval differing from the median by more than this fraction is irregular.
IRREGULAR_TOL = 0.10

#: Pressure unit (as vendors spell it, lower case) -> factor to kPa.
KPA_PER_UNIT: dict[str, float] = {
    "kpa": 1.0,
    "n/cm²": 10.0,
    "n/cm2": 10.0,
    "n/mm²": 1000.0,
    "n/mm2": 1000.0,
    "mmhg": 0.133322387415,
    "psi": 6.894757293168,
    "mpa": 1000.0,
    "kg/cm²": 98.0665,
    "kg/cm2": 98.0665,
}


def to_kpa(path: Path, unit: str) -> float:
    """Factor converting ``unit`` to kPa; :class:`FormatError` naming the file if unknown."""
    key = unit.strip().lower().replace(" ", "")
    if key not in KPA_PER_UNIT:
        raise FormatError(
            f"{path}: pressure unit {unit!r} is not one gaitpf converts to kPa ({', '.join(sorted(KPA_PER_UNIT))})"
        )
    return KPA_PER_UNIT[key]


def timing_report(path: Path, t_s: np.ndarray, *, what: str = "frames") -> dict[str, Any]:
    """Sampling rate and regularity of the time stamps ``t_s`` (s, strictly increasing).

    Returns
    -------
    dict
        ``sampling_rate_hz`` (1 / median interval), ``median_interval_s``,
        ``n_intervals``, ``n_irregular`` (|Δt − median| > 10 %, gaps excluded),
        ``n_gaps`` (Δt > 1.5 median), ``jitter_ms`` (SD of the non-gap intervals),
        ``max_interval_s``.

    Raises
    ------
    FormatError
        Fewer than 2 samples, or time stamps that do not increase (a cut or
        concatenated export).
    """
    t = np.asarray(t_s, dtype=float)
    if t.size < 2 or not np.isfinite(t).all():
        raise FormatError(f"{path}: fewer than 2 {what} with a valid time stamp; the export looks cut or empty")
    dt = np.diff(t)
    bad = np.flatnonzero(dt <= 0)
    if bad.size:
        raise FormatError(
            f"{path}: time goes backwards or repeats at {what[:-1]} {bad[0] + 1} "
            f"({t[bad[0]]:.6g} s -> {t[bad[0] + 1]:.6g} s); is this several exports pasted together?"
        )
    med = float(np.median(dt))
    gap = dt > GAP_FACTOR * med
    regular = dt[~gap]
    irregular = int(np.count_nonzero(np.abs(regular - med) > IRREGULAR_TOL * med))
    rep = {
        "sampling_rate_hz": float(f"{1.0 / med:.6g}"),
        "median_interval_s": med,
        "n_intervals": int(dt.size),
        "n_irregular": irregular,
        "n_gaps": int(np.count_nonzero(gap)),
        "jitter_ms": float(np.std(regular) * 1e3) if regular.size else 0.0,
        "max_interval_s": float(dt.max()),
    }
    if irregular:
        log.warning("%s: %d of %d intervals differ from the median %.4g s by more than %d %%",
                    path, irregular, dt.size, med, int(IRREGULAR_TOL * 100))
    return rep


def gaps_from_time(t_s: np.ndarray, interval_s: float, side: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Quality flags and ``"gap"`` annotations for one foot's delivered frame times.

    Parameters
    ----------
    t_s : ndarray (n,)
        Times of the frames this foot delivered, s, increasing.
    interval_s : float
        Nominal frame interval, s.
    side : str

    Returns
    -------
    quality : ndarray of uint8 (n,)
        :data:`QUALITY_GAP_BEFORE` on the first frame after each gap.
    annotations : DataFrame
        One ``kind="gap"`` row per gap.
    """
    t = np.asarray(t_s, dtype=float)
    quality = np.zeros(t.size, np.uint8)
    if t.size < 2:
        return quality, empty_annotations()
    dt = np.diff(t)
    idx = np.flatnonzero(dt > GAP_FACTOR * interval_s)
    quality[idx + 1] |= QUALITY_GAP_BEFORE
    n_lost = np.rint(dt[idx] / interval_s).astype(int) - 1
    ann = pd.DataFrame({
        "onset_s": t[idx] + interval_s,
        "duration_s": dt[idx] - interval_s,
        "kind": ["gap"] * idx.size,
        "side": [side] * idx.size,
        "description": [f"{k} frame(s) not in the export" for k in n_lost],
    })
    return quality, ann if idx.size else empty_annotations()


def provenance(path: Path) -> dict[str, str]:
    """``{"path", "sha256"}`` of an imported file and its pseudonymous subject id.

    ``path`` is kept in the in-memory recording only, so that error messages can name the
    file (the writer never stores paths or file names); ``sha256`` (of the file's bytes)
    traces a recording back to its file without naming it; the subject id is ``anon-``
    plus the first 8 hex digits of that hash (never derived from a name).
    """
    digest = content_sha256(path)
    return {"path": str(path), "sha256": digest, "subject_id": pseudonym(digest)}
