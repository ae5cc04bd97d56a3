"""Moticon OpenGo live stream over UDP (a :class:`~gaitpf.acquisition.source.FrameSource`).

The OpenGo desktop software can stream each frame as one UDP datagram of **51
whitespace-separated numbers**: the stream time (s), then for the left insole acceleration
x/y/z (g), angular rate x/y/z (dps), centre of pressure x/y (−0.5…+0.5), pressure 1–16
(N/cm²) and total force (N), then the same 25 for the right insole (the export's column
order, cf. :mod:`gaitpf.io.vendor_moticon`).

Method
------
* **Listening**: a UDP socket bound to ``HOST:PORT`` — ``127.0.0.1`` unless another address
  is given explicitly (nothing is exposed to the network by default).
* **Parsing**: a datagram that is not ASCII, does not hold exactly 51 numbers, or holds a
  non-finite one is counted in ``status().bad_packets`` (both feet) and dropped.
* **Rate**: ``rate_hz`` if given, else ``1 / median(Δt)`` of the first
  ``probe_datagrams`` stream times, rounded to 1 Hz (OpenGo streams at 10–100 Hz). Entering the
  source waits for them; no valid datagram within ``first_timeout_s`` → one-line
  :class:`~gaitpf.errors.DeviceError`.
* **Counter**: ``round((t − t_first) · rate)`` from the stream's own time, so a datagram lost
  on the way is a counter jump: :class:`~gaitpf.acquisition.sequencing.FrameSequencer` reports it
  as a gap (``QUALITY_GAP_BEFORE``, never filled), a repeated time is a duplicate. A stream
  time more than :data:`RESTART_S` behind the latest (OpenGo restarted its stream) starts a new
  segment (a ``device_reset`` gap, as a rebooted insole; the clock mapping restarts).
* **Times kept**: ``device_time_s`` = the stream time (relative to the first datagram),
  ``host_time_s`` = arrival time of the datagram, ``time_s`` = the stream time mapped to the host
  clock by :class:`~gaitpf.acquisition.clock.ClockMapper` (lower envelope of arrival − stream time).
* **Watchdog**: no datagram for ``silence_timeout_s`` → ``LinkEvent("silent")`` per side; the
  next datagram → ``LinkEvent("connected")`` and the missed frames become a gap.
* **Values**: pressure N/cm² × 10 → kPa, 16 sensors; the sensor ``layout`` is given by the
  caller (the recorder passes :func:`gaitpf.io.vendor_moticon.moticon_layout`, the importer's
  OpenGo layout). IMU, COP and total force are parsed but not recorded (a frame block carries
  pressure only).
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from typing import Any, AsyncIterator

import numpy as np

from ..errors import AcquisitionError, DeviceError, InputError
from ..model import SIDES
from .clock import ClockMapper
from .protocol import DecodedBlock, DecodeStats
from .sequencing import FrameSequencer
from .source import FrameBlock, LinkEvent, SourceStatus

__all__ = ["MoticonUdpSource", "parse_datagram", "parse_host_port", "N_FIELDS", "DEFAULT_PORT"]

log = logging.getLogger(__name__)

N_FIELDS = 51
_PER_FOOT = 25
_PRESSURE = slice(8, 24)      # within one foot's 25 numbers
DEFAULT_PORT = 8888
#: a stream time this far (s) behind the latest one means the stream was restarted
RESTART_S = 1.0


def parse_host_port(value: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``PORT`` (host 127.0.0.1); InputError naming the problem otherwise."""
    host, _, port = value.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise InputError(f"--moticon-udp {value!r}: give a numeric IP address to listen on "
                             "(e.g. 127.0.0.1:8888)") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--moticon-udp {value!r}: the port must be a number 1–65535")
    return host, int(port)


def parse_datagram(data: bytes) -> np.ndarray | None:
    """The 51 numbers of one datagram (float64), or None when it is malformed."""
    try:
        parts = data.decode("ascii").split()
    except UnicodeDecodeError:
        return None
    if len(parts) != N_FIELDS:
        return None
    try:
        row = np.array([float(p) for p in parts])
    except ValueError:
        return None
    return row if np.isfinite(row).all() else None


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, queue: asyncio.Queue) -> None:
        self.queue = queue

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queue.put_nowait((data, time.monotonic()))


