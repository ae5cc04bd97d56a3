"""Thread-safe ring buffer of recent frames per foot, with online events and running metrics.

Pure of Qt: the acquisition side (a worker thread) calls :meth:`LiveBuffer.push` /
:meth:`LiveBuffer.push_event`; the GUI pulls :meth:`LiveBuffer.snapshot` on a timer.

The online stance detection and the running stride metrics (the same offline code on a
sliding window) live in :mod:`gaitpf.live.online`, which :class:`LiveBuffer` inherits.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..analysis import AnalysisParams
from ..errors import SignalError
from ..model import QUALITY_GAP_BEFORE, SIDES, SensorLayout
from .online import OnlineAnalysis

__all__ = ["LiveBuffer", "LiveSnapshot", "SideView"]

log = logging.getLogger(__name__)


class _Ring:
    """Linear buffer with compaction: the last ``capacity`` frames are one contiguous slice."""

    def __init__(self, capacity: int, n_sensors: int) -> None:
        self.capacity = int(capacity)
        size = 2 * self.capacity
        self.values = np.zeros((size, n_sensors), np.float32)
        self.time_s = np.zeros(size)
        self.total = np.zeros(size)
        self.gap_cum = np.zeros(size, np.int64)  # gap flags among all samples <= this one
        self.arrival = np.zeros(size)
        self.end = 0          # one past the last written row
        self.n_total = 0      # frames ever pushed (absolute index of the next frame)

    @property
    def start(self) -> int:
        return max(0, self.end - self.capacity)

    def append(self, values: np.ndarray, time_s: np.ndarray, total: np.ndarray, gap: np.ndarray,
               arrival: np.ndarray) -> None:
        m = len(time_s)
        if m > self.capacity:
            values, time_s, total, gap, arrival = (a[-self.capacity:] for a in (values, time_s, total, gap, arrival))
            skipped = m - self.capacity
            self.n_total += skipped
            m = self.capacity
        if self.end + m > len(self.time_s):
            keep = min(self.end, self.capacity - m)
            lo = self.end - keep
            for arr in (self.values, self.time_s, self.total, self.gap_cum, self.arrival):
                arr[:keep] = arr[lo:self.end]
            self.end = keep
        last_cum = self.gap_cum[self.end - 1] if self.end else 0
        sl = slice(self.end, self.end + m)
        self.values[sl] = values
        self.time_s[sl] = time_s
        self.total[sl] = total
        self.gap_cum[sl] = last_cum + np.cumsum(gap.astype(np.int64))
        self.arrival[sl] = arrival
        self.end += m
        self.n_total += m

    def last(self, m: int) -> slice:
        m = min(int(m), self.end - self.start)
        return slice(self.end - m, self.end)

    def row_of(self, abs_idx: int) -> int:
        """Buffer row of absolute frame index ``abs_idx`` (must still be buffered)."""
        return self.end - (self.n_total - int(abs_idx))


@dataclass
class SideView:
    """What the GUI draws for one foot (copies, safe to use without the lock)."""

    time_s: np.ndarray            # (m,) aligned time of the recent frames, s
    total: np.ndarray             # (m,) total force/load (sum of the sensors), unit of the foot
    latest: np.ndarray | None     # (k,) readings of the newest frame
    cop_x_mm: np.ndarray          # COP trail of the current (or last) step, mm
    cop_y_mm: np.ndarray
    ic_s: np.ndarray              # confirmed initial contacts in the shown span, s
    to_s: np.ndarray              # confirmed toe-offs in the shown span, s
    provisional_ic_s: np.ndarray  # found but not yet confirmed (may still move), s
    provisional_to_s: np.ndarray
    frames: int
    lost_frames: int
    gaps: int
    link: str
    battery_pct: float | None


@dataclass
class LiveSnapshot:
    """A consistent copy of the buffer for one redraw."""

    sides: dict[str, SideView]
    metrics: dict[str, Any]
    now_s: float                  # newest aligned time over both feet, s
    elapsed_s: float              # wall-clock time since the first frame, s
    messages: list[tuple[str, str]]  # (level, text), newest last
    link_down: list[str]          # sides whose link is down
    new_arrivals: np.ndarray      # monotonic arrival times of frames not shown before
    unit: str
    metrics_version: int = 0      # bumps when the running metrics were recomputed


@dataclass
class _SideState:
    ring: _Ring
    layout: SensorLayout | None
    last_counter: int | None = None
    lost_frames: int = 0
    gaps: int = 0
    link: str = "idle"
    battery_pct: float | None = None
    channel_ok: np.ndarray | None = None
    channel_checked_at: int = -(10**12)
    detected_at: int = 0
    stances: list[tuple[int, int, float, float, int, int]] = field(default_factory=list)
    provisional: list[tuple[float, float]] = field(default_factory=list)  # (ic_s, to_s) not yet confirmed
    # (ic_idx, to_idx, ic_s, to_s, gap_cum[ic], gap_cum[to]) of confirmed stances
    unseen_from: int = 0          # buffer arrivals not yet handed to the GUI start here (abs idx)


class LiveBuffer(OnlineAnalysis):
    """Recent frames of both feet, online stance detection and running gait metrics.

    Parameters
    ----------
    sampling_rate_hz : float
        Nominal sampling rate of both feet, Hz.
    n_sensors : mapping side -> int
        Sensors per foot (the sides present).
    unit : str
        Unit of the readings ("N", "kPa", "au").
    layouts : mapping side -> SensorLayout or None, optional
        Sensor positions (for the heat map and the centre of pressure).
    body_mass_kg : float, optional
        As in the recording: with a calibrated unit ("N") thresholds scale with body weight,
        exactly as :func:`gaitpf.analysis.analyze` does.
    params : AnalysisParams, optional
    window_s : float
        Sliding detection window (and buffer length), s. Default 12 (longer than the
        10 s baseline window of preprocessing).
    detect_every_s : float
        Re-run the detection after this much new data, s. Default 0.2.
    confirm_s : float, optional
        Data after a toe-off before the stance is confirmed, s. Default: 0.4 s when the
        thresholds scale with body weight (calibrated N and a known body mass), else half
        the longer of the load-scale and baseline windows plus 0.3 s (5.3 s with the
        defaults): the running load scale and swing floor are centred windows, so an
        event matches offline only once that much data follows it. Stances found earlier
        are shown as *provisional*.
    channel_check_s : float
        Re-estimate the usable channels after this much data, s. Default 10.
    n_symmetry_strides : int
        Steady strides per side used for the running symmetry. Default 10.
    """

    def __init__(self, *, sampling_rate_hz: float, n_sensors: Mapping[str, int], unit: str,
                 layouts: Mapping[str, SensorLayout | None] | None = None, body_mass_kg: float | None = None,
                 params: AnalysisParams | None = None, window_s: float = 12.0, detect_every_s: float = 0.2,
                 confirm_s: float | None = None, channel_check_s: float = 10.0, n_symmetry_strides: int = 10) -> None:
        if not (np.isfinite(sampling_rate_hz) and sampling_rate_hz > 0):
            raise SignalError(f"live buffer: sampling_rate_hz must be > 0, got {sampling_rate_hz!r}")
        if not n_sensors or set(n_sensors) - set(SIDES):
            raise SignalError(f"live buffer: sides must be among {SIDES}, got {sorted(n_sensors)}")
        self.fs = float(sampling_rate_hz)
        self.unit = unit
        self.params = params or AnalysisParams()
        self.body_weight_n = (float(body_mass_kg) * 9.80665
                              if body_mass_kg is not None and np.isfinite(body_mass_kg) and unit == "N" else None)
        self.window_n = max(8, int(round(window_s * self.fs)))
        self.detect_every_n = max(1, int(round(detect_every_s * self.fs)))
        if confirm_s is None:
            half = 0.5 * max(self.params.events.scale_window_s, self.params.preprocess.baseline_window_s)
            confirm_s = 0.4 if self.body_weight_n is not None else half + 0.3
        self.confirm_n = max(1, int(round(confirm_s * self.fs)))
        self.window_n = max(self.window_n, self.confirm_n + int(round(2 * self.fs)))
        self.guard_start_n = int(round(max(1.0, 2 * self.params.events.edge_window_ms / 1000.0) * self.fs))
        self.channel_check_n = max(1, int(round(channel_check_s * self.fs)))
        blocks = [max(1, int(round(ms * self.fs / 1000.0)))
                  for ms in (self.params.events.scale_block_ms, self.params.preprocess.baseline_block_ms)]
        self.block_n = int(np.lcm.reduce(blocks))
        # the first detection waits for one baseline window of data: on less, the lower
        # envelope of preprocessing would see only standing and differ from offline
        self.warmup_n = min(self.window_n, int(round(self.params.preprocess.baseline_window_s * self.fs)))
        # before that, provisional events are shown from this much data on (the first strides)
        self.early_n = min(self.warmup_n, int(round(2.0 * self.fs)))
        self.n_symmetry_strides = int(n_symmetry_strides)
        layouts = dict(layouts or {})
        self._sides: dict[str, _SideState] = {
            s: _SideState(ring=_Ring(self.window_n, int(n_sensors[s])), layout=layouts.get(s))
            for s in SIDES if s in n_sensors
        }
        self._lock = threading.Lock()
        self._messages: list[tuple[str, str]] = []
        self._metrics: dict[str, Any] = self._empty_metrics()
        self._t_first: float | None = None
        self.version = 0   # bumps on every change (the GUI skips redraws when unchanged)
        self.metrics_version = 0  # bumps when the running metrics change (the GUI re-renders text then)

    @property
    def sides(self) -> tuple[str, ...]:
        return tuple(self._sides)

    # ----------------------------------------------------------------- producer side
    def push(self, side: str, values: np.ndarray, *, time_s: np.ndarray, sample_counter: np.ndarray | None = None,
             quality: np.ndarray | None = None, battery_pct: float | None = None,
             arrival_monotonic: float | np.ndarray | None = None) -> None:
        """Append frames of one foot (called by the acquisition thread, never by Qt).

        Frames whose counter does not increase are dropped (as the recorder does), so the
        absolute frame index here equals the sample index in the recorded file.
        """
        st = self._sides.get(side)
        if st is None:
            return
        v = np.asarray(values, dtype=np.float32)
        if v.ndim == 1:
            v = v[:, None]
        m = v.shape[0]
        if m == 0:
            return
        if m > self.detect_every_n:  # big blocks (attach, catch-up): detect as if they came in pieces
            arr_all = arrival_monotonic if np.ndim(arrival_monotonic) == 0 else np.asarray(arrival_monotonic)
            for lo in range(0, m, self.detect_every_n):
                sl = slice(lo, lo + self.detect_every_n)
                self.push(side, v[sl], time_s=np.asarray(time_s)[sl],
                          sample_counter=None if sample_counter is None else np.asarray(sample_counter)[sl],
                          quality=None if quality is None else np.asarray(quality)[sl], battery_pct=battery_pct,
                          arrival_monotonic=arr_all if np.ndim(arr_all) == 0 else arr_all[sl])
            return
        t = np.asarray(time_s, dtype=float)
        q = np.zeros(m, np.uint8) if quality is None else np.asarray(quality, dtype=np.uint8)
        gap = (q & QUALITY_GAP_BEFORE) != 0
        lost = 0
        if sample_counter is not None:
            c = np.asarray(sample_counter, dtype=np.int64)
            running = np.maximum.accumulate(c)
            keep = np.ones(m, bool)
            keep[1:] = c[1:] > running[:-1]
            if st.last_counter is not None:
                keep &= c > st.last_counter
            if not keep.all():
                v, t, c, gap = v[keep], t[keep], c[keep], gap[keep]
                m = len(t)
                if m == 0:
                    return
            prev = np.concatenate([[st.last_counter if st.last_counter is not None else c[0] - 1], c[:-1]])
            jump = (c - prev) > 1
            lost = int(np.sum(c - prev - 1, where=jump))
            gap = gap | jump
            st.last_counter = int(c[-1])
        now = time.monotonic()
        arr = np.broadcast_to(np.asarray(now if arrival_monotonic is None else arrival_monotonic, float), (m,))
        total = np.nansum(v, axis=1, dtype=np.float64)
        with self._lock:
            if self._t_first is None:
                self._t_first = now
            st.ring.append(v, t, total, gap, arr)
            st.lost_frames += lost
            st.gaps += int(np.count_nonzero(gap))
            if battery_pct is not None:
                st.battery_pct = float(battery_pct)
            if st.link in ("idle", "disconnected", "silent", "reconnecting"):
                st.link = "connected"
            self.version += 1
        if st.ring.n_total - st.detected_at >= self.detect_every_n:
            self._detect(side)

    def push_event(self, side: str, kind: str, detail: Mapping[str, Any] | None = None) -> None:
        """A link event ("connected", "disconnected", "silent", "reconnecting", "gap")."""
        with self._lock:
            st = self._sides.get(side)
            if st is None:
                return
            if kind == "gap":
                return  # counted from the counters of the frames that follow
            st.link = kind
            if kind in ("disconnected", "silent", "reconnecting"):
                self._messages.append(("error", f"{side} insole: link {kind}"))
            elif kind == "connected":
                self._messages.append(("info", f"{side} insole connected"))
            self.version += 1

    def set_battery(self, side: str, battery_pct: float | None) -> None:
        with self._lock:
            if side in self._sides and battery_pct is not None:
                self._sides[side].battery_pct = float(battery_pct)

    def set_link(self, side: str, link: str) -> None:
        """Set the link state without a message (status polling)."""
        with self._lock:
            if side in self._sides and self._sides[side].link != link:
                self._sides[side].link = link
                self.version += 1

    def message(self, level: str, text: str) -> None:
        """Show a message in the window ("info", "warning", "error")."""
        with self._lock:
            self._messages.append((level, text))
            self.version += 1

    def messages(self) -> list[tuple[str, str]]:
        """Every message so far, oldest first: ``(level, text)``."""
        with self._lock:
            return list(self._messages)

    # ----------------------------------------------------------------- consumer side
    def snapshot(self, *, last_s: float = 6.0, max_events: int = 50) -> LiveSnapshot:
        """Copy what one redraw needs: the last ``last_s`` seconds, events, metrics, status."""
        m = max(1, int(round(last_s * self.fs)))
        views: dict[str, SideView] = {}
        arrivals = []
        with self._lock:
            now_s = -np.inf
            for side, st in self._sides.items():
                ring = st.ring
                sl = ring.last(m)
                t = ring.time_s[sl].copy()
                tot = ring.total[sl].copy()
                latest = ring.values[ring.end - 1].copy() if ring.end else None
                first_unseen = max(st.unseen_from, ring.n_total - (ring.end - ring.start))
                if ring.n_total > first_unseen:
                    arrivals.append(ring.arrival[ring.row_of(first_unseen):ring.end].copy())
                st.unseen_from = ring.n_total
                cop_x, cop_y = self._cop_trail(st, tot, sl)
                t0 = t[0] if len(t) else np.inf
                ev = [r for r in st.stances[-max_events:] if r[3] >= t0 or r[2] >= t0]
                views[side] = SideView(
                    time_s=t, total=tot, latest=latest, cop_x_mm=cop_x, cop_y_mm=cop_y,
                    ic_s=np.array([r[2] for r in ev if r[2] >= t0]), to_s=np.array([r[3] for r in ev if r[3] >= t0]),
                    provisional_ic_s=np.array([p[0] for p in st.provisional if p[0] >= t0]),
                    provisional_to_s=np.array([p[1] for p in st.provisional if p[1] >= t0]),
                    frames=ring.n_total, lost_frames=st.lost_frames, gaps=st.gaps, link=st.link,
                    battery_pct=st.battery_pct)
                if len(t):
                    now_s = max(now_s, float(t[-1]))
            metrics = {k: (dict(v) if isinstance(v, dict) else (list(v) if isinstance(v, list) else v))
                       for k, v in self._metrics.items()}
            messages = list(self._messages[-20:])
            metrics_version = self.metrics_version
            link_down = [s for s, st in self._sides.items() if st.link in ("disconnected", "silent", "reconnecting")]
            elapsed = time.monotonic() - self._t_first if self._t_first is not None else 0.0
        return LiveSnapshot(sides=views, metrics=metrics, now_s=now_s if np.isfinite(now_s) else 0.0,
                            elapsed_s=elapsed, messages=messages, link_down=link_down,
                            new_arrivals=np.concatenate(arrivals) if arrivals else np.zeros(0), unit=self.unit,
                            metrics_version=metrics_version)

    def _cop_trail(self, st: _SideState, total: np.ndarray, sl: slice) -> tuple[np.ndarray, np.ndarray]:
        """COP (mm) over the current loaded run (or the last one, while the foot swings). Lock held.

        ``COP = Σ w_k·(x_k, y_k) / Σ w_k`` with ``w_k = max(value_k, 0)`` (as
        :func:`gaitpf.analysis.kinetics.cop_trajectory`), over samples whose total exceeds
        10 % of the recent peak.
        """
        empty = np.zeros(0)
        if st.layout is None or len(total) < 2 or not np.isfinite(total).any():
            return empty, empty
        peak = float(np.nanmax(total))
        if not peak > 0:
            return empty, empty
        loaded = np.nan_to_num(total) > 0.1 * peak
        idx = np.flatnonzero(loaded)
        if idx.size == 0:
            return empty, empty
        end = idx[-1] + 1
        before = np.flatnonzero(~loaded[:end])
        start = before[-1] + 1 if before.size else 0
        w = np.clip(np.nan_to_num(st.ring.values[sl.start + start:sl.start + end]), 0, None)
        sw = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            x = (w @ st.layout.x_mm) / sw
            y = (w @ st.layout.y_mm) / sw
        good = sw > 0
        return x[good], y[good]
