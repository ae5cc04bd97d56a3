"""Running lower envelope of a total-load signal: the swing floor that preprocessing subtracts.

Block minima (``block_ms``) → keep the blocks in the lowest ``quantile`` of a centred
``window_s`` window (swing blocks) → centred rolling median of their minima (unbiased
under a linear drift) → linear interpolation back to every sample. See step 5 of
:mod:`gaitpf.analysis.preprocess` for why (drifting FSR insoles, PhysioNet gaitndd
control5/park5).

The rolling quantile and the interpolation use faster equivalents of pandas/numpy
(``scipy.ndimage.rank_filter``, a regular-grid ``np.interp``) that give the same bits;
``tests/test_analysis_fastpaths.py`` checks them against the plain versions.
Standing (and any other quiet stretch) is left out of the swing blocks: while walking, a
foot unloads to its swing floor at least once per stride, so the load range (maximum −
minimum) over any ``standing_window_s`` window (3 s, longer than the slowest stride) is
about the stance amplitude ``A``; while standing it is only the postural sway. A window
whose range is below ``standing_fraction`` × ``A`` is *quiet*, and every block of a quiet
window is a standing block. ``A`` is the recording-wide 90th percentile of the window
ranges (the typical walking amplitude; :func:`walking_amplitude`, passed in by the chunked
reader so each chunk uses the whole record's value). Runs of standing blocks up to
``standing_max_s`` long are excluded, and the floor is interpolated across them from the
swing blocks on either side; without this a standing period of 3–100 s lifts the 10 s
envelope to the standing load, which fakes toe-off/contact pairs inside the standing and
hides the real steps next to it. Longer quiet runs (sitting, long standing) keep their own
floor, so the envelope stays local (bounded context for the chunked analysis).

Reference: Pataky TC (2012), lower-envelope baseline of pressure insoles.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import ndimage

__all__ = ["lower_envelope", "walking_amplitude", "standing_blocks"]

#: Percentile of the window ranges taken as the walking amplitude ``A``.
AMPLITUDE_QUANTILE = 0.9


def _rolling_quantile(x: np.ndarray, win: int, quantile: float) -> np.ndarray:
    """``pd.Series(x).rolling(win, center=True, min_periods=1).quantile(quantile)`` (linear), bit for bit.

    For a NaN-free ``x`` the full windows come from two ``scipy.ndimage.rank_filter``
    passes (order statistics ``⌊q·(win − 1)⌋`` and the next, same centring) combined with
    pandas' own interpolation ``low + (high − low)·frac``; the ``win/2`` edge windows on
    each side (fewer values) are left to pandas. Otherwise pandas does everything.
    """
    def by_pandas(a: np.ndarray) -> np.ndarray:
        return pd.Series(a).rolling(win, center=True, min_periods=1).quantile(quantile).to_numpy()

    nb = x.size
    if nb <= 2 * win or np.isnan(x).any():
        return by_pandas(x)
    left = win // 2
    right = win - 1 - left                    # pandas' centred window: [i − left, i + right]
    pos = quantile * (win - 1)
    lo = int(pos)
    out = ndimage.rank_filter(x, lo, size=win)
    if pos != lo:
        high = ndimage.rank_filter(x, lo + 1, size=win)
        out = out + (high - out) * (pos - lo)
    out[:left] = by_pandas(x[:win])[:left]
    if right:
        out[nb - right:] = by_pandas(x[nb - win:])[win - right:]
    return out


def _block_extrema(x: np.ndarray, block: int, mins: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Finite-filled block minima and maxima (for the window ranges; NaN → median).

    ``mins``: the block minima when already known (NaN-free input)."""
    n = len(x)
    n_blocks = math.ceil(n / block)
    full = n // block
    if mins is not None and not np.isnan(mins).any():
        hi = np.empty(n_blocks)
        np.maximum.reduce(x[: full * block].reshape(full, block), axis=1, out=hi[:full])
        if full < n_blocks:
            hi[full] = np.max(x[full * block:])
        return mins, hi
    padded = np.full(n_blocks * block, np.nan)
    padded[:n] = x
    grid = padded.reshape(n_blocks, block)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanmin(grid, axis=1), np.nanmax(grid, axis=1)
        fill = np.nanmedian(lo) if np.isfinite(lo).any() else 0.0
    return np.where(np.isfinite(lo), lo, fill), np.where(np.isfinite(hi), hi, fill)


def _window_ranges(lo: np.ndarray, hi: np.ndarray, size: int) -> np.ndarray:
    """Max − min over centred windows of ``size`` blocks (``scipy.ndimage`` filters, edges nearest)."""
    return ndimage.maximum_filter1d(hi, size, mode="nearest") - ndimage.minimum_filter1d(lo, size, mode="nearest")


def walking_amplitude(x: np.ndarray, *, sampling_rate_hz: float, block_ms: float, standing_window_s: float) -> float:
    """Typical walking amplitude ``A`` of a whole record: the 90th percentile of the load
    range over centred ``standing_window_s`` windows (same unit as ``x``)."""
    block = max(1, int(round(block_ms * sampling_rate_hz / 1000.0)))
    size = max(1, int(round(standing_window_s * 1000.0 / block_ms)))
    lo, hi = _block_extrema(np.asarray(x, dtype=np.float64), block)
    return float(np.quantile(_window_ranges(lo, hi, size), AMPLITUDE_QUANTILE)) if lo.size else 0.0


