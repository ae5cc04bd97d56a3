"""Per-foot preprocessing: sensor channels in, one baseline-free total-load signal out.

Steps (all vectorized, inputs never mutated):

1. **NaN handling** – runs of NaN no longer than ``max_interp_gap_ms`` are linearly
   interpolated per channel; longer runs are set to the channel's low level. Every
   sample that was NaN in a used channel is marked ``invalid`` (no event may come
   from it). A channel that is entirely NaN is treated as dead.
2. **Dead/flat channels** – a channel whose robust range (99.5th − 0.5th percentile) is
   zero, or below ``dead_range_fraction`` of the largest channel's range, carries no
   walking information and is excluded from the sum (with a warning). All channels
   dead → :class:`~gaitpf.errors.SignalError`.
3. **Saturation** – samples where a channel sits at its own maximum for at least
   ``saturation_min_run`` consecutive samples (sensor or ADC rail) are flagged
   ``saturated``. They clip peak forces but not the timing of the load/unload edges,
   so they are *not* marked invalid.
4. **Optional low-pass** – zero-phase Butterworth (``scipy.signal.sosfiltfilt``) when
   ``lowpass_hz`` is set (off by default: the PhysioNet reference timings were derived
   from the raw samples).
5. **Baseline (drift) removal** – the swing level is tracked by a running lower
   envelope: the minimum of every ``baseline_block_ms`` block; blocks whose minimum is in
   the lowest ``baseline_quantile`` of a centred ``baseline_window_s`` window are swing
   blocks, and the floor is the centred rolling median of their minima (unbiased under a
   linear drift), linearly interpolated back to every sample and subtracted. This follows the slow drifts of FSR insoles
   (PhysioNet gaitndd control5/park5 drift by > 1000 ADC units) while leaving the step
   edges untouched; for calibrated insoles whose swing reads 0 it is ~0. Standing
   periods (3 s – ``baseline_standing_max_s``) are left out of the swing blocks
   (:mod:`gaitpf.analysis.baseline`).

Whole-record channel statistics (robust range, maximum and samples at it, and the sensor
baseline that kinetics needs, ``PreparedLoad.sensor_baseline``) come exactly from ONE pass
streamed over blocks of rows (:func:`gaitpf.analysis.colstats.column_profile`): the input is
never copied as a whole or converted to float64, so 1000-sensel float32 recordings cost
little more than reading. The baseline envelope is :mod:`gaitpf.analysis.baseline`.

References: Hausdorff JM et al. (1995) J Biomech 28:347-351 (FSR footswitch signal
processing); Pataky TC (2012) lower-envelope baseline of pressure insoles.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal

from ..errors import SignalError
from . import colstats, cop
from .baseline import lower_envelope  # step 5 (also used by the chunked reader)

__all__ = ["PreprocessParams", "PreparedLoad", "prepare_load", "lower_envelope"]


@dataclass(frozen=True)
class PreprocessParams:
    """Tunables of :func:`prepare_load` (all durations in their unit-named fields).

    Parameters
    ----------
    remove_baseline : bool
        Subtract the running lower envelope (swing level). Default True.
    baseline_block_ms : float
        Block length whose minimum samples the swing floor (ms). Default 100.
    baseline_window_s : float
        Length of the centred rolling window over block minima (s). Must span several
        strides so that it always contains swing phases. Default 10.
    baseline_quantile : float
        Blocks whose minimum lies in this lowest fraction of the window count as swing
        blocks; the floor is the median of their minima (0–1). Default 0.3 (swing is
        ~40 % of a stride, so most swing blocks and no stance block qualify).
    baseline_standing_window_s : float or None
        Windows this long whose load range is below ``baseline_standing_fraction`` × the
        walking amplitude are standing, left out of the swing floor (s; None: off). Default 3.
    baseline_standing_fraction : float
        Default 0.25.
    baseline_standing_max_s : float
        Longer quiet runs keep their own floor (s). Default 120.
    lowpass_hz : float or None
        Zero-phase low-pass cut-off (Hz); None disables it. Default None.
    lowpass_order : int
        Butterworth order (applied forward and backward). Default 2.
    max_interp_gap_ms : float
        Longest NaN run that is linearly interpolated (ms). Default 100.
    dead_range_fraction : float
        A channel whose robust range is below this fraction of the largest channel's
        range is dead. Default 0.01.
    saturation_min_run : int
        Consecutive samples at a channel's maximum that count as saturation. Default 3.
    """

    remove_baseline: bool = True
    baseline_block_ms: float = 100.0
    baseline_window_s: float = 10.0
    baseline_quantile: float = 0.3
    baseline_standing_window_s: float | None = 3.0
    baseline_standing_fraction: float = 0.25
    baseline_standing_max_s: float = 120.0
    lowpass_hz: float | None = None
    lowpass_order: int = 2
    max_interp_gap_ms: float = 100.0
    dead_range_fraction: float = 0.01
    saturation_min_run: int = 3

    def __post_init__(self) -> None:
        checks = {
            "baseline_block_ms": self.baseline_block_ms > 0,
            "baseline_window_s": self.baseline_window_s > 0,
            "baseline_quantile": 0.0 <= self.baseline_quantile <= 1.0,
            "baseline_standing": (self.baseline_standing_window_s is None or self.baseline_standing_window_s > 0)
            and 0.0 < self.baseline_standing_fraction < 1.0 and self.baseline_standing_max_s > 0,
            "lowpass_hz": self.lowpass_hz is None or self.lowpass_hz > 0,
            "lowpass_order": self.lowpass_order >= 1,
            "max_interp_gap_ms": self.max_interp_gap_ms >= 0,
            "dead_range_fraction": 0.0 <= self.dead_range_fraction < 1.0,
            "saturation_min_run": self.saturation_min_run >= 1,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise SignalError(f"invalid preprocessing parameters {bad}: {self!r}")


@dataclass
class PreparedLoad:
    """Result of :func:`prepare_load` for one foot.

    Attributes
    ----------
    load : ndarray, shape (n,)
        Baseline-free total load in the input unit (sum of the usable channels).
    invalid : ndarray of bool, shape (n,)
        Samples that must not produce events (were NaN / interpolated).
    channel_ok : ndarray of bool, shape (k,)
        Channels used in the sum.
    saturated : ndarray of bool, shape (n,)
        At least one used channel sat at its maximum.
    baseline : ndarray, shape (n,)
        The subtracted swing level (input unit).
    warnings : list of str
    unit : str
    sensor_baseline : ndarray, shape (k,), or None
        Unloaded level of each sensor channel, equal to
        :func:`gaitpf.analysis.cop.sensor_baseline` of the input (computed in the same
        statistics pass; kinetics reuses it).
    """

    load: np.ndarray
    invalid: np.ndarray
    channel_ok: np.ndarray
    saturated: np.ndarray
    baseline: np.ndarray
    warnings: list[str] = field(default_factory=list)
    unit: str = "au"
    sensor_baseline: np.ndarray | None = None

    def channel_info(self) -> dict[str, Any]:
        """JSON-serialisable channel summary (dead channels, saturation, invalid share)."""
        n = max(len(self.load), 1)
        return {
            "n_channels": int(len(self.channel_ok)),
            "dead_channels": [int(i) for i in np.flatnonzero(~self.channel_ok)],
            "saturated_pct": float(100.0 * np.count_nonzero(self.saturated) / n),
            "invalid_pct": float(100.0 * np.count_nonzero(self.invalid) / n),
            "baseline_drift": float(np.ptp(self.baseline)) if len(self.baseline) else 0.0,
            "unit": self.unit,
            "warnings": list(self.warnings),
        }


def _run_lengths_1d(mask: np.ndarray) -> np.ndarray:
    """Length of the True run each sample of a 1-D mask belongs to (0 where False)."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    out = np.zeros(mask.size, dtype=np.int64)
    out[mask] = np.repeat(ends - starts, ends - starts)
    return out


