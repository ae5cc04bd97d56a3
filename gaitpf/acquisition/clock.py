"""Map each insole's sample counter to the common host time base.

Each insole samples on its own 32.768 kHz crystal (±50 ppm); the host timestamps packets
when they arrive. For a packet whose newest frame was sampled at device time ``x`` (seconds,
``counter / nominal_rate_hz``) and received at host time ``h``::

    h - x = offset(x) + latency,    latency >= 0

where ``offset(x)`` is nearly linear (slope ≈ −drift) and the latency (waiting for the next
connection event, 7.5–30 ms, then radio/stack/OS delays, a long tail, bursts after a
reconnect) is never negative. So ``offset`` is the **lower envelope** of the points
``(x, h − x)``. The fit:

1. keep the minimum of ``h − x`` per ``bin_s`` of device time (cheap, incremental, O(1)
   memory per bin; one packet in a bin that met a connection event right after sampling is
   enough);
2. take the lower convex hull of the bin minima in a window and use its *supporting line at
   the window centre* — the solution of the linear programme
   ``min Σ (y_i − a − b x_i)  s.t.  y_i ≥ a + b x_i`` (the line under all points, as high as
   possible in the middle). Unlike a least-squares or Theil–Sen line through the minima it is
   not biased by the connection-interval phase, which makes the per-bin minima a sawtooth that
   only now and then touches the true floor.

:class:`ClockMapper` does this incrementally (refit every ``refit_every_bins`` bins over the
last ``window_s``), :func:`fit_clock` offline on a finished file (piecewise-linear through
overlapping windows, following slow temperature drift of the crystal).

The aligned time of a sample is ``x + offset(x)``: the host time at which it was sampled,
plus the minimum link latency (a constant of a few hundred µs shared by both feet).

Accuracy (``tests/test_clock.py``, ``benchmarks/bench_protocol_clock.py``; ±50 ppm crystals plus
warm-up drift, CI 7.5 ms vs 30 ms, exponential + Pareto-tail jitter, reconnect bursts): the
real-time mapping needs about two periods of the connection-event phase sawtooth
(``gcd(CI, packet period) / |drift|``, 50–200 s at ±50 ppm) to converge — errors up to ~10 ms
before — and then keeps the left/right error below 1 ms; the offline fit is below 1 ms from the
first minute. A recorder should therefore re-map ``time_s`` of a finished file with
``fit_clock(sample_counter, host_time_s, nominal_rate_hz).map(sample_counter)`` (per-frame
arrays work: the newest frame of each packet carries the envelope).

Host stalls. When the host stops reading (the recorder process is stopped or suspended, the
machine is overloaded) the packets sampled meanwhile wait in the OS/BlueZ buffers and arrive
together when it resumes: every packet of those bins is seconds late. They lie far above the
envelope, so the lower hull is not moved by them (an upper outlier can never support a line
that lies below all points), but a 95th percentile over all bins would report the stall as
link jitter (7 s after a 7-s SIGSTOP). A bin whose smallest latency above the fitted envelope
exceeds ``late_ms`` (250 ms: 8× the longest connection interval the insoles use, 30 ms; a live
link delivers at least one packet of each 1-s bin within a connection interval or two) is
therefore a *late bin*: counted in :attr:`ClockFit.n_late_bins` and left out of
``residual_ms``. Reconnect bursts (packets buffered during a 2–5 s outage) are late bins too.

Limits: the envelope is one-way. If the device and host clocks agree to ≪ 1 ppm *and* the
packet period and connection interval are commensurate, the phase sweeps too slowly and each
insole keeps a bias up to ``gcd(CI, packet period)`` (see firmware_notes/protocol.md §5). A
concave bend of the offset (drift increasing by Δ within a window) is bridged by the hull
with a bias ≤ Δ·window/8.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["ClockFit", "ClockMapper", "fit_clock", "lower_envelope_line", "LATE_MS"]


@dataclass(frozen=True)
class ClockFit:
    """A fitted device→host clock mapping (piecewise linear in device time).

    Attributes
    ----------
    nominal_rate_hz : float
        The device's nominal sampling rate (counter ticks per device second).
    knots_device_s, knots_offset_s : ndarray
        Knots of ``offset(x) = host − device`` (s); linear between knots, extrapolated with
        the end segments' slopes.
    drift_ppm : float
        Device clock rate error: the device counts ``nominal_rate_hz · (1 + drift)`` per host
        second (positive = device fast).
    offset_s : float
        Host time at device counter 0 (from the overall line).
    residual_ms : float
        95th percentile of the per-bin minimum latency above the fitted envelope (ms): the
        connection-interval phase plus jitter; a quality figure, not the alignment error.
    n_packets : int
        Packets the fit used.
    n_late_bins : int
        Envelope bins whose smallest latency exceeded ``late_ms`` (host stall, burst after a
        reconnect); left out of ``residual_ms`` (see the module docstring).
    """

    nominal_rate_hz: float
    knots_device_s: np.ndarray
    knots_offset_s: np.ndarray
    drift_ppm: float
    offset_s: float
    residual_ms: float
    n_packets: int
    n_late_bins: int = 0

    def device_time_s(self, counters: np.ndarray) -> np.ndarray:
        """``counters / nominal_rate_hz`` (float64 seconds)."""
        return np.asarray(counters, dtype=np.float64) / self.nominal_rate_hz

    def offset_at(self, device_s: np.ndarray) -> np.ndarray:
        """``offset(x)`` (host − device, s) at device times ``device_s``."""
        x = np.asarray(device_s, dtype=np.float64)
        kx, ky = self.knots_device_s, self.knots_offset_s
        if kx.size == 1:
            return np.full_like(x, ky[0])
        if kx.size == 2:   # the real-time fit: one line (extrapolated both ways)
            k0, y0 = float(kx[0]), float(ky[0])
            return y0 + ((float(ky[1]) - y0) / (float(kx[1]) - k0)) * (x - k0)
        i = np.clip(np.searchsorted(kx, x, side="right") - 1, 0, kx.size - 2)
        slope = (ky[i + 1] - ky[i]) / (kx[i + 1] - kx[i])
        return ky[i] + slope * (x - kx[i])

    def map(self, counters: np.ndarray) -> np.ndarray:
        """Aligned host time (s) of frames with these (unwrapped) counters."""
        x = self.device_time_s(counters)
        return x + self.offset_at(x)


def _lower_hull(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the lower convex hull of points sorted by strictly increasing x."""
    hull: list[int] = []
    xs, ys = x.tolist(), y.tolist()
    for i in range(len(xs)):  # one iteration per bin (≈1 s of data), not per sample
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            if (xs[a] - xs[o]) * (ys[i] - ys[o]) - (ys[a] - ys[o]) * (xs[i] - xs[o]) <= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    return np.asarray(hull, dtype=np.int64)


