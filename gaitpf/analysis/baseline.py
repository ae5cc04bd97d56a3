"""Running lower envelope of a total-load signal: the swing floor that preprocessing subtracts.

Block minima (``block_ms``) → keep the blocks in the lowest ``quantile`` of a centred
``window_s`` window (swing blocks) → centred rolling median of their minima (unbiased
under a linear drift) → linear interpolation back to every sample. See step 5 of
:mod:`gaitpf.analysis.preprocess` for why (drifting FSR insoles, PhysioNet gaitndd
control5/park5).

The rolling quantile and the interpolation use faster equivalents of pandas/numpy
(``scipy.ndimage.rank_filter``, a regular-grid ``np.interp``) that give the same bits;
``tests/test_analysis_fastpaths.py`` checks them against the plain versions.
Reference: Pataky TC (2012), lower-envelope baseline of pressure insoles.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import ndimage

__all__ = ["lower_envelope"]


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


def lower_envelope(
    x: np.ndarray, *, sampling_rate_hz: float, block_ms: float, window_s: float, quantile: float
) -> np.ndarray:
    """Running lower envelope of ``x`` (same unit), shape (n,).

    Block minima (``block_ms``) → keep the blocks in the lowest ``quantile`` of a centred
    ``window_s`` window (swing blocks) → centred rolling median of those → linear
    interpolation to every sample.
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
    # blocks whose minimum is in the lowest `quantile` of the window are swing blocks;
    # the floor is the median of their minima (unbiased under a linear drift)
    upper = _rolling_quantile(mins, win, quantile)
    swing = series.where(mins <= upper)
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
