"""Virtual gaitpf insoles behind a fake BlueZ, so unmodified bleak can record them.

A :class:`VirtualInsole` is the firmware of one insole: it samples the virtual gait
(:class:`gaitpf.sim.gait_model.GaitSimulator`) with its own crystal (``drift_ppm``) and its
own power-on time (``boot_offset_s``), packs ``frames_per_packet`` frames per notification
with :func:`gaitpf.acquisition.protocol.encode_packet`, and sends them paced in real time
(or ``speed`` times faster) while a host has subscribed and sent START. Frames sampled while
nobody listens are lost (the firmware does not buffer), so a reconnect shows as a counter
jump. It answers Identity reads and Control writes (START/STOP/SET_RATE/TIME_SYNC/...
with replies notified on the Control characteristic) and its battery drains.

:class:`gaitpf.sim.harness.VirtualInsoleHarness` starts a private system bus, the fake
BlueZ and a left and a right insole in the current event loop, and exposes fault injection::

    async with VirtualInsoleHarness(gait=GaitParams(), rate_hz=100, seed=1) as h:
        async with BleInsoleSource(left=h.left_address, right=h.right_address,
                                   allow=set(h.addresses.values())) as src:
            ...
            await h.drop_link("left", for_s=1.0)

Only one harness per process can run at a time (it sets ``DBUS_SYSTEM_BUS_ADDRESS``).
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time

import numpy as np

from ..acquisition import protocol as P
from ..errors import InputError
from .fake_bluez import CharSpec, FakeBlueZ, FakePeripheral
from .gait_model import GaitParams, GaitSimulator, layout_for

__all__ = ["VirtualInsole", "NEWTON_PER_COUNT", "DEFAULT_ADDRESSES", "DEFAULT_SERIALS"]

log = logging.getLogger(__name__)

#: Calibration of the virtual insoles: force = NEWTON_PER_COUNT * raw ADC count (16-bit).
NEWTON_PER_COUNT = 0.02
DEFAULT_ADDRESSES = {"left": "C0:FF:EE:00:00:01", "right": "C0:FF:EE:00:00:02"}
DEFAULT_SERIALS = {"left": "0000A001", "right": "0000A002"}
_GARBAGE_KINDS = ("random", "bad_crc", "truncated", "bad_version", "wrong_sensor_count")


class VirtualInsole:
    """The firmware of one virtual insole on a :class:`FakeBlueZ`.

    Parameters
    ----------
    bz : FakeBlueZ
    side : {"left", "right"}
        The side the insole *says* it is (identity and advertisement).
    address, serial : str
        BLE address and 8-hex-digit serial.
    gait : GaitParams
        Virtual subject (its ``sampling_rate_hz`` is replaced by ``rate_hz``).
    gait_side : {"left", "right"}, optional
        Which foot of the gait model it renders (default ``side``).
    rate_hz : float
        Nominal sampling rate (its own crystal runs ``drift_ppm`` fast).
    drift_ppm, boot_offset_s : float
        Crystal error in ppm; how long before the world's time zero it was switched on, s.
    frames_per_packet : int, optional
        Frames per notification (default: as many as fit an ATT MTU of 247, at most 10).
    battery_pct, battery_drain_pct_per_h : float
    world_time : callable() -> float
        The shared world clock, s (the harness's scaled monotonic clock).
    speed : float
        World seconds per real second (pacing).
    """

    def __init__(self, bz: FakeBlueZ, *, side: str, address: str, serial: str, gait: GaitParams,
                 rate_hz: float, world_time, speed: float = 1.0, gait_side: str | None = None,
                 drift_ppm: float = 0.0, boot_offset_s: float = 10.0, frames_per_packet: int | None = None,
                 battery_pct: float = 90.0, battery_drain_pct_per_h: float = 8.0,
                 firmware_version: str = "1.0.3", seed: int = 0) -> None:
        self.side, self.serial = side, serial
        self.gait_side = gait_side or side
        self.gait = gait
        self.world_time, self.speed = world_time, float(speed)
        self.drift_ppm, self.boot_offset_s = float(drift_ppm), float(boot_offset_s)
        self.battery_start_pct, self.battery_drain_pct_per_h = float(battery_pct), float(battery_drain_pct_per_h)
        self.firmware_version = firmware_version
        self.n_sensors = gait.n_sensors
        self.layout_id = layout_for(gait.n_sensors, self.gait_side).layout_id
        self.sample_width_bits = 16
        fpp_max = P.max_frames_per_packet(self.n_sensors, battery=True, imu=True)
        if fpp_max < 1:
            raise InputError(f"virtual insole: {self.n_sensors} sensors do not fit one notification")
        self.frames_per_packet = min(fpp_max, 10) if frames_per_packet is None else int(frames_per_packet)
        self.imu = False
        self.streaming = False
        self.seq = 0
        self.next_counter = 0
        self.packets_sent = 0
        self.frames_sent = 0
        self.last_packet: bytes | None = None
        self.back_at: float | None = None     # monotonic time the insole was last reachable again
        self._rng = random.Random(seed)
        self._set_rate(rate_hz)
        self.periph: FakePeripheral = bz.add_peripheral(
            address, P.local_name(side, serial), service_uuid=P.SERVICE_UUID,
            chars=[CharSpec(P.DATA_CHAR_UUID, ("notify",)),
                   CharSpec(P.CONTROL_CHAR_UUID, ("write", "notify")),
                   CharSpec(P.IDENTITY_CHAR_UUID, ("read",))],
            manufacturer_data={P.MANUFACTURER_ID: self._manufacturer_data()}, seed=seed)
        self.periph.on_read = self._on_read
        self.periph.on_write = self._on_write
        self.periph.on_connection = self._on_connection
        self._task: asyncio.Task | None = None
        self._wake = asyncio.Event()

    # --- state ---------------------------------------------------------------------------
    @property
    def address(self) -> str:
        return self.periph.address

    def _set_rate(self, rate_hz: float) -> None:
        self.rate_hz = float(rate_hz)
        self.true_rate_hz = self.rate_hz * (1 + self.drift_ppm * 1e-6)
        self.sim = GaitSimulator(dataclasses.replace(self.gait, sampling_rate_hz=self.rate_hz), None)

    def battery_pct(self) -> int:
        hours = max(self.world_time(), 0.0) / 3600.0
        return int(max(0.0, min(100.0, self.battery_start_pct - self.battery_drain_pct_per_h * hours)))

    def sampled(self) -> int:
        """Number of frames sampled since power-on (the next counter to be sampled)."""
        return int(np.floor((self.world_time() + self.boot_offset_s) * self.true_rate_hz))

    def identity(self) -> P.DeviceIdentity:
        scale = NEWTON_PER_COUNT * (16 if self.sample_width_bits == 12 else 1)
        cal = np.tile(np.array([[0.0, scale]], np.float32), (self.n_sensors, 1))
        return P.DeviceIdentity(side=self.side, serial=self.serial, firmware_version=self.firmware_version,
                                layout_id=self.layout_id, n_sensors=self.n_sensors,
                                sample_width_bits=self.sample_width_bits, nominal_rate_hz=self.rate_hz,
                                unit="N", calibration=cal)

    def _manufacturer_data(self) -> bytes:
        return P.encode_manufacturer_data(side=self.side, serial=self.serial, battery_pct=self.battery_pct())

    # --- GATT hooks ----------------------------------------------------------------------
    def _on_read(self, uuid: str) -> bytes:
        if uuid == P.IDENTITY_CHAR_UUID:
            return P.encode_identity(self.identity())
        return b""

    def _on_connection(self, connected: bool) -> None:
        if not connected:
            self.streaming = False
        self._wake.set()

    def _on_write(self, uuid: str, data: bytes) -> None:
        if uuid != P.CONTROL_CHAR_UUID:
            raise ValueError("characteristic is not writable")
        try:
            cmd = P.decode_control(data)
        except P.ProtocolError as exc:
            op = data[0] if data else 0
            reply = P.encode_control_response(op, exc.status)
        else:
            reply = self._execute(cmd)
        # the reply is notified after the write's ATT response, as a real device does
        asyncio.get_running_loop().call_soon(self.periph.notify, P.CONTROL_CHAR_UUID, reply)
        self._wake.set()

    def _execute(self, cmd: P.ControlCommand) -> bytes:
        op, S = cmd.op, P.ControlStatus
        if op == P.ControlOp.START:
            if not self.streaming:
                self.streaming = True
                self.next_counter = self.sampled()
            return P.encode_control_response(op, counter=self.next_counter)
        if op == P.ControlOp.STOP:
            self.streaming = False
            return P.encode_control_response(op, counter=self.next_counter)
        if op == P.ControlOp.TIME_SYNC:
            x = (self.world_time() + self.boot_offset_s) * self.true_rate_hz
            return P.encode_control_response(op, token=cmd.token, counter=int(x),
                                             subsample=int((x % 1.0) * 65536) & 0xFFFF)
        if self.streaming:
            return P.encode_control_response(op, S.BUSY)
        if op == P.ControlOp.SET_RATE:
            if not 20 <= cmd.rate_hz <= 2000:
                return P.encode_control_response(op, S.BAD_VALUE)
            self._set_rate(cmd.rate_hz)
            return P.encode_control_response(op, rate_mhz=round(self.rate_hz * 1000))
        if op == P.ControlOp.SET_FRAMES_PER_PACKET:
            if P.packet_size(cmd.n_frames, self.n_sensors, battery=True, imu=True) > 244:
                return P.encode_control_response(op, S.BAD_VALUE)
            self.frames_per_packet = cmd.n_frames
            return P.encode_control_response(op, value=cmd.n_frames)
        if op == P.ControlOp.SET_SAMPLE_WIDTH:
            self.sample_width_bits = cmd.sample_width_bits
            return P.encode_control_response(op, value=cmd.sample_width_bits)
        if op == P.ControlOp.SET_IMU:
            self.imu = bool(cmd.enabled)
            return P.encode_control_response(op, value=int(self.imu))
        return P.encode_control_response(op, S.UNKNOWN_OPCODE)

    # --- streaming -------------------------------------------------------------------------
    def _frames(self, first: int, n: int) -> np.ndarray:
        """Raw ADC counts of frames ``first .. first+n-1`` (vectorized)."""
        counters = np.arange(first, first + n, dtype=np.int64)
        world_s = counters / self.true_rate_hz - self.boot_offset_s
        idx = np.clip(np.round(world_s * self.rate_hz).astype(np.int64), 0, None)
        force = self.sim.render(int(idx[0]), int(idx[-1]) + 1)[self.gait_side][idx - idx[0]]
        vmax = 4095 if self.sample_width_bits == 12 else 65535
        scale = NEWTON_PER_COUNT * (16 if self.sample_width_bits == 12 else 1)
        return np.clip(np.round(force / scale), 0, vmax).astype(np.uint16)

    def _packet(self, first: int, n: int) -> bytes:
        imu = None
        if self.imu:
            imu = np.array([0, 0, 4096, 0, 0, 0]) + np.array([self._rng.randint(-40, 40) for _ in range(6)])
        pkt = P.encode_packet(seq=self.seq, first_counter=first, frames=self._frames(first, n),
                              battery_pct=self.battery_pct() if self.seq % 16 == 0 else None, imu=imu,
                              sample_width_bits=self.sample_width_bits)
        self.seq = (self.seq + 1) % 65536
        return pkt

    def _can_send(self) -> bool:
        return self.streaming and self.periph.is_notifying(P.DATA_CHAR_UUID)

    async def run(self) -> None:
        """Sample and send until cancelled (the firmware main loop)."""
        adv_due = 0.0
        while True:
            fpp = self.frames_per_packet
            sampled = self.sampled()
            if self._can_send():
                sent_now = 0
                while self.next_counter + fpp <= sampled and sent_now < 64:
                    pkt = self._packet(self.next_counter, fpp)
                    if not self.periph.notify(P.DATA_CHAR_UUID, pkt):
                        break
                    self.last_packet = pkt
                    self.next_counter += fpp
                    self.packets_sent += 1
                    self.frames_sent += fpp
                    sent_now += 1
                if sent_now == 64:          # let the bus writer drain before the next batch
                    await asyncio.sleep(0)
                    continue
                due_world = (self.next_counter + fpp) / self.true_rate_hz - self.boot_offset_s
                delay = (due_world - self.world_time()) / self.speed
            else:
                self.next_counter = sampled            # nobody listens: these frames are lost
                delay = 0.05
            now = time.monotonic()
            if now >= adv_due:                        # refresh the battery in the advertisement
                self.periph.manufacturer_data = {P.MANUFACTURER_ID: self._manufacturer_data()}
                adv_due = now + 1.0
            self._wake.clear()
            if delay > 0:
                try:
                    async with asyncio.timeout(min(delay, 0.05)):
                        await self._wake.wait()
                except TimeoutError:
                    pass

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    # --- fault injection -------------------------------------------------------------------
    def send_garbage(self, n: int, kind: str = "random") -> int:
        """Notify ``n`` malformed data packets of ``kind``; returns how many went out."""
        if kind not in _GARBAGE_KINDS:
            raise InputError(f"garbage kind {kind!r}: use one of {_GARBAGE_KINDS}")
        sent = 0
        for _ in range(n):
            good = bytearray(P.encode_packet(seq=self.seq, first_counter=self.next_counter,
                                             frames=np.zeros((1, self.n_sensors), np.uint16)))
            if kind == "random":
                pkt = bytes(self._rng.randrange(256) for _ in range(self._rng.randrange(0, 60)))
            elif kind == "bad_crc":
                good[-1] ^= 0x5A
                pkt = bytes(good)
            elif kind == "truncated":
                pkt = bytes(good[: self._rng.randrange(0, len(good) - 1)])
            elif kind == "bad_version":
                good[0] = 0x7E
                pkt = bytes(good)
            else:
                good[9] = (self.n_sensors % 255) + 1
                pkt = bytes(good)
            sent += self.periph.notify(P.DATA_CHAR_UUID, pkt)
        return sent

    def resend_last(self, n: int = 1) -> int:
        """Notify the last data packet again ``n`` times (duplicates, as after an ATT retry)."""
        if self.last_packet is None:
            return 0
        return sum(self.periph.notify(P.DATA_CHAR_UUID, self.last_packet) for _ in range(n))
