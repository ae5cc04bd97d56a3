"""Virtual ORPHE INSOLEs on the fake BlueZ: the twin of :mod:`gaitpf.acquisition.orphe`.

A :class:`VirtualOrpheInsole` speaks the documented ORPHE GATT interface
(:mod:`gaitpf.acquisition.orphe_protocol`): a readable (and writable) DEVICE_INFORMATION whose
``mount_position`` gives the side, the ``[0x0D, mode]`` write selecting streaming mode 3 or 4,
and 104-byte big-endian SENSOR_VALUES notifications (2 or 4 samples sharing one device
timestamp) while a host is subscribed. Its six pressure channels render the virtual gait
(:class:`gaitpf.sim.gait_model.GaitSimulator`) on :func:`~gaitpf.acquisition.orphe_protocol.orphe_layout`
and are reported as ADC counts (``COUNTS_PER_NEWTON`` per N, clipped at 65535).

Firmware behaviour of the twin (the device documents none of it; chosen to exercise the
receiver): the packet counter and the device clock run from power-on whether or not anyone
listens, so packets not sent while disconnected show as a counter jump; the default power-on
times put both counters a few seconds before their 65535 → 0 wrap and the right insole's clock
a few seconds before midnight, so every simulated recording crosses a counter wrap and a device
clock wrap; the right insole has the lower address (it is found and connected first), so sides
must come from the mount position. All characteristics sit under one service on the fake
BlueZ (bleak finds characteristics by UUID).

:func:`add_orphe_pair` adds a left and a right one to a
:class:`~gaitpf.sim.harness.VirtualInsoleHarness` (``device_type="orphe"``), whose fault
injection (``drop_link``, ``send_garbage``…) then works on them too.
"""
from __future__ import annotations

import asyncio
import dataclasses
import random
from typing import Any

import numpy as np

from ..acquisition import orphe_protocol as O
from ..errors import InputError
from . import pressure
from .fake_bluez import CharSpec, FakeBlueZ, FakePeripheral
from .gait_model import GaitParams, GaitSimulator

__all__ = ["VirtualOrpheInsole", "add_orphe_pair", "ORPHE_ADDRESSES", "COUNTS_PER_NEWTON"]

#: ADC counts per newton of the virtual pressure channels (linear; saturates at 65535)
COUNTS_PER_NEWTON = 60.0
#: right insole first in address order (connection order must not decide the side)
ORPHE_ADDRESSES = {"left": "0E:4F:00:00:00:02", "right": "0E:4F:00:00:00:01"}
_GARBAGE_KINDS = ("random", "truncated", "wrong_mode")


