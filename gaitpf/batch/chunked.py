"""Analysis of a gaitpf HDF5 recording in bounded memory, identical to whole-file analysis.

:func:`analyze_hdf5_chunked` gives the same :class:`~gaitpf.analysis.AnalysisResult`
as ``analyze(read_recording(path), params)`` (stride table equal value for value), but
never holds the ``samples × sensors`` matrix: sensor values are read from the file in
row chunks (h5py slicing), and only per-sample 1-D signals (time, total load, flags:
~27 bytes per sample and foot) and per-stride tables stay in memory.

Passes per foot (the pure stage functions of :mod:`gaitpf.analysis` do the numerics;
this module does the I/O, the chunk bookkeeping and the merge):

1. **Statistics** (chunks, no overlap): the whole-record per-channel statistics the
   stages use (:class:`~gaitpf.batch.chunkstats.ChannelStats`: robust range, maximum,
   1st percentile, sensor baseline), exact.
2. **Total load** (chunks overlapping by the NaN-interpolation gap + saturation run):
   :func:`~gaitpf.batch.chunkstats.preprocess_rows`.
3. **Baseline** (1-D chunks, block-aligned, overlapping by the baseline window + 2
   blocks): :func:`gaitpf.analysis.preprocess.lower_envelope`; load = total − baseline.
4. **Events** (1-D chunks overlapping by 2 × (longest stance + edge window) + shortest
   swing): :func:`gaitpf.analysis.events.detect_stance_phases` on the load divided by the
   whole-record load scale (or with the body weight, as :func:`~gaitpf.analysis.analyze`
   does for calibrated insoles); a chunk keeps the stances whose IC lies in its core,
   so each stance comes from exactly one chunk (merge = concatenation, deduplicated by
   IC index).
5. **Strides** on the merged events of both feet: :func:`~gaitpf.analysis.strides.build_stride_table`.
6. **Kinetics** (row chunks holding whole stances): :func:`~gaitpf.analysis.kinetics.stride_kinetics`,
   given the whole-record sensor baseline (pass 1), so the per-sensor centre-of-pressure
   loads are those of the whole-file analysis.

Then curves, symmetry and summary as in :func:`~gaitpf.analysis.analyze`.

Exactness: events, times, labels, forces, impulses and regional shares are equal bit
for bit. The centre-of-pressure columns come from matrix–vector products (BLAS) inside
:func:`~gaitpf.analysis.kinetics.stride_kinetics`, whose rounding can depend on the
size of the matrix; with many sensors they (and the symmetry of them) agree to ~1e-13
relative, not bit for bit.
The optional low-pass filter (``lowpass_hz``, off by default) is applied per 1-D chunk
with a 10 s overlap; its result then equals whole-file filtering to rounding (~1e-12),
not bit for bit.
"""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import NoWalkingError, SchemaError, SignalError
from ..io.guard import display_path
from ..model import QUALITY_GAP_BEFORE, FootSignals, Recording
from .chunkstats import ChannelStats, preprocess_rows

__all__ = ["analyze_hdf5_chunked", "hdf5_shape", "DEFAULT_CHUNK_BYTES"]

log = logging.getLogger(__name__)

#: Float64 bytes of one row chunk of sensor values.
DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024
#: Core length of the 1-D passes (baseline, events), samples.
ONE_D_CORE = 1 << 18


def _trim_heap() -> None:
    """Give freed heap memory back to the OS (glibc keeps it otherwise, inflating RSS)."""
    if not hasattr(_trim_heap, "fn"):
        try:
            import ctypes

            _trim_heap.fn = ctypes.CDLL("libc.so.6").malloc_trim  # type: ignore[attr-defined]
        except (OSError, AttributeError):
            _trim_heap.fn = None  # type: ignore[attr-defined]
    if _trim_heap.fn is not None:  # type: ignore[attr-defined]
        _trim_heap.fn(0)  # type: ignore[attr-defined]


