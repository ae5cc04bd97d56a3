"""Two gaitpf insoles over BLE with bleak: scan, connect, stream, survive link loss.

:func:`scan_insoles` lists insoles advertising the gaitpf service. :class:`BleInsoleSource`
implements :class:`gaitpf.acquisition.source.FrameSource`:

* **One scan, then sequential connects** — two concurrent ``connect()`` calls would each
  start a discovery and BlueZ answers ``InProgress``; every later scan takes a lock.
* **Identity check** — the Identity characteristic must say the expected side, and the
  address (or serial) must be allow-listed, otherwise :class:`~gaitpf.errors.DeviceError`.
* **The notification callback only enqueues** ``(side, bytes, time.monotonic())``; the
  async iterator drains the queue in batches, decodes with
  :func:`~gaitpf.acquisition.protocol.decode_packets`, sequences with
  :class:`~gaitpf.acquisition.sequencing.FrameSequencer`, maps clocks with
  :class:`~gaitpf.acquisition.clock.ClockMapper` and yields :class:`FrameBlock` and
  :class:`LinkEvent` in arrival order. A recorder may set a batch grid
  (:meth:`BleInsoleSource.set_batch_grid`): packets are then decoded once per flush, just
  before it, instead of one by one (same latency to disk, a fraction of the CPU).
* **Link loss** — bleak's disconnected callback, or no notification for
  ``silence_timeout_s`` (bleak is not told when bluetoothd dies), yields
  ``LinkEvent("disconnected")``; a per-side supervisor reconnects with exponential backoff
  capped at ``backoff_max_s`` (a rescan before every retry after the first) and yields
  ``LinkEvent("connected")``; the lost frames show as a ``"gap"`` event from the sequencer.
"""
from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterable

import numpy as np

from ..errors import AcquisitionError, DeviceError
from ..model import SIDES
from . import protocol as P
from .ble_link import InsoleAdvert, InsoleLink, RefusedDeviceError, discover
from .clock import ClockMapper
from .sequencing import FrameSequencer, sequence_block
from .source import FrameBlock, LinkEvent, SourceStatus

__all__ = ["InsoleAdvert", "scan_insoles", "BleInsoleSource"]

log = logging.getLogger(__name__)

#: A BLE device address (``AA:BB:CC:DD:EE:FF``); other allow-list entries are serials.
_BLE_ADDRESS = re.compile(r"[0-9A-F]{2}(:[0-9A-F]{2}){5}")


async def scan_insoles(timeout_s: float = 5.0) -> list[InsoleAdvert]:
    """Scan for ``timeout_s`` seconds; insoles sorted by side then address.

    Raises
    ------
    DeviceError
        Bluetooth is not available (no adapter, BlueZ not running, permission denied).
    """
    found = await discover(timeout_s)
    return sorted((adv for _, adv in found.values()),
                  key=lambda a: (SIDES.index(a.side) if a.side in SIDES else 2, a.address))


@dataclass
class _Side:
    """Per-foot decoding state, owned by the iterator."""

    sequencer: FrameSequencer
    clock: ClockMapper
    prev_counter: int | None = None
    last_rx: float = 0.0
    watch: bool = False
    pending: list[bytes] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