def _interpolate_nans(col: np.ndarray, max_gap: int) -> np.ndarray:
    """One channel (float64, NaN for missing) with NaN runs ≤ max_gap samples linearly filled.

    Longer runs are held at the channel's 1st percentile (its low level) so they produce
    no load. A channel without any finite sample is returned unchanged.
    """
    nan = np.isnan(col)
    if nan.all():
        return col
    idx = np.arange(col.size)
    filled = np.interp(idx, idx[~nan], col[~nan])
    short = nan & (_run_lengths_1d(nan) <= max_gap)
    out = col.copy()
    out[short] = filled[short]
    out[nan & ~short] = np.nanpercentile(col, 1.0)
    return out


def _as_float(values: np.ndarray) -> np.ndarray:
    """``values`` as a 2-D float32/float64 array, without copying when it already is one."""
    v = np.asarray(values)
    if v.dtype not in (np.float32, np.float64):
        v = v.astype(np.float64)
    return v[:, None] if v.ndim == 1 else v


#: Percentiles whose difference is a channel's robust range (dead-channel test).
RANGE_PCT: tuple[float, float] = (0.5, 99.5)


@dataclass(frozen=True)
class _ChannelStats:
    """Whole-record statistics of every channel from one :func:`colstats.column_profile` pass."""

    min: np.ndarray        # NaN where the channel holds NaN (dtype of the values)
    max: np.ndarray
    finite: np.ndarray     # channel without NaN/inf
    range: np.ndarray      # robust range (float64)
    baseline: np.ndarray   # sensor baseline, as cop.sensor_baseline (float64)
    n_at_max: np.ndarray   # samples at the maximum (finite channels)