class VirtualOrpheInsole:
    """The firmware of one virtual ORPHE INSOLE on a :class:`FakeBlueZ`.

    Parameters
    ----------
    bz : FakeBlueZ
    side : {"left", "right"}
        Its mount position (DEVICE_INFORMATION bit 0).
    address : str
    gait : GaitParams
        The virtual subject (rendered with six ORPHE channels).
    world_time : callable() -> float
        Shared world clock, s; ``speed`` world seconds per real second.
    boot_offset_s : float
        How long before world time zero it was switched on (sets where its packet counter is).
    clock_ms_at_boot : int
        Device clock (ms since midnight) at power-on.
    drift_ppm : float
        Crystal error.
    """

    def __init__(self, bz: FakeBlueZ, *, side: str, address: str, gait: GaitParams, world_time, speed: float = 1.0,
                 boot_offset_s: float = 1300.0, clock_ms_at_boot: int = 36_000_000, drift_ppm: float = 0.0,
                 seed: int = 0) -> None:
        self.side, self.world_time, self.speed = side, world_time, float(speed)
        self.boot_offset_s, self.clock_ms_at_boot = float(boot_offset_s), int(clock_ms_at_boot)
        self.drift = 1.0 + float(drift_ppm) * 1e-6
        self.mode = O.MODES[4]
        self.gait = gait
        self._sims: dict[float, GaitSimulator] = {}
        self.next_packet = 0
        self.packets_sent = 0
        self._rng = random.Random(seed)
        self.periph: FakePeripheral = bz.add_peripheral(
            address, "ORPHE INSOLE", service_uuid=O.INFORMATION_SERVICE_UUID,
            chars=[CharSpec(O.DEVICE_INFORMATION_CHAR_UUID, ("read", "write")),
                   CharSpec(O.SENSOR_VALUES_CHAR_UUID, ("notify",))],
            manufacturer_data={0x0000: self._manufacturer_data()}, seed=seed)
        self.periph.on_read = lambda uuid: O.encode_device_information(side=self.side)
        self.periph.on_write = self._on_write
        self._task: asyncio.Task | None = None

    @property
    def address(self) -> str:
        return self.periph.address

    def _manufacturer_data(self) -> bytes:
        md = bytearray(18)
        md[5], md[6], md[14] = 2, 1 if self.side == "right" else 0, 2   # model, mounting, battery
        return bytes(md)

    def _sim(self) -> GaitSimulator:
        rate = self.mode.sampling_rate_hz
        if rate not in self._sims:
            sim = GaitSimulator(dataclasses.replace(self.gait, sampling_rate_hz=rate, n_sensors=O.N_PRESSURE), None)
            sim.layouts = {s: O.orphe_layout(s) for s in sim.layouts}
            sim._area_to_sensor = {s: pressure.footprints(lay) for s, lay in sim.layouts.items()}
            self._sims[rate] = sim
        return self._sims[rate]

    def _on_write(self, uuid: str, data: bytes) -> None:
        mode = O.parse_mode_write(data) if uuid == O.DEVICE_INFORMATION_CHAR_UUID else None
        if mode is None:
            raise ValueError("not a streaming-mode write")
        if mode in O.MODES and O.MODES[mode] != self.mode:
            self.mode = O.MODES[mode]
            self.next_packet = self.sampled_packets()

    def device_s(self) -> float:
        """Seconds on the device's crystal since power-on."""
        return (self.world_time() + self.boot_offset_s) * self.drift

    def sampled_packets(self) -> int:
        return int(np.floor(self.device_s() * self.mode.packet_rate_hz))

    def _packet(self, k: int) -> bytes:
        spp, rate = self.mode.samples_per_packet, self.mode.sampling_rate_hz
        first = k * spp
        world_s = np.arange(first, first + spp) / (rate * self.drift) - self.boot_offset_s   # sampled then
        idx = np.clip(np.round(world_s * rate), 0, None).astype(int)
        force = self._sim().render(int(idx[0]), int(idx[-1]) + 1)[self.side][idx - idx[0]]
        counts = np.clip(np.round(force * COUNTS_PER_NEWTON), 0, O.SATURATED_COUNT).astype(np.uint16)
        acc = np.tile(np.array([0, 0, 2048], np.int16), (spp, 1))          # 1 g at ±16 g
        dev_ms = self.clock_ms_at_boot + int(first / rate * 1000)
        return O.encode_sensor_values(self.mode, k, dev_ms, counts, acc=acc)

    async def run(self) -> None:
        """Send every complete packet while someone listens; skip them otherwise."""
        while True:
            due = self.sampled_packets()
            if self.periph.is_notifying(O.SENSOR_VALUES_CHAR_UUID):
                sent = 0
                while self.next_packet < due and sent < 64:
                    if not self.periph.notify(O.SENSOR_VALUES_CHAR_UUID, self._packet(self.next_packet)):
                        break
                    self.next_packet += 1
                    self.packets_sent += 1
                    sent += 1
                if sent == 64:
                    await asyncio.sleep(0)
                    continue
            else:
                self.next_packet = due
            next_due_s = (self.next_packet + 1) / self.mode.packet_rate_hz / self.drift - self.boot_offset_s
            await asyncio.sleep(min(max((next_due_s - self.world_time()) / self.speed, 0.001), 0.05))

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

    def send_garbage(self, n: int, kind: str = "random") -> int:
        """Notify ``n`` malformed SENSOR_VALUES packets (random bytes, truncated, other header)."""
        if kind not in _GARBAGE_KINDS:
            raise InputError(f"garbage kind {kind!r}: use one of {_GARBAGE_KINDS}")
        sent = 0
        for _ in range(n):
            good = self._packet(self.next_packet)
            if kind == "random":
                pkt = bytes(self._rng.randrange(256) for _ in range(self._rng.randrange(1, 120)))
                if len(pkt) == O.PACKET_SIZE:
                    pkt = pkt[:-1]
            elif kind == "truncated":
                pkt = good[: self._rng.randrange(0, O.PACKET_SIZE - 1)]
            else:
                pkt = bytes([50]) + good[1:]
            sent += self.periph.notify(O.SENSOR_VALUES_CHAR_UUID, pkt)
        return sent


def add_orphe_pair(harness: Any) -> None:
    """Add a left and a right virtual ORPHE INSOLE to a started harness (``insoles["left"/"right"]``).

    Packet counters start 3 s (left) and 5 s (right) of world time before their wrap; the right
    insole's clock starts 6 s before midnight.
    """
    pr = O.MODES[4].packet_rate_hz
    boot = {"left": (O.COUNTER_MOD - 3 * pr) / pr, "right": (O.COUNTER_MOD - 5 * pr) / pr}
    clock = {"left": 36_000_000, "right": O.DAY_MS - 6000 - int(boot["right"] * 1000)}
    drift = {"left": 35.0, "right": -20.0}
    for i, side in enumerate(("left", "right")):
        address = harness.addresses.get(side, ORPHE_ADDRESSES[side])
        if side in harness.insoles:
            raise InputError(f"virtual insole {side!r} exists already")
        ins = VirtualOrpheInsole(harness.bluez, side=side, address=address, gait=harness.gait,
                                 world_time=harness.world_time, speed=harness.speed, boot_offset_s=boot[side],
                                 clock_ms_at_boot=clock[side], drift_ppm=drift[side], seed=harness.seed * 10 + i)
        harness.insoles[side] = ins
        ins.start()