class BleInsoleSource:
    """Record a left and a right insole over BLE (a :class:`FrameSource`).

    Two insoles have two clocks: frames carry each device's counter and the host receive
    time; ``time_s`` is the real-time drift-corrected alignment, and a recorder refits it
    offline over the whole recording at a clean stop (``realign_clocks``).

    Parameters
    ----------
    left, right : str
        BLE addresses of the insoles (``gaitpf scan`` lists them).
    allow : iterable of str, optional
        Allow-listed addresses or serials; ``left``/``right`` must be in it. Default: the two
        addresses given.
    rate_hz : int, optional
        Ask the insoles for this sampling rate (default: keep the device's).
    scan_timeout_s, connect_timeout_s : float
        Limits of the initial scan and of each connection attempt.
    silence_timeout_s : float
        No notification for this long means the link is lost (bleak does not always say so).
    backoff_initial_s, backoff_max_s : float
        Reconnect backoff (doubling, capped): a returning insole is reconnected within about
        ``backoff_max_s`` + one advertising interval + the connection time.
    batch_max : int
        Most notifications decoded in one batch (without a batch grid).
    time_scale : float
        Host seconds per real second for the host time stamps (set to the virtual insoles'
        ``speed`` when recording them faster than real time; 1 for real insoles).
    """

    def __init__(self, left: str, right: str, *, allow: Iterable[str] | None = None,
                 rate_hz: int | None = None, scan_timeout_s: float = 10.0, connect_timeout_s: float = 10.0,
                 silence_timeout_s: float = 1.0, backoff_initial_s: float = 0.1, backoff_max_s: float = 1.0,
                 batch_max: int = 512, time_scale: float = 1.0) -> None:
        self.addresses = {"left": left.upper(), "right": right.upper()}
        if self.addresses["left"] == self.addresses["right"]:
            raise DeviceError(f"left and right insole have the same address {left}; give two different insoles")
        self.allow = {a.upper() for a in allow} if allow is not None else set(self.addresses.values())
        self.rate_hz = rate_hz
        self.scan_timeout_s, self.connect_timeout_s = scan_timeout_s, connect_timeout_s
        self.silence_timeout_s = silence_timeout_s
        self.backoff_initial_s, self.backoff_max_s = backoff_initial_s, backoff_max_s
        self.batch_max, self.time_scale = batch_max, float(time_scale)
        self.sampling_rate_hz = float(rate_hz) if rate_hz else 0.0
        self.unit = "N"
        #: tells the recorder to refit both device clocks over the whole file at a clean stop
        self.realign_clocks = True
        self.t0_monotonic: float | None = None
        self._status = SourceStatus()
        self._queue: asyncio.Queue = asyncio.Queue()
        self._links: dict[str, InsoleLink] = {}
        self._state: dict[str, _Side] = {}
        self._tasks: list[asyncio.Task] = []
        self._scan_lock = asyncio.Lock()
        self._closing = False
        self._batch_grid: tuple[float, float] | None = None   # (first decode time, interval), monotonic s

    # --- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> "BleInsoleSource":
        # An allow-list of addresses only refuses an unlisted insole before connecting; one
        # that names serials is checked against the identity each insole reports on connect
        # (InsoleLink._check: address or serial), which needs the connection.
        by_address_only = all(_BLE_ADDRESS.fullmatch(a) for a in self.allow)
        for side, addr in self.addresses.items():
            if by_address_only and addr not in self.allow:
                raise DeviceError(f"{side} insole {addr} is not allow-listed (allowed: "
                                  f"{', '.join(sorted(self.allow)) or 'none'}); add it to the allow-list "
                                  "or give an allow-listed insole")
        self.t0_monotonic = time.monotonic()
        async with self._scan_lock:
            found = await discover(self.scan_timeout_s, wanted=set(self.addresses.values()))
        missing = [f"{s} {a}" for s, a in self.addresses.items() if a not in found]
        if missing:
            raise DeviceError(f"insole {' and '.join(missing)} not found within {self.scan_timeout_s:g} s: switch "
                              "it on, bring it within 2 m, make sure no other app is connected to it, and "
                              "check `gaitpf scan`")
        try:
            for side in SIDES:               # one after the other: BlueZ handles one connect at a time
                link = InsoleLink(side, found[self.addresses[side]][0], self._queue, self._on_lost,
                                  allow=self.allow, connect_timeout_s=self.connect_timeout_s)
                self._links[side] = link
                self._status.link[side] = "connecting"
                ident, counter = await link.open(rate_hz=self.rate_hz)
                self._on_opened(side, ident, counter, first=True)
        except BaseException:
            await self._close_links()
            raise
        rates = {ln.identity.nominal_rate_hz for ln in self._links.values()}
        if len(rates) > 1:
            await self._close_links()
            raise DeviceError(f"the insoles sample at different rates {sorted(rates)} Hz; set one rate with "
                              "--rate")
        self.sampling_rate_hz = rates.pop()
        units = {ln.identity.unit for ln in self._links.values()}
        self.unit = units.pop() if len(units) == 1 else "au"
        self._tasks = [asyncio.create_task(self._supervise(s), name=f"gaitpf-ble-{s}") for s in SIDES]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        await self._close_links()

    async def _close_links(self) -> None:
        for side, link in self._links.items():
            await link.close(stop_streaming=True)
            self._status.link[side] = "closed"

    def _on_opened(self, side: str, ident: P.DeviceIdentity, counter: int, *, first: bool) -> None:
        if first:
            self._state[side] = _Side(FrameSequencer(side=side), ClockMapper(ident.nominal_rate_hz))
        self._queue.put_nowait(("_started", side, counter))
        self._status.link[side] = "streaming"

    def _on_lost(self, side: str, reason: str) -> None:
        """Called by a link (bleak's disconnected callback) or by the silence watchdog."""
        if not self._closing:
            self._links[side].lost.set()
            self._links[side].lost_reason = self._links[side].lost_reason or reason

    # --- supervision -----------------------------------------------------------------------
    async def _supervise(self, side: str) -> None:
        link = self._links[side]
        while True:
            await link.lost.wait()
            t_lost = time.monotonic()
            reason = link.lost_reason or "disconnected"
            self._status.link[side] = "disconnected"
            self._event(side, "disconnected", reason=reason)
            await link.close(stop_streaming=False)
            delay, attempt = self.backoff_initial_s, 0
            while True:
                attempt += 1
                self._status.link[side] = "reconnecting"
                self._event(side, "reconnecting", attempt=attempt)
                try:
                    if attempt > 1:
                        async with self._scan_lock:
                            found = await discover(min(2.0, self.scan_timeout_s), wanted={link.address})
                        if link.address not in found:
                            raise DeviceError(f"{side} insole {link.address} is not advertising")
                        link.device = found[link.address][0]
                    link.lost.clear()
                    link.lost_reason = None
                    ident, counter = await link.open(rate_hz=self.rate_hz, expect=link.identity)
                    break
                except RefusedDeviceError as exc:
                    self._queue.put_nowait(("_error", side, exc))
                    return
                except Exception as exc:  # noqa: BLE001 - any bleak/D-Bus failure: retry
                    log.info("%s insole: reconnect attempt %d failed: %s: %s", side, attempt,
                             type(exc).__name__, exc)
                await link.close(stop_streaming=False)
                await asyncio.sleep(delay)
                delay = min(2 * delay, self.backoff_max_s)
            self._on_opened(side, ident, counter, first=False)
            self._event(side, "connected", attempts=attempt, down_s=round(time.monotonic() - t_lost, 3))

    def _event(self, side: str, kind: str, **detail: Any) -> None:
        self._queue.put_nowait(LinkEvent(side, kind, self._host_s(time.monotonic()), detail))

    def _host_s(self, t_mono: float) -> float:
        return (t_mono - self.t0_monotonic) * self.time_scale

    def set_batch_grid(self, first_monotonic_s: float, interval_s: float) -> None:
        """Decode received notifications in batches at ``first_monotonic_s + k·interval_s``
        (``time.monotonic()`` seconds) instead of as they arrive.

        A recorder that makes data durable only at fixed flush times loses no latency by this
        when the grid runs just ahead of its flushes, and decoding, sequencing and clock
        mapping then cost one call per foot per flush instead of one per notification. Link
        events, START replies and errors are still handled as they arrive (pending packets
        are decoded first, so the arrival order is kept).
        """
        if not interval_s > 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s!r}")
        self._batch_grid = (float(first_monotonic_s), float(interval_s))

    def drain_pending(self) -> list[FrameBlock | LinkEvent]:
        """Decode and return the notifications received but not yet yielded (waiting for
        the next batch time); for a recorder stopping its iteration."""
        return self._flush()

    def _next_batch_s(self, now: float) -> float:
        first, step = self._batch_grid
        return first + step * max(0, math.ceil((now - first) / step))

    # --- iteration -------------------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[FrameBlock | LinkEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[FrameBlock | LinkEvent]:
        q = self._queue
        tick = min(0.1, self.silence_timeout_s / 4)
        hold: dict[str, list] = {}   # side -> data items queued between START and its reply
        next_batch = -math.inf       # decode time of the pending packets (batch grid; -inf = now)
        while True:
            wait_s = tick
            if self._batch_grid is not None:
                now = time.monotonic()
                if next_batch < now:
                    next_batch = self._next_batch_s(now)
                wait_s = min(tick, max(next_batch - now, 0.0))
            if self._batch_grid is not None:
                # batched: wake on the grid / watchdog tick only, not for every notification
                await asyncio.sleep(wait_s)
                items = []
                while not q.empty():
                    items.append(q.get_nowait())
            else:
                try:
                    # asyncio.timeout, not wait_for: wait_for can swallow a cancellation on 3.11
                    async with asyncio.timeout(wait_s):
                        items = [await q.get()]
                except TimeoutError:
                    items = []
                while items and len(items) < self.batch_max and not q.empty():
                    items.append(q.get_nowait())
            for item in items:
                if type(item) is tuple and type(item[1]) is bytes:
                    held = hold.get(item[0])
                    if held is not None:             # before the START reply was seen
                        held.append(item)
                    else:
                        st = self._state[item[0]]
                        st.pending.append(item[1])
                        st.times.append(item[2])
                        st.last_rx = item[2]
                    continue
                for out in self._flush():
                    yield out
                if isinstance(item, LinkEvent):
                    yield item
                elif item[0] == "_starting":
                    hold[item[1]] = []
                elif item[0] == "_started":
                    st = self._state[item[1]]
                    st.sequencer.expect_next(item[2])
                    for _, data, t in hold.pop(item[1], ()):
                        st.pending.append(data)
                        st.times.append(t)
                    st.last_rx, st.watch = time.monotonic(), True
                elif item[0] == "_error":
                    raise item[2]
            if self._batch_grid is None or time.monotonic() >= next_batch:
                for out in self._flush():
                    yield out
            if q.empty():
                for out in self._watchdog():
                    yield out

    def _watchdog(self) -> list[LinkEvent]:
        now, out = time.monotonic(), []
        for side, st in self._state.items():
            if st.watch and self._status.link.get(side) == "streaming" and now - st.last_rx > self.silence_timeout_s:
                st.watch = False
                self._status.link[side] = "silent"
                out.append(LinkEvent(side, "silent", self._host_s(now), {"silence_s": round(now - st.last_rx, 3)}))
                self._on_lost(side, "silent")
        return out

    def _flush(self) -> list[FrameBlock | LinkEvent]:
        out: list[FrameBlock | LinkEvent] = []
        for side, st in self._state.items():
            if st.pending:
                packets, times = st.pending, np.asarray(st.times)
                st.pending, st.times = [], []
                st.last_rx = float(times[-1])
                out.extend(self._decode(side, st, packets, times))
        return out

    def _decode(self, side: str, st: _Side, packets: list[bytes], t_mono: np.ndarray) -> list:
        ident = self._links[side].identity
        blk = P.decode_packets(packets, n_sensors=ident.n_sensors, previous_counter=st.prev_counter)
        status = self._status
        if blk.stats.rejected:
            status.bad_packets[side] += blk.stats.rejected
            log.debug("%s insole: dropped %s", side, {k: v for k, v in blk.stats.as_dict().items() if v})
        if blk.n_packets == 0:
            return []
        st.prev_counter = blk.last_counter
        host = self._host_s(t_mono)
        res, out = sequence_block(side, st.sequencer, st.clock, blk, host, status)
        battery = blk.last_battery_pct
        if battery is not None:
            status.battery_pct[side] = float(battery)
        if res.n_frames:
            out.append(FrameBlock(
                side=side, values=ident.calibrate(res.values), sample_counter=res.counter,
                device_time_s=res.counter / ident.nominal_rate_hz, host_time_s=host[res.packet_index],
                time_s=st.clock.map(res.counter), quality=res.quality,
                battery_pct=None if battery is None else float(battery)))
        return out

    # --- information -----------------------------------------------------------------------
    def status(self) -> SourceStatus:
        return self._status

    def identities(self) -> dict[str, P.DeviceIdentity]:
        """Identity of each connected insole (after entering)."""
        return {s: ln.identity for s, ln in self._links.items() if ln.identity is not None}

    def clock_fits(self) -> dict[str, dict[str, float]]:
        """Per side: ``offset_s``, ``drift_ppm``, ``residual_ms`` of the current clock fit."""
        out = {}
        for side, st in self._state.items():
            if st.clock.current is not None:
                out[side] = {"offset_s": st.clock.offset_s, "drift_ppm": st.clock.drift_ppm,
                             "residual_ms": st.clock.residual_ms}
        return out

    def foot_specs(self) -> dict[str, Any]:
        """Per side: n_sensors, unit, sampling_rate_hz, layout, device (for the writer)."""
        if not self._links:
            raise AcquisitionError("enter the BLE source (async with) before asking for foot specs")
        out = {}
        for side, link in self._links.items():
            ident = link.identity
            out[side] = {"n_sensors": ident.n_sensors, "unit": ident.unit,
                         "sampling_rate_hz": ident.nominal_rate_hz, "layout": _layout(ident.layout_id, side),
                         "device": {"model": "gaitpf insole", "address": link.address, "serial": ident.serial,
                                    "firmware": ident.firmware_version, "layout_id": ident.layout_id,
                                    "protocol": ident.protocol_version,
                                    "sample_width_bits": ident.sample_width_bits}}
        return out


def _layout(layout_id: str, side: str):
    from ..layouts import standard_layout   # lazy: the writer side needs it, bleak users may not
    try:
        return standard_layout(layout_id, side)
    except Exception:  # noqa: BLE001 - an unknown layout is recorded without positions
        log.warning("unknown sensor layout %r: recording without sensor positions", layout_id)
        return None
