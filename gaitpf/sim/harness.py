"""Private bus + fake BlueZ + a left and a right virtual insole, with fault injection.

The insoles themselves are :class:`gaitpf.sim.virtual_insole.VirtualInsole` (and
:mod:`gaitpf.sim.virtual_orphe`); this module only assembles and steers them.
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Mapping

from ..errors import InputError
from ..model import SIDES
from .fake_bluez import FakeBlueZ
from .gait_model import GaitParams
from .privbus import PrivateSystemBus
from .virtual_insole import DEFAULT_ADDRESSES, DEFAULT_SERIALS, VirtualInsole

__all__ = ["VirtualInsoleHarness"]

log = logging.getLogger(__name__)


class VirtualInsoleHarness:
    """Two virtual insoles reachable through unmodified bleak, in the current event loop.

    Parameters
    ----------
    gait : GaitParams, optional
        The virtual subject (default ``GaitParams(seed=seed)``); its rate is set to ``rate_hz``.
    rate_hz : float
        Nominal sampling rate of both insoles, Hz.
    seed : int
        Seed of the advertising/fault randomness (the gait's own seed is ``gait.seed``).
    speed : float
        World seconds per real second: the insoles sample and send ``speed`` times faster than
        real time (host times must then be scaled by ``speed``: ``BleInsoleSource(time_scale=)``).
    frames_per_packet : int, optional
        Frames per notification (default: as many as fit, at most 10).
    drift_ppm, boot_offset_s, battery_pct : mapping side -> float, optional
        Per-insole crystal error (default left +35, right −20 ppm), time switched on before the
        harness started (default 12.5 s / 3.25 s), initial battery level (88 % / 71 %).
    addresses, serials : mapping side -> str, optional
    device_type : {"gaitpf", "orphe"}
        Which virtual insoles: gaitpf insoles, or ORPHE INSOLEs
        (:mod:`gaitpf.sim.virtual_orphe`; ``rate_hz``, drift and battery options then do not apply).

    Attributes
    ----------
    insoles : dict name -> VirtualInsole
        ``"left"``, ``"right"`` and any added with :meth:`add_insole`.
    bluez : FakeBlueZ
    """

    def __init__(self, gait: GaitParams | None = None, *, rate_hz: float = 100.0, seed: int = 0,
                 speed: float = 1.0, frames_per_packet: int | None = None,
                 drift_ppm: Mapping[str, float] | None = None, boot_offset_s: Mapping[str, float] | None = None,
                 battery_pct: Mapping[str, float] | None = None, addresses: Mapping[str, str] | None = None,
                 serials: Mapping[str, str] | None = None, device_type: str = "gaitpf") -> None:
        if device_type not in ("gaitpf", "orphe"):
            raise InputError(f"unknown virtual device type {device_type!r}; use gaitpf or orphe")
        self.device_type = device_type
        if not 0.1 <= speed <= 50:
            raise InputError(f"virtual insole speed={speed} must be within 0.1–50 (x real time)")
        self.gait = gait if gait is not None else GaitParams(seed=seed)
        self.rate_hz, self.seed, self.speed = float(rate_hz), int(seed), float(speed)
        self.frames_per_packet = frames_per_packet
        self._drift = {"left": 35.0, "right": -20.0, **(drift_ppm or {})}
        self._boot = {"left": 12.5, "right": 3.25, **(boot_offset_s or {})}
        self._battery = {"left": 88.0, "right": 71.0, **(battery_pct or {})}
        self._given_addresses = dict(addresses or {})
        self.addresses = {**DEFAULT_ADDRESSES, **self._given_addresses}
        self.serials = {**DEFAULT_SERIALS, **(serials or {})}
        self.insoles: dict[str, VirtualInsole] = {}
        self.bluez: FakeBlueZ | None = None
        self.bus: PrivateSystemBus | None = None
        self.t0_monotonic: float | None = None
        self._tasks: set[asyncio.Task] = set()

    # --- lifecycle ---------------------------------------------------------------------------
    @property
    def left_address(self) -> str:
        return self.addresses["left"]

    @property
    def right_address(self) -> str:
        return self.addresses["right"]

    def world_time(self) -> float:
        """Seconds of virtual world time since the harness started (``speed`` x real time)."""
        return (time.monotonic() - self.t0_monotonic) * self.speed

    async def __aenter__(self) -> "VirtualInsoleHarness":
        # there is no bluetoothctl behind the fake BlueZ: bleak's version probe warns about it
        logging.getLogger("bleak.backends.bluezdbus.version").setLevel(logging.ERROR)
        self.bus = PrivateSystemBus()
        self.bus.start()
        try:
            self.bluez = await FakeBlueZ().start()
            self.t0_monotonic = time.monotonic()
            if self.device_type == "orphe":
                from .virtual_orphe import ORPHE_ADDRESSES, add_orphe_pair

                self.addresses = {**ORPHE_ADDRESSES, **self._given_addresses}
                add_orphe_pair(self)
                return self
            for i, side in enumerate(SIDES):
                self.add_insole(side, side=side, address=self.addresses[side], serial=self.serials[side],
                                drift_ppm=self._drift[side], boot_offset_s=self._boot[side],
                                battery_pct=self._battery[side], seed=self.seed * 10 + i)
        except BaseException:
            await self._shutdown()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._shutdown()

    async def _shutdown(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        for ins in self.insoles.values():
            await ins.stop()
        if self.bluez is not None:
            await self.bluez.stop()
        if self.bus is not None:
            self.bus.stop()

    def add_insole(self, name: str, *, side: str, address: str, serial: str, drift_ppm: float = 0.0,
                   boot_offset_s: float = 5.0, battery_pct: float = 80.0, seed: int = 99) -> VirtualInsole:
        """Add (and start) another virtual insole, e.g. one that is not allow-listed."""
        if name in self.insoles:
            raise InputError(f"virtual insole {name!r} exists already")
        ins = VirtualInsole(self.bluez, side=side, address=address, serial=serial, gait=self.gait,
                            gait_side=side, rate_hz=self.rate_hz, world_time=self.world_time,
                            speed=self.speed, drift_ppm=drift_ppm, boot_offset_s=boot_offset_s,
                            frames_per_packet=self.frames_per_packet, battery_pct=battery_pct, seed=seed)
        self.insoles[name] = ins
        ins.start()
        return ins

    def _insole(self, name: str) -> VirtualInsole:
        try:
            return self.insoles[name]
        except KeyError:
            raise InputError(f"no virtual insole {name!r}; have {sorted(self.insoles)}") from None

    def _later(self, coro) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- fault injection -----------------------------------------------------------------------
    async def drop_link(self, name: str, *, for_s: float = 1.0) -> None:
        """The insole walks out of range: link lost now, reachable again after ``for_s`` (real s).

        Returns at once; ``insoles[name].back_at`` is the monotonic time it became reachable.
        """
        ins = self._insole(name)
        ins.back_at = None
        ins.periph.reachable = False
        self.bluez.link_lost(ins.periph)

        async def come_back() -> None:
            await asyncio.sleep(for_s)
            ins.periph.reachable = True
            ins.back_at = time.monotonic()

        self._later(come_back())

    def set_loss(self, name: str, prob: float) -> None:
        """Lose each notification over the air with probability ``prob`` (0 = off)."""
        if not 0 <= prob < 1:
            raise InputError(f"loss probability {prob} must be within [0, 1)")
        self._insole(name).periph.loss_prob = float(prob)

    def send_garbage(self, name: str, n: int = 10, kind: str = "random") -> int:
        """Send ``n`` malformed notifications (random, bad_crc, truncated, bad_version, ...)."""
        return self._insole(name).send_garbage(n, kind)

    def resend_last(self, name: str, n: int = 1) -> int:
        """Send the last data notification again ``n`` times (duplicates)."""
        return self._insole(name).resend_last(n)

    async def burst(self, name: str, *, hold_s: float) -> int:
        """Hold notifications back for ``hold_s`` then deliver them at once; returns how many."""
        p = self._insole(name).periph
        p.hold()
        await asyncio.sleep(hold_s)
        return p.release()

    def kill_bluez(self) -> None:
        """The BlueZ service dies (no disconnect signal reaches bleak)."""
        self.bluez.kill()

    async def restart_bluez(self) -> None:
        """BlueZ comes back (insoles advertise again; clients must rescan and reconnect)."""
        await self.bluez.restart()