class MoticonUdpSource:
    """Record the OpenGo UDP live stream (both insoles).

    Parameters
    ----------
    host, port : str, int
        Address to listen on (loopback by default).
    rate_hz : float, optional
        Stream rate; measured from the first datagrams when not given.
    size : int, optional
        OpenGo insole size (stored with the device information).
    layout : SensorLayout, optional
        Sensor positions and areas of the 16 OpenGo sensors (none recorded without it).
    first_timeout_s : float
        How long to wait for the stream when entering.
    silence_timeout_s : float
        No datagram for this long is a stopped stream (gap).
    probe_datagrams : int
        Datagrams used to measure the rate.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *, rate_hz: float | None = None,
                 size: int | None = None, layout: Any = None, first_timeout_s: float = 10.0, silence_timeout_s: float = 1.0,
                 probe_datagrams: int = 10) -> None:
        self.host, self.port = host, int(port)
        self.sampling_rate_hz = float(rate_hz) if rate_hz else 0.0
        self.size, self.layout = size, layout
        self.unit = "kPa"
        self.realign_clocks = True
        self.first_timeout_s, self.silence_timeout_s = first_timeout_s, silence_timeout_s
        self.probe_datagrams = probe_datagrams
        self.t0_monotonic: float | None = None
        self._status = SourceStatus()
        self._queue: asyncio.Queue = asyncio.Queue()
        self._transport: Any = None
        self._early: list[tuple[bytes, float]] = []
        self._t_first: float | None = None
        self._t_max = -np.inf
        self._seq: dict[str, FrameSequencer] = {}
        self._clock: dict[str, ClockMapper] = {}
        self._silent = False
        self._last_rx = 0.0

    async def __aenter__(self) -> "MoticonUdpSource":
        loop = asyncio.get_running_loop()
        self.t0_monotonic = time.monotonic()
        try:
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self._queue), local_addr=(self.host, self.port))
        except OSError as exc:
            raise DeviceError(f"cannot listen for the Moticon stream on {self.host}:{self.port}: "
                              f"{exc.strerror or exc}; choose another port") from exc
        try:
            await self._probe()
        except BaseException:
            self._transport.close()
            raise
        for side in SIDES:
            self._seq[side] = FrameSequencer(side=side)
            self._clock[side] = ClockMapper(self.sampling_rate_hz)
            self._status.link[side] = "streaming"
        return self

    async def _probe(self) -> None:
        deadline = time.monotonic() + self.first_timeout_s
        times: list[float] = []
        while len(times) < (2 if self.sampling_rate_hz else self.probe_datagrams):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                data, t = await asyncio.wait_for(self._queue.get(), left)
            except asyncio.TimeoutError:
                break
            self._early.append((data, t))
            row = parse_datagram(data)
            if row is not None:
                times.append(float(row[0]))
        if not times:
            raise DeviceError(f"no Moticon OpenGo datagram on {self.host}:{self.port} within "
                              f"{self.first_timeout_s:g} s: start the live stream in OpenGo and send it to "
                              "this address and port")
        if not self.sampling_rate_hz:
            dt = np.diff(times)
            dt = dt[dt > 0]
            if dt.size == 0:
                raise DeviceError(f"Moticon stream on {self.host}:{self.port}: the stream time does not advance; "
                                  "give the rate with --rate")
            self.sampling_rate_hz = float(max(1.0, round(1.0 / float(np.median(dt)))))

    async def __aexit__(self, *exc: object) -> None:
        if self._transport is not None:
            self._transport.close()
        for side in SIDES:
            self._status.link[side] = "closed"

    def _host_s(self, t_mono):
        return np.asarray(t_mono, float) - self.t0_monotonic

    def __aiter__(self) -> AsyncIterator[FrameBlock | LinkEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[FrameBlock | LinkEvent]:
        q = self._queue
        items, self._early = self._early, []
        self._last_rx = time.monotonic()
        while True:
            if not items:
                try:
                    items = [await asyncio.wait_for(q.get(), timeout=min(0.1, self.silence_timeout_s / 2))]
                except asyncio.TimeoutError:
                    items = []
            while not q.empty() and len(items) < 1024:
                items.append(q.get_nowait())
            if items:
                if self._silent:
                    self._silent = False
                    for side in SIDES:
                        self._status.link[side] = "streaming"
                        yield LinkEvent(side, "connected", float(self._host_s(items[0][1])))
                self._last_rx = items[-1][1]
                for out in self._decode(items):
                    yield out
                items = []
            elif not self._silent and time.monotonic() - self._last_rx > self.silence_timeout_s:
                self._silent = True
                for side in SIDES:
                    self._status.link[side] = "silent"
                    yield LinkEvent(side, "silent", float(self._host_s(time.monotonic())),
                                    {"silence_s": round(time.monotonic() - self._last_rx, 3)})

    def _decode(self, items: list[tuple[bytes, float]]) -> list:
        rows, t_rx = [], []
        for data, t in items:
            row = parse_datagram(data)
            if row is None:
                for side in SIDES:
                    self._status.bad_packets[side] += 1
                continue
            rows.append(row)
            t_rx.append(t)
        if not rows:
            return []
        arr, t_rx_arr = np.vstack(rows), np.asarray(t_rx)
        if self._t_first is None:
            self._t_first = self._t_max = float(arr[0, 0])
        # a stream time more than RESTART_S behind the latest one: OpenGo restarted its stream
        cuts, t_max = [], self._t_max
        for i, t in enumerate(arr[:, 0].tolist()):
            if t < t_max - RESTART_S:
                cuts.append(i)
                log.warning("Moticon stream on %s:%d restarted (time %.3f s after %.3f s)", self.host, self.port,
                            t, t_max)
                t_max = t
            else:
                t_max = max(t_max, t)
        self._t_max = t_max
        out: list = []
        bounds = [0, *cuts, len(arr)]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            if lo in cuts:
                first = int(np.round((arr[lo, 0] - self._t_first) * self.sampling_rate_hz))
                for seq in self._seq.values():
                    seq.expect_next(first)          # the next frames start a new segment (device reset)
            if hi > lo:
                out += self._decode_rows(arr[lo:hi], t_rx_arr[lo:hi])
        return out

    def _decode_rows(self, arr: np.ndarray, t_rx: np.ndarray) -> list:
        stream_s = arr[:, 0] - self._t_first
        counter = np.round(stream_s * self.sampling_rate_hz).astype(np.int64)
        host = self._host_s(t_rx)
        n = counter.size
        idx = np.arange(n, dtype=np.int64)
        out: list = []
        for k, side in enumerate(SIDES):
            foot = arr[:, 1 + k * _PER_FOOT: 1 + (k + 1) * _PER_FOOT]
            blk = DecodedBlock(
                n_sensors=16, seq=(idx % 65536).astype(np.uint16), first_counter=counter, n_frames=np.ones(n, np.int64),
                flags=np.zeros(n, np.uint8), source_index=idx, battery_pct=np.full(n, np.nan, np.float32), imu=None,
                counter=counter, values=(foot[:, _PRESSURE] * 10.0).astype(np.float32),   # N/cm² -> kPa
                packet_index=idx, stats=DecodeStats(ok=n))
            seq, clock = self._seq[side], self._clock[side]
            res = seq.process(blk)
            if res.reset:
                clock.reset()
            clock.add(res.packet_counter, host, n_frames=blk.n_frames)
            for gap in res.gaps:
                start_s, end_s = clock.map(np.array([gap.first_missing_counter, gap.end_counter]))
                out.append(LinkEvent(side, "gap", float(host[-1]), {
                    "n_frames": gap.n_missing, "kind": gap.kind, "first_missing_counter": gap.first_missing_counter,
                    "start_s": float(start_s), "end_s": float(end_s)}))
            st = self._status
            st.lost_frames[side], st.gaps[side] = seq.frames_lost, seq.gaps
            st.clock_residual_ms[side] = clock.residual_ms
            if res.n_frames:
                st.frames[side] += res.n_frames
                out.append(FrameBlock(side=side, values=res.values, sample_counter=res.counter,
                                      device_time_s=stream_s[res.packet_index], host_time_s=host[res.packet_index],
                                      time_s=clock.map(res.counter), quality=res.quality))
        return out

    def status(self) -> SourceStatus:
        return self._status

    def clock_fits(self) -> dict[str, dict[str, float]]:
        return {s: {"offset_s": c.offset_s, "drift_ppm": c.drift_ppm, "residual_ms": c.residual_ms}
                for s, c in self._clock.items() if c.current is not None}

    def foot_specs(self) -> dict[str, Any]:
        """Per side: n_sensors, unit, sampling_rate_hz, layout, device (for the writer)."""
        if not self._seq:
            raise AcquisitionError("enter the Moticon source (async with) before asking for foot specs")
        return {side: {"n_sensors": 16, "unit": "kPa", "sampling_rate_hz": self.sampling_rate_hz, "layout": self.layout,
                       "device": {"vendor": "Moticon ReGo AG", "model": "OpenGo insole (UDP live stream)",
                                  "size": self.size, "listen": f"{self.host}:{self.port}",
                                  "pressure": "N/cm2 x 10 = kPa"}}
                for side in SIDES}