def lower_envelope_line(x: np.ndarray, y: np.ndarray, x_star: float, *,
                        max_abs_slope: float = math.inf) -> tuple[float, float]:
    """Supporting line of the lower convex hull of ``(x, y)`` at ``x_star``.

    Returns ``(value_at_x_star, slope)``: the line below every point that is highest at
    ``x_star`` (the LP lower-envelope fit). ``x`` must be strictly increasing. With
    ``max_abs_slope`` the slope is clipped (a physically impossible drift) and the line is the
    highest one with that slope below every point.
    """
    if x.size == 1:
        return float(y[0]), 0.0
    h = _lower_hull(x, y)
    hx, hy = x[h], y[h]
    i = int(np.clip(np.searchsorted(hx, x_star, side="right") - 1, 0, h.size - 2))
    slope = float((hy[i + 1] - hy[i]) / (hx[i + 1] - hx[i]))
    if abs(slope) > max_abs_slope:
        slope = math.copysign(max_abs_slope, slope)
        return float(np.min(hy - slope * (hx - x_star))), slope
    return float(hy[i] + slope * (x_star - hx[i])), slope


def _bin_minima(x: np.ndarray, y: np.ndarray, bin_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bin of ``bin_s``: (bin id, x, y) of the point with the smallest y, sorted by id."""
    ids = np.floor(x / bin_s).astype(np.int64)
    order = np.lexsort((y, ids))
    ids_s = ids[order]
    first = np.flatnonzero(np.concatenate([[True], ids_s[1:] != ids_s[:-1]]))
    pick = order[first]
    return ids_s[first], x[pick], y[pick]


def _observations(counters, host_times_s, n_frames, nominal_rate_hz) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(counters, dtype=np.float64)
    h = np.asarray(host_times_s, dtype=np.float64)
    if c.shape != h.shape:
        raise ValueError(f"counters {c.shape} and host_times_s {h.shape} differ in shape")
    if n_frames is not None:
        c = c + (np.asarray(n_frames, dtype=np.float64) - 1.0)
    x = c / nominal_rate_hz
    ok = np.isfinite(x) & np.isfinite(h)
    return x[ok], (h - x)[ok]


#: Default ``late_ms``: a bin this far above the envelope is a host stall, not link jitter.
LATE_MS = 250.0


def _make_fit(nominal_rate_hz, kx, ky, bx, by, n_packets, late_ms=LATE_MS) -> ClockFit:
    kx, ky = np.asarray(kx, float), np.asarray(ky, float)
    b = float((ky[-1] - ky[0]) / (kx[-1] - kx[0])) if kx.size > 1 else 0.0
    fit = ClockFit(nominal_rate_hz, kx, ky, (1.0 / (1.0 + b) - 1.0) * 1e6, float(ky[0] - b * kx[0]),
                   0.0, int(n_packets))
    resid = by - fit.offset_at(bx)
    late = resid > late_ms * 1e-3
    n_late = int(late.sum())
    on_time = resid[~late] if n_late < resid.size else resid   # all late: report them rather than nothing
    p95 = float(np.percentile(on_time, 95)) * 1e3 if on_time.size else 0.0
    return ClockFit(fit.nominal_rate_hz, kx, ky, fit.drift_ppm, fit.offset_s, p95, fit.n_packets, n_late)


def fit_clock(counters: np.ndarray, host_times_s: np.ndarray, nominal_rate_hz: float, *,
              n_frames: np.ndarray | int | None = None, bin_s: float = 1.0,
              window_s: float = 600.0, max_drift_ppm: float = 300.0, late_ms: float = LATE_MS) -> ClockFit:
    """Fit a device clock offline from all (packet counter, host receive time) pairs.

    Parameters
    ----------
    counters : array of int, shape (n,)
        Unwrapped counter of each packet's first frame (or of each frame).
    host_times_s : array of float, shape (n,)
        Host receive time of each packet (s, monotonic clock).
    nominal_rate_hz : float
        Nominal sampling rate of the device (its identity), Hz.
    n_frames : int or array, optional
        Frames per packet: the packet could only leave after its newest frame, so the fit
        uses ``counter + n_frames − 1``. Omit when passing per-frame counters.
    bin_s, window_s : float
        Envelope bin width and the window of each local linear piece (knots every
        ``window_s / 2``; one line when the recording is shorter than ``window_s``).
    max_drift_ppm : float
        Largest believable drift; steeper envelope pieces (too little data, a latency floor
        that changed) are clipped to it.
    late_ms : float
        Bins whose smallest latency above the envelope exceeds this (ms) are late (host stall)
        and left out of ``residual_ms``.

    Returns
    -------
    ClockFit
    """
    if not (nominal_rate_hz > 0 and bin_s > 0 and window_s > 2 * bin_s):
        raise ValueError("nominal_rate_hz and bin_s must be > 0 and window_s > 2 * bin_s")
    x, y = _observations(counters, host_times_s, n_frames, nominal_rate_hz)
    if x.size == 0:
        raise ValueError("fit_clock needs at least one (counter, host time) pair")
    _, bx, by = _bin_minima(x, y, bin_s)
    lo, hi = float(bx[0]), float(bx[-1])
    if hi - lo <= window_s:
        mid = 0.5 * (lo + hi)
        v, b = lower_envelope_line(bx, by, mid, max_abs_slope=max_drift_ppm * 1e-6)
        kx = np.array([lo, hi]) if hi > lo else np.array([lo])
        return _make_fit(nominal_rate_hz, kx, v + b * (kx - mid), bx, by, x.size, late_ms)
    n_k = int(math.ceil((hi - lo) / (window_s / 2))) + 1
    kx = np.linspace(lo, hi, n_k)
    ky = np.empty(n_k)
    for j, k in enumerate(kx):  # one local fit per knot (every window_s / 2)
        w0 = min(max(k - window_s / 2, lo), hi - window_s)
        sel = (bx >= w0) & (bx <= w0 + window_s)
        mid = w0 + window_s / 2
        v, b = lower_envelope_line(bx[sel], by[sel], mid, max_abs_slope=max_drift_ppm * 1e-6)
        ky[j] = v + b * (k - mid)
    return _make_fit(nominal_rate_hz, kx, ky, bx, by, x.size, late_ms)


class ClockMapper:
    """Incremental device→host clock mapping for one insole (see the module docstring).

    Parameters
    ----------
    nominal_rate_hz : float
        Nominal sampling rate (from the device identity).
    bin_s : float
        Width of the envelope bins in device seconds.
    window_s : float
        Only the last ``window_s`` of bins are fitted (bounded memory and cost; follows slow
        temperature drift).
    refit_every_bins : int
        Refit after this many new bins (the fit is a hull over ≤ window_s / bin_s points).
    max_drift_ppm : float
        Largest believable drift (slopes are clipped to it).
    late_ms : float
        Late-bin threshold of ``residual_ms`` (see the module docstring).

    Notes
    -----
    A new fit is not applied as a step: frames newer than the newest packet seen at the refit
    are mapped with a blend that moves linearly from the previous fit to the new one over the
    next ``(refit_every_bins − 1) · bin_s`` device seconds (slewing, as NTP does), and older frames keep
    the previous fit. Mapped times of increasing counters therefore stay increasing even when a
    refit moves the offset by milliseconds (rate change ≤ Δoffset / slew time).
    """

    def __init__(self, nominal_rate_hz: float, *, bin_s: float = 1.0, window_s: float = 600.0,
                 refit_every_bins: int = 5, max_drift_ppm: float = 300.0, late_ms: float = LATE_MS) -> None:
        if not (nominal_rate_hz > 0 and bin_s > 0 and window_s > 2 * bin_s and refit_every_bins >= 1):
            raise ValueError("ClockMapper needs nominal_rate_hz, bin_s > 0, window_s > 2 bin_s, refit_every_bins >= 1")
        self.nominal_rate_hz = float(nominal_rate_hz)
        self.bin_s = float(bin_s)
        self.window_s = float(window_s)
        self.refit_every_bins = int(refit_every_bins)
        self.max_drift_ppm = float(max_drift_ppm)
        self.late_ms = float(late_ms)
        self._max_bins = int(math.ceil(window_s / bin_s)) + 1
        self._slew_s = max(1, self.refit_every_bins - 1) * self.bin_s  # done before the next refit
        self.reset()

    def reset(self) -> None:
        """Forget everything (after a device reset restarted its counter)."""
        self._ids = np.zeros(0, np.int64)  # closed bins (id, x, y), ascending ids
        self._bx = np.zeros(0)
        self._by = np.zeros(0)
        self._open: tuple[int, float, float] | None = None
        self._new_bins = 0
        self._n_packets = 0
        self._fit: ClockFit | None = None
        self._prev: ClockFit | None = None  # fit before the last refit (slewed from)
        self._x_max = -math.inf  # newest device time seen (s)
        self._switch_x = -math.inf  # device time from which the last refit applies

    @property
    def n_packets(self) -> int:
        return self._n_packets

    def add(self, counters: np.ndarray, host_times_s: np.ndarray, *,
            n_frames: np.ndarray | int | None = None) -> None:
        """Feed packets: first-frame counters (unwrapped), receive times (s), frames per packet."""
        if self._open is not None and self._fit is not None and getattr(counters, "shape", None) == (1,):
            if self._add_one(counters, host_times_s, n_frames):
                return
        x, y = _observations(counters, host_times_s, n_frames, self.nominal_rate_hz)
        if x.size == 0:
            return
        self._n_packets += int(x.size)
        self._x_max = max(self._x_max, float(x.max()))
        ids, bx, by = _bin_minima(x, y, self.bin_s)
        if self._open is not None:
            oid, ox, oy = self._open
            keep = ids >= oid  # points of already closed bins are late arrivals: high latency anyway
            ids, bx, by = ids[keep], bx[keep], by[keep]
            if ids.size == 0:
                return
            if ids[0] == oid:
                if by[0] > oy:
                    bx[0], by[0] = ox, oy
            else:
                ids, bx, by = np.r_[oid, ids], np.r_[ox, bx], np.r_[oy, by]
        n_closed = ids.size - 1
        if n_closed:
            self._ids = np.concatenate([self._ids, ids[:-1]])[-self._max_bins:]
            self._bx = np.concatenate([self._bx, bx[:-1]])[-self._max_bins:]
            self._by = np.concatenate([self._by, by[:-1]])[-self._max_bins:]
            self._new_bins += n_closed
        self._open = (int(ids[-1]), float(bx[-1]), float(by[-1]))
        if self._fit is None or self._new_bins >= self.refit_every_bins:
            self._refit()

    def _add_one(self, counters, host_times_s, n_frames) -> bool:
        """Scalar fast path of :meth:`add` for one packet in the open (or an older) bin — the
        usual case while streaming; returns False when the general path is needed."""
        if n_frames is None:
            nf = 1.0
        elif isinstance(n_frames, np.ndarray):
            if n_frames.size != 1:
                return False
            nf = float(n_frames.reshape(-1)[0])
        else:
            nf = float(n_frames)
        h = host_times_s
        if getattr(h, "shape", None) != (1,):
            return False
        x = (float(counters[0]) + (nf - 1.0)) / self.nominal_rate_hz
        y = float(h[0]) - x
        if not (math.isfinite(x) and math.isfinite(y)):
            return True   # ignored, as in the general path
        oid, ox, oy = self._open
        bid = math.floor(x / self.bin_s)
        if bid > oid:
            return False  # closes the open bin: general path
        self._n_packets += 1
        if x > self._x_max:
            self._x_max = x
        if bid == oid and y < oy:
            self._open = (oid, x, y)
        return True

    def _refit(self) -> None:
        oid, ox, oy = self._open
        bx, by = np.r_[self._bx, ox], np.r_[self._by, oy]
        sel = bx >= bx[-1] - self.window_s
        bx, by = bx[sel], by[sel]
        lo, hi = float(bx[0]), float(bx[-1])
        mid = 0.5 * (lo + hi)
        v, b = lower_envelope_line(bx, by, mid, max_abs_slope=self.max_drift_ppm * 1e-6)
        kx = np.array([lo, hi]) if hi > lo else np.array([lo])
        if self._fit is not None:
            self._prev, self._switch_x = self._fit, self._x_max
        self._fit = _make_fit(self.nominal_rate_hz, kx, v + b * (kx - mid), bx, by, self._n_packets, self.late_ms)
        self._new_bins = 0

    def fit(self) -> ClockFit:
        """Refit now over the window and return the fit (it is slewed in like any refit)."""
        if self._open is None:
            raise ValueError("ClockMapper.fit: no packets were added yet")
        self._refit()
        return self._fit

    @property
    def current(self) -> ClockFit | None:
        """The last fit, or None before the first packet."""
        return self._fit

    @property
    def drift_ppm(self) -> float:
        return self._fit.drift_ppm if self._fit else 0.0

    @property
    def offset_s(self) -> float:
        return self._fit.offset_s if self._fit else math.nan

    @property
    def residual_ms(self) -> float:
        return self._fit.residual_ms if self._fit else math.nan

    def device_time_s(self, counters: np.ndarray) -> np.ndarray:
        """``counters / nominal_rate_hz`` (float64 seconds)."""
        return np.asarray(counters, dtype=np.float64) / self.nominal_rate_hz

    def map(self, counters: np.ndarray) -> np.ndarray:
        """Aligned host time (s) of frames with these counters (current fit, slewed; see Notes)."""
        if self._fit is None:
            raise ValueError("ClockMapper.map: add() packets before mapping counters")
        x = self.device_time_s(counters)
        if self._prev is None:
            return x + self._fit.offset_at(x)
        if x.size and float(x.min()) >= self._switch_x + self._slew_s:   # slew finished
            return x + self._fit.offset_at(x)
        w = np.clip((x - self._switch_x) / self._slew_s, 0.0, 1.0)
        return x + (1.0 - w) * self._prev.offset_at(x) + w * self._fit.offset_at(x)
