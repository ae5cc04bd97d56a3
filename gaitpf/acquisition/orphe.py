"""Two ORPHE INSOLEs over BLE with bleak (a :class:`~gaitpf.acquisition.source.FrameSource`).

The wire format is in :mod:`gaitpf.acquisition.orphe_protocol` (from the vendor's public SDK
documentation). This module connects, selects the streaming mode, subscribes and turns the
notifications into the same :class:`FrameBlock`/:class:`LinkEvent` stream as gaitpf insoles:

* **Sides from the device**: each insole's DEVICE_INFORMATION ``mount_position`` (bit 0) says
  left or right; connection order and addresses mean nothing. Two insoles that say the same
  side, a dorsal (upper-mounted) module, or an address given as ``left`` that says ``right``
  are refused with one line (:class:`~gaitpf.errors.DeviceError`).
* **Streaming mode** 4 (100 Hz, 2 samples/packet) or 3 (200 Hz, 4 samples/packet) is written
  before notifications are started.
* **Packet counter unwrap** (:class:`CounterUnwrap`): the uint16 counter wraps every
  65536 packets (22 min at 50 packets/s). The step between two packets is taken as the
  candidate ``d + k·65536`` (``d`` = counter difference mod 65536, any integer ``k``) closest to
  the step the device clock predicts (device-time difference ÷ packet period; the device clock
  wraps at midnight, handled mod 24 h). So a wrap, a loss across a wrap and an outage longer
  than a wrap are all counted right as long as the device clock runs (up to 24 h). Frame
  counter = unwrapped packet counter × samples per packet + position in the packet.
* **Loss accounting, device reset, clock alignment** as for gaitpf insoles:
  :class:`~gaitpf.acquisition.sequencing.FrameSequencer` (gaps, duplicates; a jump of more than
  one hour of frames is a device reset) and :class:`~gaitpf.acquisition.clock.ClockMapper`
  (host time of each packet vs. its counter; all samples of a packet share the packet's host
  arrival time, as they share one device timestamp). The recorder refits the clocks offline at
  a clean stop (``realign_clocks``).
* **Link loss**: bleak's disconnected callback or no notification for ``silence_timeout_s``
  yields ``LinkEvent("disconnected")``/``("silent")``; a per-side supervisor reconnects with
  capped exponential backoff (rescanning first) and yields ``"connected"``; the frames missed
  show as a ``"gap"``. Garbage notifications are counted in ``status().bad_packets`` and
  dropped.
* Values: raw ADC counts as float32, unit ``"au"``; ``QUALITY_SATURATED`` on frames with a
  channel at 65535. IMU channels are decoded but not recorded (a frame block has no IMU field).
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterable

import numpy as np

from ..errors import AcquisitionError, DeviceError
from ..model import SIDES
from . import orphe_protocol as O
from .ble_link import scan_adverts
from .clock import ClockMapper
from .protocol import DecodedBlock, DecodeStats
from .sequencing import FrameSequencer, sequence_block
from .source import FrameBlock, LinkEvent, SourceStatus

__all__ = ["OrpheAdvert", "scan_orphe", "OrpheSource", "CounterUnwrap"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OrpheAdvert:
    """One ORPHE INSOLE seen advertising (``gaitpf scan --device-type orphe``)."""

    address: str
    side: str | None
    serial: str | None
    rssi: int | None
    name: str | None
    battery_pct: int | None = None   #: the advertisement's battery byte is a level, not a percentage
    device_type: str = "orphe"


def _advert(device, adv) -> OrpheAdvert:
    # manufacturer data (company 0x0000): byte 6 mounting position, byte 14 battery (SDK docs)
    md = (adv.manufacturer_data or {}).get(0x0000)
    side = ("right" if md[6] & 1 else "left") if md and len(md) > 6 else None
    return OrpheAdvert(address=device.address.upper(), side=side, serial=None, rssi=adv.rssi,
                       name=adv.local_name or device.name)


def _orphe_advert(device, adv) -> OrpheAdvert | None:
    return _advert(device, adv) if O.is_orphe_advert(adv.service_uuids, adv.local_name or device.name) else None


async def discover_orphe(timeout_s: float, *, wanted: set[str] | None = None) -> dict:
    """Scan up to ``timeout_s`` (less once every ``wanted`` address was seen).

    Returns ``{address: (BLEDevice, OrpheAdvert)}``.
    """
    return await scan_adverts(timeout_s, _orphe_advert, wanted=wanted)


async def scan_orphe(timeout_s: float = 5.0) -> list[OrpheAdvert]:
    """ORPHE INSOLEs advertising within ``timeout_s``, sorted by side then address."""
    found = await discover_orphe(timeout_s)
    return sorted((a for _, a in found.values()),
                  key=lambda a: (SIDES.index(a.side) if a.side in SIDES else 2, a.address))


class CounterUnwrap:
    """Unwrap the uint16 packet counter with the device clock (see the module docstring).

    Parameters
    ----------
    packet_period_ms : float
        Nominal time between packets (20 ms in modes 3 and 4).
    """

    def __init__(self, packet_period_ms: float) -> None:
        self.packet_period_ms = float(packet_period_ms)
        self.last: int | None = None       # unwrapped counter of the last packet
        self.last_ms: int | None = None    # its device time, ms since midnight

    def process(self, raw: np.ndarray, dev_ms: np.ndarray) -> np.ndarray:
        out = np.empty(raw.shape[0], np.int64)
        for i, (c, t) in enumerate(zip(raw.tolist(), dev_ms.tolist())):
            if self.last is None:
                u = int(c)
            else:
                d = (c - self.last) % O.COUNTER_MOD
                dt_ms = (t - self.last_ms) % O.DAY_MS
                if dt_ms > O.DAY_MS - 60_000:          # an older packet (resent), not a day later
                    dt_ms -= O.DAY_MS
                expected = dt_ms / self.packet_period_ms
                k = round((expected - d) / O.COUNTER_MOD)
                u = self.last + d + k * O.COUNTER_MOD
            out[i] = u
            if u > (self.last if self.last is not None else -1):
                self.last, self.last_ms = u, int(t)
        return out


@dataclass
class _Side:
    address: str
    device: Any
    info: O.OrpheInfo
    sequencer: FrameSequencer
    clock: ClockMapper
    unwrap: CounterUnwrap
    client: Any = None
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    gen: int = 0
    last_rx: float = 0.0
    watch: bool = False
    pending: list = field(default_factory=list)
    times: list = field(default_factory=list)


class OrpheSource:
    """Record a pair of ORPHE INSOLEs over BLE (a :class:`FrameSource`).

    Parameters
    ----------
    addresses : iterable of str
        The two insoles' BLE addresses, in any order (``gaitpf scan --device-type orphe``);
        their sides come from the devices. Only these are connected (the allow-list).
    expect_sides : dict address -> side, optional
        Sides the user gave (``--left``/``--right``); a device saying otherwise is refused.
    mode : {4, 3}
        Streaming mode: 4 = 100 Hz (default), 3 = 200 Hz.
    scan_timeout_s, connect_timeout_s, silence_timeout_s, backoff_initial_s, backoff_max_s : float
        As for :class:`~gaitpf.acquisition.ble.BleInsoleSource`.
    time_scale : float
        Host seconds per real second for host time stamps (virtual insoles run ``speed`` x).
    """

    def __init__(self, addresses: Iterable[str], *, expect_sides: dict[str, str] | None = None, mode: int = 4,
                 scan_timeout_s: float = 10.0, connect_timeout_s: float = 10.0, silence_timeout_s: float = 1.0,
                 backoff_initial_s: float = 0.1, backoff_max_s: float = 1.0, time_scale: float = 1.0) -> None:
        self.addresses = [a.upper() for a in addresses]
        if len(self.addresses) != 2 or self.addresses[0] == self.addresses[1]:
            raise DeviceError(f"give two different ORPHE INSOLE addresses (got {', '.join(self.addresses) or 'none'})")
        if mode not in O.MODES:
            raise DeviceError(f"ORPHE streaming mode {mode} carries no pressure; use 4 (100 Hz) or 3 (200 Hz)")
        self.expect = {a.upper(): s for a, s in (expect_sides or {}).items()}
        self.mode = O.MODES[mode]
        self.sampling_rate_hz = self.mode.sampling_rate_hz
        self.unit = "au"
        self.realign_clocks = True
        self.scan_timeout_s, self.connect_timeout_s = scan_timeout_s, connect_timeout_s
        self.silence_timeout_s = silence_timeout_s
        self.backoff_initial_s, self.backoff_max_s = backoff_initial_s, backoff_max_s
        self.time_scale = float(time_scale)
        self.t0_monotonic: float | None = None
        self._status = SourceStatus()
        self._queue: asyncio.Queue = asyncio.Queue()
        self._sides: dict[str, _Side] = {}
        self._tasks: list[asyncio.Task] = []
        self._closing = False
        self._scan_lock = asyncio.Lock()     # BlueZ runs one discovery at a time

    # --- lifecycle -------------------------------------------------------------------------
    async def __aenter__(self) -> "OrpheSource":
        self.t0_monotonic = time.monotonic()
        found = await discover_orphe(self.scan_timeout_s, wanted=set(self.addresses))
        missing = [a for a in self.addresses if a not in found]
        if missing:
            raise DeviceError(f"ORPHE INSOLE {' and '.join(missing)} not found within {self.scan_timeout_s:g} s: "
                              "switch it on, disconnect it from the phone app, and check "
                              "`gaitpf scan --device-type orphe`")
        try:
            for addr in self.addresses:
                client, info = await self._open(addr, found[addr][0], side=None)
                side = info.side
                if side in self._sides:
                    raise DeviceError(f"both ORPHE INSOLEs ({self._sides[side].address}, {addr}) say they are "
                                      f"mounted {side}; set one module to the other foot in the ORPHE app")
                st = _Side(addr, found[addr][0], info, FrameSequencer(side=side, max_jump_frames=int(
                    self.sampling_rate_hz * 3600)), ClockMapper(self.sampling_rate_hz),
                    CounterUnwrap(1000.0 / self.mode.packet_rate_hz), client=client)
                self._sides[side] = st
                await self._subscribe(side, st)
        except BaseException:
            await self._close_all()
            raise
        self._tasks = [asyncio.create_task(self._supervise(s), name=f"gaitpf-orphe-{s}") for s in SIDES]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._close_all()

    async def _open(self, addr: str, device: Any, *, side: str | None) -> tuple[Any, O.OrpheInfo]:
        """Connect, read DEVICE_INFORMATION, check the side, select the streaming mode."""
        from bleak import BleakClient

        holder: dict[str, str] = {}
        client = BleakClient(device, timeout=self.connect_timeout_s,
                             disconnected_callback=lambda _c: self._lost(holder.get("side"), "disconnected"))
        try:
            await client.connect()
            info = O.decode_device_information(bytes(await client.read_gatt_char(O.DEVICE_INFORMATION_CHAR_UUID)))
            if info.surface != "plantar":
                raise DeviceError(f"ORPHE module {addr} is mounted on the upper (dorsal), not in an insole; "
                                  "gaitpf records plantar pressure only")
            want = side or self.expect.get(addr)
            if want is not None and info.side != want:
                raise DeviceError(f"ORPHE INSOLE {addr} says it is mounted {info.side} but was given as {want}; "
                                  "swap --left and --right")
            holder["side"] = info.side
            await client.write_gatt_char(O.DEVICE_INFORMATION_CHAR_UUID, O.mode_write(self.mode.mode), response=True)
        except BaseException as exc:
            await _disconnect(client)
            if isinstance(exc, DeviceError) or not isinstance(exc, Exception):
                raise
            raise DeviceError(f"ORPHE INSOLE {addr}: cannot connect ({type(exc).__name__}: {exc})") from exc
        return client, info

    async def _subscribe(self, side: str, st: _Side) -> None:
        st.gen += 1
        put, mono, gen = self._queue.put_nowait, time.monotonic, st.gen
        await st.client.start_notify(O.SENSOR_VALUES_CHAR_UUID,
                                     lambda _c, data: put((side, gen, bytes(data), mono())))
        st.last_rx, st.watch = time.monotonic(), True
        self._status.link[side] = "streaming"

    def _lost(self, side: str | None, reason: str) -> None:
        if side in self._sides and not self._closing and not self._sides[side].lost.is_set():
            self._sides[side].lost.set()
            self._queue.put_nowait(("_event", LinkEvent(side, reason if reason == "silent" else "disconnected",
                                                        float(self._host_s(time.monotonic())), {"reason": reason})))

    async def _close_all(self) -> None:
        for side, st in self._sides.items():
            client, st.client = st.client, None
            await _disconnect(client)
            self._status.link[side] = "closed"

    async def _supervise(self, side: str) -> None:
        st = self._sides[side]
        while True:
            await st.lost.wait()
            self._status.link[side] = "disconnected"
            st.watch = False
            st.gen += 1                     # ignore notifications of the old connection
            client, st.client = st.client, None
            await _disconnect(client)
            delay = self.backoff_initial_s
            while not self._closing:
                self._status.link[side] = "reconnecting"
                try:
                    async with self._scan_lock:
                        found = await discover_orphe(max(delay, 0.5), wanted={st.address})
                    if st.address in found:
                        st.device = found[st.address][0]
                        st.client, _info = await self._open(st.address, st.device, side=side)
                        await self._subscribe(side, st)
                        st.lost.clear()
                        self._queue.put_nowait(("_event", LinkEvent(side, "connected",
                                                                    float(self._host_s(time.monotonic())))))
                        break
                except DeviceError as exc:
                    log.info("%s ORPHE INSOLE: reconnect failed: %s", side, exc)
                await asyncio.sleep(delay)
                delay = min(2 * delay, self.backoff_max_s)

    # --- data ------------------------------------------------------------------------------
    def _host_s(self, t_mono):
        return (np.asarray(t_mono, float) - self.t0_monotonic) * self.time_scale

    def __aiter__(self) -> AsyncIterator[FrameBlock | LinkEvent]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[FrameBlock | LinkEvent]:
        q = self._queue
        while True:
            try:
                item = await asyncio.wait_for(q.get(), timeout=min(0.1, self.silence_timeout_s / 2))
            except asyncio.TimeoutError:
                item = None
            items = [] if item is None else [item]
            while not q.empty() and len(items) < 512:
                items.append(q.get_nowait())
            for it in items:
                if it[0] == "_event":
                    yield it[1]
                    continue
                side, gen, data, t = it
                st = self._sides[side]
                if gen == st.gen:
                    st.pending.append(data)
                    st.times.append(t)
                    st.last_rx = t
            for side, st in self._sides.items():
                if st.pending:
                    packets, times = st.pending, np.asarray(st.times)
                    st.pending, st.times = [], []
                    for out in self._decode(side, st, packets, times):
                        yield out
            now = time.monotonic()
            for side, st in self._sides.items():
                if st.watch and not st.lost.is_set() and now - st.last_rx > self.silence_timeout_s:
                    st.watch = False
                    self._lost(side, "silent")

    def _decode(self, side: str, st: _Side, packets: list[bytes], t_mono: np.ndarray) -> list:
        dec = O.decode_sensor_values(packets, self.mode)
        bad = sum(dec.rejected.values())
        if bad:
            self._status.bad_packets[side] += bad
            log.debug("%s ORPHE INSOLE: dropped %s", side, dec.rejected)
        if dec.n_packets == 0:
            return []
        spp = self.mode.samples_per_packet
        first = st.unwrap.process(dec.raw_counter, dec.device_ms) * spp
        n = dec.n_packets
        blk = DecodedBlock(
            n_sensors=O.N_PRESSURE, seq=dec.raw_counter.astype(np.uint16), first_counter=first,
            n_frames=np.full(n, spp, np.int64), flags=np.zeros(n, np.uint8), source_index=dec.source_index,
            battery_pct=np.full(n, np.nan, np.float32), imu=None,
            counter=(first[:, None] + np.arange(spp)).ravel(), values=dec.pressure.reshape(-1, O.N_PRESSURE),
            packet_index=np.repeat(dec.source_index, spp), stats=DecodeStats(ok=n))
        host = self._host_s(t_mono)
        res, out = sequence_block(side, st.sequencer, st.clock, blk, host, self._status)
        if res.n_frames:
            out.append(FrameBlock(
                side=side, values=res.values.astype(np.float32), sample_counter=res.counter,
                device_time_s=res.counter / self.sampling_rate_hz, host_time_s=host[res.packet_index],
                time_s=st.clock.map(res.counter), quality=res.quality | O.saturation_quality(res.values)))
        return out

    # --- information -----------------------------------------------------------------------
    def status(self) -> SourceStatus:
        return self._status

    def clock_fits(self) -> dict[str, dict[str, float]]:
        """Per side: ``offset_s``, ``drift_ppm``, ``residual_ms`` of the current clock fit."""
        return {s: {"offset_s": st.clock.offset_s, "drift_ppm": st.clock.drift_ppm,
                    "residual_ms": st.clock.residual_ms}
                for s, st in self._sides.items() if st.clock.current is not None}

    def foot_specs(self) -> dict[str, Any]:
        """Per side: n_sensors, unit, sampling_rate_hz, layout, device (for the writer)."""
        if not self._sides:
            raise AcquisitionError("enter the ORPHE source (async with) before asking for foot specs")
        return {side: {"n_sensors": O.N_PRESSURE, "unit": "au", "sampling_rate_hz": self.sampling_rate_hz,
                       "layout": O.orphe_layout(side),
                       "device": {"model": "ORPHE INSOLE", "address": st.address,
                                  "mount_position": st.info.mount_position, "streaming_mode": self.mode.mode,
                                  "packet_header": self.mode.header, "acc_range_g": st.info.acc_range_g,
                                  "gyro_range_dps": st.info.gyro_range_dps, "battery_level": st.info.battery_level,
                                  "pressure": "raw ADC counts (saturate at 65535)"}}
                for side, st in self._sides.items()}


async def _disconnect(client: Any) -> None:
    if client is None:
        return
    try:
        await asyncio.wait_for(client.disconnect(), 2.0)
    except Exception as exc:  # noqa: BLE001 - the link may be gone already
        log.debug("ORPHE disconnect failed: %s: %s", type(exc).__name__, exc)