def _channel_stats(v: np.ndarray) -> _ChannelStats:
    """Robust range (99.5th − 0.5th percentile of the finite samples), maximum and sensor baseline.

    Same values as ``np.nanpercentile`` on float64 and :func:`gaitpf.analysis.cop.sensor_baseline`:
    channels without NaN/inf get them from ONE streaming pass over the (uncopied) array
    (:func:`gaitpf.analysis.colstats.column_profile`); channels with NaN/inf are converted
    and handled one by one.
    """
    n, k = v.shape
    prev_i, next_i, gamma = colstats.percentile_ranks(n, list(RANGE_PCT))
    prof = colstats.column_profile(v, np.concatenate([prev_i, next_i, [cop.baseline_rank(n)]]))
    lo, hi = np.zeros(k), np.zeros(k)
    base = np.zeros(k)
    fc = np.flatnonzero(prof.finite)
    if fc.size:
        pct = colstats.interpolate_percentiles(prof.values[:2][:, fc], prof.values[2:4][:, fc], gamma)
        lo[fc], hi[fc] = pct
        base[fc] = prof.values[4, fc]
    nf = np.flatnonzero(~prof.finite)
    if nf.size:
        base[nf] = cop.nonfinite_baseline(v[:, nf])
    for c in nf:  # channels with NaN/inf: numpy's nanpercentile
        col = v[:, c].astype(np.float64)
        col[np.isinf(col)] = np.nan
        if not np.isnan(col).all():
            lo[c], hi[c] = np.nanpercentile(col, list(RANGE_PCT))
    return _ChannelStats(prof.min, prof.max.copy(), prof.finite, hi - lo, base, prof.n_at_max)


def _saturated(v: np.ndarray, used: np.ndarray, filled: dict[int, np.ndarray], col_max: np.ndarray,
               n_at_max: np.ndarray, min_run: int) -> np.ndarray:
    """Samples where a used channel sits at its maximum for ≥ ``min_run`` samples."""
    n = v.shape[0]
    sat = np.zeros(n, dtype=bool)
    plain = np.array([c for c in used if c not in filled], dtype=np.int64)
    cand = list(filled)
    if plain.size:  # a channel reaching its maximum fewer than min_run times cannot saturate
        cand += plain[n_at_max[plain] >= min_run].tolist()
    for i in range(0, len(cand), 64):  # bounded memory: 64 channels at a time
        group = cand[i : i + 64]
        cols = np.column_stack([filled[c] if c in filled else v[:, c] for c in group])
        sat |= colstats.long_runs(cols >= col_max[group], min_run).any(axis=1)
    return sat