def hdf5_shape(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"feet": {side: (n_samples, n_sensors)}, "sampling_rate_hz": fs}`` without reading data.

    From the schema check of :func:`gaitpf.io.hdf5.probe_hdf5` (in a child process under a
    deadline; its errors are those of the readers).
    """
    from ..io.hdf5 import probe_hdf5

    plan = probe_hdf5(Path(path))
    feet = {s: (fp["n"], fp["n_sensors"]) for s, fp in plan["feet"].items()}
    fs = next(iter(plan["feet"].values()))["sampling_rate_hz"] if feet else float("nan")
    return {"feet": feet, "sampling_rate_hz": fs}


def _grid(n: int, core: int) -> list[tuple[int, int]]:
    return [(a, min(a + core, n)) for a in range(0, n, core)] or [(0, 0)]


def _foot_stats(ds: Any, n: int, rows: int) -> ChannelStats:
    stats = ChannelStats(n, int(ds.shape[1]), np.dtype(ds.dtype) if ds.dtype.kind == "f" else np.dtype("float64"))
    for a, b in _grid(n, rows):
        stats.update(ds[a:b])
    stats.finish()
    return stats


def _scale_env(load: np.ndarray, fs: float, ep: Any) -> tuple[np.ndarray, np.ndarray]:
    """Block centres and envelope of :func:`gaitpf.analysis.events.load_scale` (whole record)."""
    from ..analysis import events

    n = len(load)
    block = events.scale_block_samples(sampling_rate_hz=fs, params=ep)
    env = events.scale_envelope(events.block_maxima(load, block), params=ep)
    centres = np.arange(env.size) * block + 0.5 * (min(block, n) - 1)
    return centres, env


class _Foot:
    """All 1-D per-sample signals of one foot, built pass by pass."""

    def __init__(self, side: str, g: Any, n: int, fs: float, params: Any, chunk_rows: int, layout: Any,
                 core_1d: int) -> None:
        from ..analysis import baseline, preprocess

        from ..io.hdf5 import check_time

        self.side, self.n, self.fs, self.core_1d = side, n, fs, core_1d
        self.unit = g.attrs["unit"].decode() if isinstance(g.attrs["unit"], bytes) else str(g.attrs["unit"])
        self.ds, self.layout = g["values"], layout
        self.k = int(self.ds.shape[1])
        pp = params.preprocess
        if n == 0:
            raise SignalError(f"expected a (samples x sensors) array with samples, got shape (0, {self.k})")
        # pass 1: whole-record channel statistics
        stats = _foot_stats(self.ds, n, chunk_rows)
        if int(stats.count.sum()) == 0:
            raise SignalError("every sample is NaN; check the recording (sensor disconnected?)")
        self.channel_ok, rng = stats.channel_ok(pp)
        if not self.channel_ok.any():
            raise SignalError(
                f"all {self.k} channel(s) are flat or dead (range {rng.max():g} {self.unit}); "
                "check that the insole was worn and connected"
            )
        self.warnings = [
            f"channel {c} is flat/dead (range {rng[c]:g} {self.unit}); excluded from the total load"
            for c in np.flatnonzero(~self.channel_ok)
        ]
        self.sensor_baseline = stats.sensor_baseline()
        fill_low = stats.percentile(1.0) if np.any(stats.count < n) else np.zeros(self.k)
        # pass 2: total load (+ time base and gap flags, read alongside)
        self.time_s = np.asarray(g["time_s"][:n], dtype="float64")
        check_time(self.time_s, side, None)  # the caller names the file
        self.gap = (np.asarray(g["quality"][:n], dtype=np.uint8) & QUALITY_GAP_BEFORE) != 0
        margin = int(round(pp.max_interp_gap_ms * fs / 1000.0)) + pp.saturation_min_run + 2
        total = np.empty(n)
        self.invalid = np.empty(n, bool)
        n_saturated = 0
        may_saturate = stats.may_saturate(pp.saturation_min_run)
        for a, b in _grid(n, chunk_rows):
            lo, hi = max(0, a - margin), min(n, b + margin)
            t, inv, sat = preprocess_rows(self.ds[lo:hi], channel_ok=self.channel_ok, fill_low=fill_low,
                                          channel_max=stats.max, sampling_rate_hz=fs, params=pp,
                                          may_saturate=may_saturate)
            total[a:b], self.invalid[a:b] = t[a - lo: b - lo], inv[a - lo: b - lo]
            n_saturated += int(np.count_nonzero(sat[a - lo: b - lo]))
        n_invalid = int(np.count_nonzero(self.invalid))
        if n_invalid:
            self.warnings.append(
                f"{n_invalid} sample(s) were missing (NaN); short runs interpolated, none used for events")
        if n_saturated:
            self.warnings.append(f"{100.0 * (n_saturated / n):.1f}% of samples saturated (sensor at its maximum)")
        # pass 3: optional low-pass and baseline on the 1-D total
        if pp.lowpass_hz is not None:
            total = self._lowpass(total, pp)
        self.load = np.empty(n) if pp.remove_baseline else total
        b_min, b_max = 0.0, 0.0
        if pp.remove_baseline:
            block = max(1, int(round(pp.baseline_block_ms * fs / 1000.0)))
            win = max(1, int(round(pp.baseline_window_s * 1000.0 / pp.baseline_block_ms)))
            m = (win + 2) * block
            amp = None
            if pp.baseline_standing_window_s is not None:  # standing exclusion: whole-record amplitude, wider margin
                amp = baseline.walking_amplitude(total, sampling_rate_hz=fs, block_ms=pp.baseline_block_ms,
                                                 standing_window_s=pp.baseline_standing_window_s)
                size = max(1, int(round(pp.baseline_standing_window_s * 1000.0 / pp.baseline_block_ms)))
                m += (2 * size + int(round(pp.baseline_standing_max_s * 1000.0 / pp.baseline_block_ms)) + 2) * block
            core = block * max(1, core_1d // block)
            b_min, b_max = np.inf, -np.inf
            for a, b in _grid(n, core):
                lo, hi = max(0, a - m), min(n, b + m)
                base = preprocess.lower_envelope(total[lo:hi], sampling_rate_hz=fs, block_ms=pp.baseline_block_ms,
                                                 window_s=pp.baseline_window_s, quantile=pp.baseline_quantile,
                                                 standing_window_s=pp.baseline_standing_window_s,
                                                 standing_fraction=pp.baseline_standing_fraction,
                                                 standing_max_s=pp.baseline_standing_max_s, amplitude=amp)
                core_base = base[a - lo: b - lo]
                self.load[a:b] = total[a:b] - core_base
                b_min, b_max = min(b_min, float(core_base.min())), max(b_max, float(core_base.max()))
            del total
        self.channel_info = {
            "n_channels": self.k, "dead_channels": [int(i) for i in np.flatnonzero(~self.channel_ok)],
            "saturated_pct": float(100.0 * n_saturated / n), "invalid_pct": float(100.0 * n_invalid / n),
            "baseline_drift": float(b_max - b_min), "unit": self.unit, "warnings": list(self.warnings),
        }

    def _lowpass(self, total: np.ndarray, pp: Any) -> np.ndarray:
        from scipy import signal

        nyq = 0.5 * self.fs
        if pp.lowpass_hz >= nyq:
            raise SignalError(f"lowpass_hz={pp.lowpass_hz} must be below the Nyquist frequency {nyq} Hz")
        sos = signal.butter(pp.lowpass_order, pp.lowpass_hz / nyq, output="sos")
        if self.n <= 3 * (2 * len(sos) + 1):
            return total
        out = np.empty(self.n)
        m = int(10 * self.fs)
        for a, b in _grid(self.n, self.core_1d):
            lo, hi = max(0, a - m), min(self.n, b + m)
            out[a:b] = signal.sosfiltfilt(sos, total[lo:hi])[a - lo: b - lo]
        return out

    def stances(self, params: Any, body_weight_n: float | None) -> pd.DataFrame:
        """Pass 4: stance phases in overlapping 1-D chunks, merged by IC index."""
        from ..analysis import events

        ep = params.events
        fs, n = self.fs, self.n
        use_bw = body_weight_n is not None and self.unit == "N" and ep.use_body_weight
        cal = self.unit == "N"
        if not use_bw:
            centres, env = _scale_env(self.load, fs, ep)
            if not np.any(env > 0):
                return events.empty_stances()
        m = int(math.ceil((2 * (ep.max_stance_ms + 2 * ep.edge_window_ms) + ep.min_swing_ms + ep.contact_window_ms
                           + ep.swing_floor_window_ms) * fs / 1000.0)) + 4
        parts = []
        for a, b in _grid(n, self.core_1d):
            lo, hi = max(0, a - m), min(n, b + m)
            load = self.load[lo:hi]
            finite = np.isfinite(load)
            bad = self.invalid[lo:hi] | ~finite
            if use_bw:
                st = events.detect_stance_phases(load, sampling_rate_hz=fs, params=ep, body_weight_n=body_weight_n,
                                                 invalid=bad, calibrated=cal)
            else:  # u = load / S with the whole-record scale S; thresholds are then fractions of 1
                scale = np.interp(np.arange(lo, hi), centres, env)
                u = np.where(finite, load, 0.0) / np.where(scale > 0, scale, np.inf)
                st = events.detect_stance_phases(u, sampling_rate_hz=fs, params=ep, body_weight_n=1.0, invalid=bad,
                                                 calibrated=cal)
            ic = st["ic_idx"].to_numpy(np.int64) + lo
            keep = (ic >= a) & (ic < b)
            st = st[keep].copy()
            for c in ("ic_idx", "to_idx", "ic_alt_idx", "to_alt_idx"):
                st[c] += lo
            parts.append(st)
        out = pd.concat(parts, ignore_index=True).drop_duplicates("ic_idx").sort_values("ic_idx")
        return out.reset_index(drop=True)

    def kinetics(self, rows: pd.DataFrame, chunk_rows: int, body_weight_n: float | None) -> pd.DataFrame:
        """Pass 6: per-stride kinetics, stances grouped into row chunks read from the file."""
        from ..analysis import kinetics

        ic = rows["ic_idx"].to_numpy(np.int64)
        group = ic // max(chunk_rows, 1)
        parts = []
        for g in np.unique(group):
            sel = rows[group == g]
            lo = int(sel["ic_idx"].min())
            hi = int(sel["to_idx"].max()) + 1
            vals = self.ds[lo:hi]  # in the file's dtype, as the whole-file analysis sees it
            load = self.load[lo:hi]
            shifted = sel.assign(ic_idx=sel["ic_idx"] - lo, to_idx=sel["to_idx"] - lo,
                                 next_ic_idx=sel["next_ic_idx"] - lo)
            parts.append(kinetics.stride_kinetics(
                vals, load, strides=shifted, sampling_rate_hz=self.fs, unit=self.unit, layout=self.layout,
                channel_ok=self.channel_ok, body_weight_n=body_weight_n if self.unit == "N" else None,
                sensor_baseline=self.sensor_baseline))
        return pd.concat(parts) if parts else kinetics.stride_kinetics(
            np.zeros((0, self.k)), np.zeros(0), strides=rows, sampling_rate_hz=self.fs, unit=self.unit,
            layout=self.layout, channel_ok=self.channel_ok, body_weight_n=body_weight_n if self.unit == "N" else None)


def analyze_hdf5_chunked(
    path: str | os.PathLike[str], params: Any = None, *, chunk_samples: int | None = None,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> tuple[Any, dict[str, Any]]:
    """Analyze a gaitpf HDF5 recording in bounded memory.

    Parameters
    ----------
    path : path-like
        gaitpf HDF5 file (schema v1).
    params : AnalysisParams, optional
    chunk_samples : int, optional
        Core length of every chunk, samples (default: ``chunk_bytes`` of float64 values
        for the multi-channel passes, 2^18 samples for the 1-D passes). Small values only
        make it slower; the result is the same.
    chunk_bytes : int
        Memory budget of one row chunk of values (float64), bytes.

    Returns
    -------
    result : AnalysisResult
        Equal to ``analyze(read_recording(path), params)``.
    info : dict
        ``subject_id``, ``session``, ``trial``, ``duration_s``, ``sensor_samples``.
    """
    from .. import analysis
    from ..analysis import strides as strides_mod
    from ..analysis import kinetics, symmetry
    from ..io.hdf5 import open_hdf5, probe_hdf5, read_layout

    params = params or analysis.AnalysisParams()
    p = Path(path)
    with open_hdf5(p) as (f, _):
        plan = probe_hdf5(p)  # the schema check (cached): types, shapes and sizes are known good
        root = plan["root"]
        sides = list(plan["feet"])
        mass = root["body_mass_kg"]
        bw_n = mass * 9.80665 if mass is not None else None
        # as gaitpf.io.hdf5.read_hdf5: the stored source, plus the file that was read
        source = dict(root["source"]) | {"path": display_path(p)}
        name = source.get("path") or source.get("name") or "recording"
        feet: dict[str, _Foot] = {}
        rates = set()
        for side in sides:
            g = f[side]
            fp = plan["feet"][side]
            n, k, fs = fp["n"], fp["n_sensors"], fp["sampling_rate_hz"]
            rates.add(fs)
            rows = chunk_samples or max(64, chunk_bytes // (8 * max(k, 1)))
            layout = read_layout(g, side, p, k)
            try:
                feet[side] = _Foot(side, g, n, fs, params, int(rows), layout, int(chunk_samples or ONE_D_CORE))
                _trim_heap()
            except SchemaError as exc:
                raise SchemaError(f"{p}: {exc}") from exc
            except SignalError as exc:
                raise SignalError(f"{name}: {side} foot: {exc}") from exc
        if len(rates) > 1:
            raise SchemaError(f"{p}: left and right feet have different sampling rates {sorted(rates)} Hz")
        fs = rates.pop()
        stances = {s: ft.stances(params, bw_n) for s, ft in feet.items()}
        from ..analysis import merged
        stances = merged.split_merged_stances(stances, {s: ft.load for s, ft in feet.items()},
                                              sampling_rate_hz=fs, params=params.events)
        table = strides_mod.build_stride_table(
            stances, times_s={s: ft.time_s for s, ft in feet.items()}, sampling_rate_hz=fs,
            params=params.strides, gap_before={s: ft.gap for s, ft in feet.items()})
        for ft in feet.values():  # only the load is needed from here on
            ft.time_s = ft.gap = ft.invalid = None
        _trim_heap()
        if table.empty:
            raise NoWalkingError(
                f"{name}: no strides found (is this a walking trial? check that the insoles were loaded "
                "and the signal is not flat)")
        parts, curves = [], {}
        for side in sides:
            ft = feet[side]
            rows_s = table[table["side"] == side]
            parts.append(ft.kinetics(rows_s, int(chunk_samples or max(64, chunk_bytes // (8 * ft.k))), bw_n))
            curves[side] = kinetics.mean_stance_curve(ft.load, strides=rows_s[rows_s["steady"]])
            _trim_heap()
        rec = Recording(
            feet={s: FootSignals(side=s, values=np.broadcast_to(np.zeros((1, 1), np.float32), (ft.n, 1)),
                                 unit=ft.unit, sampling_rate_hz=ft.fs) for s, ft in feet.items()},
            subject_id=root["subject_id"], session=root["session"], trial=root["trial"],
            body_mass_kg=mass, source=source,
        )
    kin_all = pd.concat(parts).reindex(table.index)
    table = pd.concat([table, kin_all.drop(columns=[c for c in kin_all if c in table])], axis=1)
    warnings = [f"{s} foot: {w}" for s in sides for w in feet[s].warnings]
    steady = table[table["steady"]]
    for side in sides:
        n_st = int((steady["side"] == side).sum())
        if n_st < 30:
            warnings.append(f"{side} foot: only {n_st} steady strides (≥ 30 recommended for stable symmetry)")
    if len(sides) < 2:
        warnings.append("one foot only: symmetry is not available")
    sym = symmetry.symmetry_table(table, metrics=list(symmetry.default_metrics(table)))
    pci = symmetry.phase_coordination_index(table) if len(sides) == 2 else None
    trend = symmetry.trend_symmetry(curves["left"]["mean"], curves["right"]["mean"]) if len(sides) == 2 else None
    summary = analysis._summary(rec, table, sym, pci, trend, warnings, params)
    result = analysis.AnalysisResult(
        strides=table, symmetry=sym, summary=summary, curves=curves,
        channels={s: feet[s].channel_info for s in sides}, warnings=warnings, params=params)
    info = {"subject_id": rec.subject_id, "session": rec.session, "trial": rec.trial,
            "duration_s": float(rec.duration_s), "sensor_samples": int(sum(ft.n * ft.k for ft in feet.values()))}
    return result, info
