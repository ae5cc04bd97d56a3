"""The analysis pipeline: recording in, stride table, symmetry table and summary out.

Pure (numpy/scipy/pandas and gaitpf's own pure modules; no I/O, no printing, inputs
never mutated). Pipeline per foot::

    values (samples x sensors) --preprocess.prepare_load--> PreparedLoad (baseline-free total load)
      --events.detect_stance_phases--> stances (ic_idx, to_idx, ambiguity flags)
    both feet --merged.split_merged_stances--> merged stances split, pivot turns flagged
    both feet --strides.build_stride_table--> one row per stride, labelled steady / not
      --kinetics.stride_kinetics--> peak forces, impulse, COP, regional load (where the signal allows)
      --symmetry.*--> SI, SR, GA, SA per metric; PCI; trend symmetry of mean curves
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import NoWalkingError, SignalError
from ..model import QUALITY_GAP_BEFORE, Recording
from . import events, kinetics, merged, preprocess, selfcheck, strides, symmetry
from .tables import _clean, column_units, summary_row, table_attrs

__all__ = ["AnalysisParams", "AnalysisResult", "analyze", "SUMMARY_METRICS", "column_units", "table_attrs",
           "summary_row"]

log = logging.getLogger(__name__)

#: Sensor values (samples x sensors) of one foot from which ``analyze`` uses a thread per foot
#: by default (2**20: about 11 min of 16 sensors at 100 Hz; measured break-even 10-20 min on 2 cores).
THREADS_MIN_VALUES = 1 << 20

#: Metrics whose left/right means and symmetry always appear in the summary.
SUMMARY_METRICS: tuple[str, ...] = ("stride_time_s", "stance_time_s", "swing_time_s")


@dataclass(frozen=True)
class AnalysisParams:
    """All tunables of the analysis, grouped by stage (each stage documents its own)."""

    preprocess: preprocess.PreprocessParams = field(default_factory=preprocess.PreprocessParams)
    events: events.EventParams = field(default_factory=events.EventParams)
    strides: strides.StrideParams = field(default_factory=strides.StrideParams)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)


@dataclass
class AnalysisResult:
    """What :func:`analyze` returns.

    Attributes
    ----------
    strides : DataFrame
        One row per stride of either foot (``side`` column), all strides kept and
        labelled; ``steady`` marks those used for statistics.
    symmetry : DataFrame
        One row per metric: left/right mean, SD, n and SI, SR, GA, SA on steady strides.
    summary : dict
        JSON-serialisable headline numbers (contract of ``gaitpf analyze --summary``).
    curves : dict
        ``{"left": {"mean": ndarray(101), "sd": ndarray(101)}, ...}`` stance-normalised
        total-load curves (for trend symmetry and the report).
    channels : dict
        Per side: dead/saturated channel information from preprocessing.
    warnings : list of str
        Things a reader of the numbers must know (few steady strides, one foot only...).
    """

    strides: pd.DataFrame
    symmetry: pd.DataFrame
    summary: dict[str, Any]
    curves: dict[str, dict[str, np.ndarray]]
    channels: dict[str, dict[str, Any]]
    warnings: list[str]
    params: AnalysisParams

    def __post_init__(self) -> None:
        # who/what every table is about travels with it (``df.attrs``); see :func:`table_attrs`
        for name in ("strides", "symmetry"):
            table = getattr(self, name)
            table.attrs.update(table_attrs(self.summary, table if name == "strides" else None))

    def summary_row(self) -> pd.DataFrame:
        """The summary as a one-row DataFrame (:func:`summary_row`; ``subject_id``, ``session``, ``trial`` included)."""
        return pd.DataFrame([summary_row(self.summary)])

    def __repr__(self) -> str:
        """One line: subject, strides per foot (steady), headline stance-time symmetry and PCI."""
        s = self.summary
        sides = s.get("sides") or []
        counts = ", ".join(f"{side} {s['n_steady_strides'][side]}/{s['n_strides'][side]}" for side in sides)
        parts = [f"subject={s.get('subject_id')}, session={s.get('session')}, trial={s.get('trial')}",
                 f"steady/all strides: {counts}"]
        stance = s.get("stance_time_s") or {}
        if stance.get("si_pct") is not None:
            parts.append(f"stance time SI {stance['si_pct']:+.2f} %")
        if s.get("pci_pct") is not None:
            parts.append(f"PCI {s['pci_pct']:.2f} %")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warning(s)")
        return f"AnalysisResult({'; '.join(parts)})"


def _body_weight_n(rec: Recording) -> float | None:
    if rec.body_mass_kg is None or not np.isfinite(rec.body_mass_kg):
        return None
    return float(rec.body_mass_kg) * 9.80665


def _map_feet(fn: Callable[[str], Any], sides: tuple[str, ...], n_threads: int) -> list[Any]:
    """``[fn(side) for side in sides]``, the feet in up to ``n_threads`` threads (results in side order).

    The feet are independent and numpy releases the GIL in its array loops, so two feet
    take about the time of one on two cores. A foot's exception is raised as in the
    sequential loop (the first failing side in order).
    """
    if n_threads <= 1 or len(sides) <= 1:
        return [fn(side) for side in sides]
    with ThreadPoolExecutor(max_workers=min(n_threads, len(sides)), thread_name_prefix="gaitpf-foot") as pool:
        return list(pool.map(fn, sides))


def _available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one, e.g. in a container)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def _default_threads(recording: Recording) -> int:
    """One thread per foot (up to the CPUs) when a foot holds ``THREADS_MIN_VALUES`` values, else 1."""
    if max(f.n_samples * f.n_sensors for f in recording.feet.values()) < THREADS_MIN_VALUES:
        return 1  # a short recording: starting threads costs about what they would save
    return min(len(recording.sides), _available_cpus())


def analyze(
    recording: Recording, params: AnalysisParams | None = None, *, n_threads: int | None = None
) -> AnalysisResult:
    """Segment steps and compute per-stride metrics and left/right symmetry.

    Parameters
    ----------
    recording : Recording
        One walking trial (one or both feet). Not modified.
    params : AnalysisParams, optional
        Tunables; defaults are validated on the PhysioNet gaitndd/gaitpdb data.
    n_threads : int, optional
        Threads for the per-foot work (preprocessing, events, kinetics). ``None``: one
        per foot, up to the number of CPUs, when a foot holds at least
        ``THREADS_MIN_VALUES`` sensor values (shorter recordings: 1); ``1``: everything in the calling thread
        (use it when the caller already runs one analysis per core, as the batch runner
        does). The result does not depend on it.

    Returns
    -------
    AnalysisResult

    Raises
    ------
    SignalError
        A foot's signal cannot be analyzed (all NaN, all channels dead...).
    NoWalkingError
        No stride was found on any foot.
    """
    params = params or AnalysisParams()
    fs = recording.sampling_rate_hz
    bw_n = _body_weight_n(recording)
    source = recording.source.get("path") or recording.source.get("name") or "recording"
    sides = tuple(recording.sides)
    n_threads = _default_threads(recording) if n_threads is None else n_threads

    def foot_events(side: str) -> tuple[preprocess.PreparedLoad, pd.DataFrame]:
        foot = recording.feet[side]
        try:
            prep = preprocess.prepare_load(
                foot.values, sampling_rate_hz=fs, unit=foot.unit, params=params.preprocess
            )
        except SignalError as exc:
            raise SignalError(f"{source}: {side} foot: {exc}") from exc
        stance = events.detect_stance_phases(
            prep.load,
            sampling_rate_hz=fs,
            params=params.events,
            body_weight_n=bw_n if (foot.unit == "N" and params.events.use_body_weight) else None,
            invalid=prep.invalid,
            calibrated=foot.unit == "N",
        )
        return prep, stance

    per_foot = _map_feet(foot_events, sides, n_threads)
    prepared = {side: prep for side, (prep, _) in zip(sides, per_foot)}
    stances = {side: stance for side, (_, stance) in zip(sides, per_foot)}
    # merged stances split with the other foot's contacts, pivot turns flagged (both feet)
    stances = merged.split_merged_stances(
        stances, {s: prepared[s].load for s in sides}, sampling_rate_hz=fs, params=params.events
    )
    times: dict[str, np.ndarray] = {}
    gaps: dict[str, np.ndarray] = {}
    warnings: list[str] = []
    for side in sides:
        foot = recording.feet[side]
        quality = foot.quality if foot.quality is not None else np.zeros(foot.n_samples, np.uint8)
        gaps[side] = (np.asarray(quality) & QUALITY_GAP_BEFORE) != 0
        times[side] = foot.times_s()
        warnings.extend(f"{side} foot: {w}" for w in prepared[side].warnings)

    table = strides.build_stride_table(
        stances, times_s=times, sampling_rate_hz=fs, params=params.strides, gap_before=gaps
    )
    if table.empty:
        raise NoWalkingError(
            f"{source}: no strides found (is this a walking trial? check that the insoles were loaded "
            "and the signal is not flat)"
        )

    # per-side row selections as numpy masks; kinetics reads only the stance bounds (and the index)
    side_of = table["side"].to_numpy(dtype=object)
    steady_mask = table["steady"].to_numpy(dtype=bool)
    bounds = table[["ic_idx", "to_idx"]]

    def foot_kinetics(side: str) -> tuple[pd.DataFrame, dict[str, Any]]:
        foot = recording.feet[side]
        sel = side_of == side
        rows = bounds[sel]
        kin = kinetics.stride_kinetics(
            foot.values,
            prepared[side].load,
            strides=rows,
            sampling_rate_hz=fs,
            unit=foot.unit,
            layout=foot.layout,
            channel_ok=prepared[side].channel_ok,
            body_weight_n=bw_n if foot.unit == "N" else None,
            sensor_baseline=prepared[side].sensor_baseline,
        )
        return kin, kinetics.mean_stance_curve(prepared[side].load, strides=rows[steady_mask[sel]])

    kin_cols: dict[str, np.ndarray] = {}
    curves: dict[str, dict[str, np.ndarray]] = {}
    for side, (kin, curve) in zip(sides, _map_feet(foot_kinetics, sides, n_threads)):
        pos = np.flatnonzero(side_of == side)
        for c in kin.columns:  # union of both feet's columns, NaN where a foot has none
            if c not in table.columns:
                kin_cols.setdefault(c, np.full(len(table), np.nan))[pos] = kin[c].to_numpy(dtype=np.float64)
        curves[side] = curve
    table = pd.concat([table, pd.DataFrame(kin_cols, index=table.index)], axis=1)

    n_steady = {s: int(np.count_nonzero(steady_mask & (side_of == s))) for s in recording.sides}
    for side, n in n_steady.items():
        if n < 30:
            warnings.append(f"{side} foot: only {n} steady strides (≥ 30 recommended for stable symmetry)")
    if len(recording.sides) < 2:
        warnings.append("one foot only: symmetry is not available")

    metrics = [c for c in symmetry.default_metrics(table)]
    sym = symmetry.symmetry_table(table, metrics=metrics)
    pci = symmetry.phase_coordination_index(table) if len(recording.sides) == 2 else None
    trend = (
        symmetry.trend_symmetry(curves["left"]["mean"], curves["right"]["mean"])
        if len(recording.sides) == 2
        else None
    )

    summary = _summary(recording, table, sym, pci, trend, warnings, params)
    log.debug("analyzed %s: %s", source, summary["n_strides"])
    return AnalysisResult(
        strides=table,
        symmetry=sym,
        summary=summary,
        curves=curves,
        channels={s: prepared[s].channel_info() for s in prepared},
        warnings=warnings,
        params=params,
    )


def _summary(
    rec: Recording,
    table: pd.DataFrame,
    sym: pd.DataFrame,
    pci: dict[str, Any] | None,
    trend: dict[str, Any] | None,
    warnings: list[str],
    params: AnalysisParams,
) -> dict[str, Any]:
    side_of = table["side"].to_numpy(dtype=object)
    steady_mask = table["steady"].to_numpy(dtype=bool)
    out: dict[str, Any] = {
        "gaitpf_version": __version__,
        "subject_id": rec.subject_id,
        "session": rec.session,
        "trial": rec.trial,
        "source": rec.source.get("path") or rec.source.get("name"),
        "sampling_rate_hz": float(rec.sampling_rate_hz),
        "duration_s": float(rec.duration_s),
        "sides": list(rec.sides),
        "n_strides": {s: int(np.count_nonzero(side_of == s)) for s in rec.sides},
        "n_steady_strides": {s: int(np.count_nonzero(steady_mask & (side_of == s))) for s in rec.sides},
        "cadence_spm": _clean(table["cadence_spm"][steady_mask].median()) if steady_mask.any() else None,
    }
    by_metric: dict[Any, dict[str, Any]] = {}
    if len(sym):
        # one value per cell in its column's dtype (counts stay integers)
        indexed = sym.set_index("metric")
        columns = {c: indexed[c].to_numpy() for c in indexed.columns}
        by_metric = {m: {c: v[i] for c, v in columns.items()} for i, m in enumerate(indexed.index)}
    for metric, row in by_metric.items():
        out.setdefault("metrics", {})[metric] = {k: _clean(v) for k, v in row.items()}
    for metric in SUMMARY_METRICS:
        if metric in by_metric:
            row = by_metric[metric]
            out[metric] = {
                k: _clean(row.get(k))
                for k in ("left_mean", "right_mean", "left_sd", "right_sd", "si_pct", "sr", "ga_pct", "sa_pct")
            }
        else:
            out[metric] = None
    # stride/stance/swing CV per side (first-class variability metrics) and reference-free self-checks
    out["variability"] = {s: {k: _clean(v) for k, v in d.items()} for s, d in selfcheck.variability(table).items()}
    out["self_checks"] = {s: {k: _clean(v) for k, v in d.items()} for s, d in selfcheck.self_checks(table).items()}
    out["pci_pct"] = _clean(pci["pci_pct"]) if pci else None
    out["pci"] = {k: _clean(v) for k, v in pci.items()} if pci else None
    out["trend_symmetry"] = {k: _clean(v) for k, v in trend.items()} if trend else None
    out["warnings"] = list(warnings)
    out["params"] = params.as_dict()
    return out