def standing_blocks(
    lo: np.ndarray, hi: np.ndarray, *, size: int, amplitude: float, fraction: float, max_blocks: int
) -> np.ndarray:
    """Blocks to leave out of the swing floor: every block of a quiet window (range below
    ``fraction`` × ``amplitude``), in quiet runs of at most ``max_blocks`` blocks."""
    if not amplitude > 0:
        return np.zeros(lo.size, bool)
    quiet = _window_ranges(lo, hi, size) < fraction * amplitude
    standing = ndimage.maximum_filter1d(quiet.astype(np.uint8), size, mode="constant").astype(bool)
    d = np.diff(np.concatenate([[0], standing.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    for a, b in zip(starts, ends):
        if b - a > max_blocks:
            standing[a:b] = False
    return standing


def lower_envelope(
    x: np.ndarray, *, sampling_rate_hz: float, block_ms: float, window_s: float, quantile: float,
    standing_window_s: float | None = None, standing_fraction: float = 0.25, standing_max_s: float = 120.0,
    amplitude: float | None = None,
) -> np.ndarray:
    """Running lower envelope of ``x`` (same unit), shape (n,).

    Block minima (``block_ms``) → keep the blocks in the lowest ``quantile`` of a centred
    ``window_s`` window (swing blocks), leaving out standing blocks when
    ``standing_window_s`` is given (``amplitude``: the whole record's
    :func:`walking_amplitude`, computed from ``x`` when None) → centred rolling median of
    those → linear interpolation to every sample.
    """
    n = len(x)
    block = max(1, int(round(block_ms * sampling_rate_hz / 1000.0)))
    n_blocks = math.ceil(n / block)
    full = n // block
    mins = np.empty(n_blocks)
    grid = np.asarray(x[: full * block], dtype=np.float64).reshape(full, block)
    if block <= 64:  # a few long strided passes beat one short reduction per block
        np.copyto(mins[:full], grid[:, 0])
        for j in range(1, block):
            np.minimum(mins[:full], grid[:, j], out=mins[:full])
    else:
        np.minimum.reduce(grid, axis=1, out=mins[:full])
    if full < n_blocks:
        mins[full] = np.min(x[full * block:])
    if np.isnan(mins).any():  # NaN samples: the minimum of the others (NaN for all-NaN blocks)
        padded = np.full(n_blocks * block, np.nan)
        padded[:n] = x
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mins = np.nanmin(padded.reshape(n_blocks, block), axis=1)
    win = max(1, int(round(window_s * 1000.0 / block_ms)))
    series = pd.Series(mins)
    standing = np.zeros(n_blocks, bool)
    if standing_window_s is not None and n_blocks > 1:
        size = max(1, int(round(standing_window_s * 1000.0 / block_ms)))
        lo, hi = _block_extrema(np.asarray(x, dtype=np.float64), block, mins)
        amp = (float(np.quantile(_window_ranges(lo, hi, size), AMPLITUDE_QUANTILE))
               if amplitude is None else float(amplitude))
        standing = standing_blocks(lo, hi, size=size, amplitude=amp, fraction=standing_fraction,
                                   max_blocks=int(round(standing_max_s * 1000.0 / block_ms)))
    # blocks whose minimum is in the lowest `quantile` of the window are swing blocks;
    # the floor is the median of their minima (unbiased under a linear drift)
    ranked = np.where(standing, np.nanmax(mins) + 1.0, mins) if standing.any() else mins   # ranked above all
    upper = _rolling_quantile(ranked, win, quantile)
    swing = series.where((mins <= upper) & ~standing)
    env = swing.rolling(win, center=True, min_periods=1).median().interpolate(limit_direction="both")
    env = env.fillna(series.min()).to_numpy()
    return _interp_blocks(n, block, env)


def _interp_blocks(n: int, block: int, env: np.ndarray) -> np.ndarray:
    """``np.interp(arange(n), centres, env)`` for block centres ``j·block + h``, bit for bit.

    Between two centres the samples sit at the same offsets ``h' + 0…block − 1`` from the
    left centre, so numpy's formula ``slope_j·(x − x_j) + y_j`` (slopes
    ``(y_{j+1} − y_j)/(x_{j+1} − x_j)``) is evaluated on a (blocks × block) grid; before the
    first / from the last centre the end values are held, as ``np.interp`` does.
    """
    h = 0.5 * (min(block, n) - 1)
    centres = np.arange(env.size) * block + h
    if env.size < 2 or not np.isfinite(env).all():
        return np.interp(np.arange(n), centres, env)
    first = int(np.floor(h)) + 1                    # first sample after the first centre
    offs = np.arange(first, first + block) - h      # exact (integers and halves)
    slopes = (env[1:] - env[:-1]) / (centres[1:] - centres[:-1])
    out = np.empty(n)
    n_full = min(env.size - 1, max(n - first, 0) // block)   # intervals whose samples all exist
    grid = out[first: first + block * n_full].reshape(n_full, block)
    np.multiply(slopes[:n_full, None], offs[None, :], out=grid)
    grid += env[:n_full, None]
    if offs[-1] == block:                           # odd blocks: samples exactly at the centres
        grid[:, -1] = env[1: n_full + 1]
    out[:first] = env[0]
    tail = first + block * n_full
    if n_full < env.size - 1:                       # the signal ends inside interval n_full
        out[tail:] = slopes[n_full] * (np.arange(tail, n) - centres[n_full]) + env[n_full]
    else:                                           # after the last centre: held
        out[tail:] = env[-1]
    return out