def prepare_load(
    values: np.ndarray, *, sampling_rate_hz: float, unit: str, params: PreprocessParams
) -> PreparedLoad:
    """Turn one foot's sensor readings into a baseline-free total load.

    Parameters
    ----------
    values : array_like, shape (n,) or (n, k)
        Per-sensor readings in ``unit`` (not modified).
    sampling_rate_hz : float
        Sampling rate (Hz).
    unit : str
        Unit of ``values`` (``"N"``, ``"kPa"``, ``"au"``); the load keeps it.
    params : PreprocessParams

    Returns
    -------
    PreparedLoad

    Raises
    ------
    SignalError
        Empty or all-NaN signal, or every channel dead/flat.
    """
    v = _as_float(values)
    if v.ndim != 2 or v.shape[0] == 0:
        raise SignalError(f"expected a (samples x sensors) array with samples, got shape {np.shape(values)}")
    if not (np.isfinite(sampling_rate_hz) and sampling_rate_hz > 0):
        raise SignalError(f"sampling_rate_hz must be > 0, got {sampling_rate_hz!r}")
    n, k = v.shape
    # one streaming pass: minimum, maximum, robust range and sensor baseline of every channel
    stats = _channel_stats(v)
    col_max, finite_cols = stats.max, stats.finite
    any_finite = finite_cols.copy()
    for c in np.flatnonzero(~finite_cols):
        any_finite[c] = np.isfinite(v[:, c]).any()
    if not any_finite.any():
        raise SignalError("every sample is NaN; check the recording (sensor disconnected?)")
    warnings: list[str] = []

    # -- dead / flat channels
    rng = stats.range
    channel_ok = (rng > 0) & (rng >= params.dead_range_fraction * rng.max())
    if not channel_ok.any():
        raise SignalError(
            f"all {k} channel(s) are flat or dead (range {rng.max():g} {unit}); "
            "check that the insole was worn and connected"
        )
    for c in np.flatnonzero(~channel_ok):
        warnings.append(f"channel {c} is flat/dead (range {rng[c]:g} {unit}); excluded from the total load")

    # -- NaN handling (used channels only; each holding NaN/inf is filled as one float64 column)
    used = np.flatnonzero(channel_ok)
    max_gap = int(round(params.max_interp_gap_ms * sampling_rate_hz / 1000.0))
    invalid = np.zeros(n, dtype=bool)
    filled: dict[int, np.ndarray] = {}
    for c in used[~finite_cols[used]]:
        col = v[:, c].astype(np.float64)
        col[np.isinf(col)] = np.nan
        invalid |= np.isnan(col)
        filled[int(c)] = _interpolate_nans(col, max_gap)
        col_max[c] = np.nanmax(col)
    if invalid.any():
        warnings.append(
            f"{int(invalid.sum())} sample(s) were missing (NaN); short runs interpolated, none used for events"
        )

    # -- saturation: runs at the channel's own maximum
    saturated = _saturated(v, used, filled, col_max, stats.n_at_max, params.saturation_min_run)
    if saturated.any():
        warnings.append(f"{100.0 * saturated.mean():.1f}% of samples saturated (sensor at its maximum)")

    # -- total load: float64 sum over the used channels, block by block (same rounding as
    # summing the whole float64 array row by row). Without filled channels the float32 ->
    # float64 conversion happens inside the reduction (numpy's cast buffer): the same
    # pairwise sum of each row while the row fits the buffer, without a converted copy.
    total = np.empty(n)
    pos = {c: i for i, c in enumerate(used)}
    cast_in_reduce = not filled and used.size <= np.getbufsize()
    for sl in colstats.row_blocks(n, used.size):
        blk = v[sl] if used.size == k else v[sl][:, used]
        if cast_in_reduce:
            np.add.reduce(blk, axis=1, dtype=np.float64, out=total[sl])
            continue
        blk = blk.astype(np.float64, copy=bool(filled))
        for c, col in filled.items():
            blk[:, pos[c]] = col[sl]
        total[sl] = blk.sum(axis=1)

    # -- optional low-pass
    if params.lowpass_hz is not None:
        nyq = 0.5 * sampling_rate_hz
        if params.lowpass_hz >= nyq:
            raise SignalError(
                f"lowpass_hz={params.lowpass_hz} must be below the Nyquist frequency {nyq} Hz"
            )
        sos = signal.butter(params.lowpass_order, params.lowpass_hz / nyq, output="sos")
        if n > 3 * (2 * len(sos) + 1):
            total = signal.sosfiltfilt(sos, total)

    # -- baseline
    if params.remove_baseline:
        baseline = lower_envelope(
            total,
            sampling_rate_hz=sampling_rate_hz,
            block_ms=params.baseline_block_ms,
            window_s=params.baseline_window_s,
            quantile=params.baseline_quantile,
            standing_window_s=params.baseline_standing_window_s,
            standing_fraction=params.baseline_standing_fraction,
            standing_max_s=params.baseline_standing_max_s,
        )
    else:
        baseline = np.zeros(n)
    load = total - baseline
    return PreparedLoad(
        load=load,
        invalid=invalid,
        channel_ok=channel_ok,
        saturated=saturated,
        baseline=baseline,
        warnings=warnings,
        unit=unit,
        sensor_baseline=stats.baseline,
    )
