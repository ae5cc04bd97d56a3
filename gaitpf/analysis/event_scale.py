"""The load scale ``S`` of :mod:`gaitpf.analysis.events`: a running typical peak stance load.

The maximum of every ``scale_block_ms`` block, then a centred rolling ``scale_quantile``
over ``scale_window_s``, floored at ``min_scale_fraction`` of the recording-wide value so
quiet stretches do not blow noise up; interpolated linearly to every sample. The pieces are
public so the chunked reader computes the whole record's scale once
(:mod:`gaitpf.batch.chunked`). ``params`` is an :class:`~gaitpf.analysis.events.EventParams`.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from .baseline import _interp_blocks, _rolling_quantile

__all__ = ["scale_block_samples", "block_maxima", "scale_envelope", "load_scale"]


def scale_block_samples(*, sampling_rate_hz: float, params: Any) -> int:
    """Samples per block of the load scale (``scale_block_ms``, at least 1)."""
    return max(1, int(round(params.scale_block_ms * sampling_rate_hz / 1000.0)))


def block_maxima(load: np.ndarray, block: int) -> np.ndarray:
    """Maximum of every ``block`` samples (the last block may be shorter), NaN ignored.

    A block without any finite sample gives 0. No padded copy of ``load`` is made.
    """
    x = np.asarray(load, dtype=np.float64)
    n = len(x)
    full = n // block
    maxima = np.empty(math.ceil(n / block))
    # fmax ignores NaN (NaN only for an all-NaN block), as nanmax does
    np.fmax.reduce(x[: full * block].reshape(full, block), axis=1, out=maxima[:full])
    if full < maxima.size:
        maxima[full] = np.fmax.reduce(x[full * block:])
    return np.where(np.isfinite(maxima), maxima, 0.0)


def scale_envelope(maxima: np.ndarray, *, params: Any) -> np.ndarray:
    """The load scale at each block centre, from the block maxima (same unit).

    Centred rolling ``scale_quantile`` over ``scale_window_s`` of the maxima, floored at
    ``min_scale_fraction`` × their recording-wide ``scale_quantile``. The rolling quantile
    is pandas' ``rolling(win, center=True, min_periods=1).quantile`` bit for bit (the
    fast path of :mod:`gaitpf.analysis.baseline`).
    """
    win = max(1, int(round(params.scale_window_s * 1000.0 / params.scale_block_ms)))
    env = _rolling_quantile(maxima, win, params.scale_quantile)
    overall = float(np.quantile(maxima, params.scale_quantile))
    return np.maximum(env, params.min_scale_fraction * overall)


def load_scale(load: np.ndarray, *, sampling_rate_hz: float, params: Any) -> np.ndarray:
    """Running typical peak stance load, shape (n,), same unit as ``load``.

    Block maxima (``scale_block_ms``, :func:`block_maxima`) → centred rolling
    ``scale_quantile`` over ``scale_window_s``, floored at ``min_scale_fraction`` × the
    recording-wide ``scale_quantile`` of block maxima (:func:`scale_envelope`) →
    interpolated linearly between block centres to every sample (``np.interp``, bit for bit).
    """
    block = scale_block_samples(sampling_rate_hz=sampling_rate_hz, params=params)
    env = scale_envelope(block_maxima(load, block), params=params)
    return _interp_blocks(len(load), block, env)
