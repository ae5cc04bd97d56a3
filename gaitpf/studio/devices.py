"""Insoles: the clinic's allow-list, left/right assignment, and the acquisition thread.

:class:`DeviceConfig` is the remembered part (``ROOT/.gaitpf-devices.json``): which insole
addresses the clinic allows and which one is worn on which foot. :meth:`DeviceConfig.assign`
refuses what would record the wrong thing (one insole on both feet, an insole that
advertises the other side, an address that was not seen in the scan) with a one-line
:class:`DeviceAssignmentError`.

:class:`DeviceService` owns acquisition: a daemon thread running its own asyncio loop, in
which scans and recordings run (the Qt thread only submits work and reads results). With
``simulate`` it starts the virtual-insole harness once (a private D-Bus, a fake BlueZ and
two virtual insoles, :class:`~gaitpf.sim.harness.VirtualInsoleHarness`): the studio
then scans and records them through the same bleak client, decoder and recorder as real
insoles, exactly like ``gaitpf record --simulate``.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import threading
from pathlib import Path
from typing import Any, Awaitable, Iterable

from ..errors import DeviceError, InputError
from ..model import SIDES

__all__ = ["DeviceAssignmentError", "DeviceConfig", "DeviceService", "DEVICES_FILE"]

log = logging.getLogger(__name__)

DEVICES_FILE = ".gaitpf-devices.json"


class DeviceAssignmentError(InputError):
    """An insole cannot be assigned to that foot (the message says why and what to do)."""


class DeviceConfig:
    """Allow-list and left/right assignment, remembered in ``ROOT/.gaitpf-devices.json``."""

    def __init__(self, root: str | Path) -> None:
        self.path = Path(root) / DEVICES_FILE
        data: dict[str, Any] = {}
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable (%s); starting with an empty allow-list", self.path, exc)
        self.allow: set[str] = {str(a).upper() for a in data.get("allow", [])}
        self.assigned: dict[str, str | None] = {s: (str(data[s]).upper() if data.get(s) else None) for s in SIDES}

    def save(self) -> None:
        from .patients import _write_json

        _write_json(self.path, {"allow": sorted(self.allow), **self.assigned})

    def assign(self, side: str, address: str, adverts: Iterable[Any]) -> None:
        """Wear insole ``address`` on ``side`` (and allow-list it); saved at once.

        Raises
        ------
        DeviceAssignmentError
            Unknown side, an address not in the scan, an insole advertising the other side,
            or the insole already worn on the other foot.
        """
        if side not in SIDES:
            raise DeviceAssignmentError(f"side must be left or right, not {side!r}")
        addr = str(address).upper()
        seen = {a.address.upper(): a for a in adverts}
        if addr not in seen:
            raise DeviceAssignmentError(f"insole {addr} was not found in the last scan; switch it on and scan again")
        adv_side = seen[addr].side
        if adv_side in SIDES and adv_side != side:
            raise DeviceAssignmentError(f"insole {addr} is a {adv_side} insole; it cannot be worn on the {side} foot")
        other = "right" if side == "left" else "left"
        if self.assigned.get(other) == addr:
            raise DeviceAssignmentError(f"insole {addr} is already assigned to the {other} foot; "
                                        "each foot needs its own insole")
        self.assigned[side] = addr
        self.allow.add(addr)
        self.save()

    def forget(self, address: str) -> None:
        """Remove an insole from the allow-list (and from a foot)."""
        addr = str(address).upper()
        self.allow.discard(addr)
        for s in SIDES:
            if self.assigned.get(s) == addr:
                self.assigned[s] = None
        self.save()

    def ready(self) -> tuple[str, str]:
        """The (left, right) addresses to record, or DeviceAssignmentError saying what is missing."""
        missing = [s for s in SIDES if not self.assigned.get(s)]
        if missing:
            raise DeviceAssignmentError(f"assign the {' and '.join(missing)} insole first (Devices: scan, then "
                                        "pick an insole per foot)")
        return self.assigned["left"], self.assigned["right"]  # type: ignore[return-value]


class DeviceService:
    """The acquisition thread: an asyncio loop for scans and recordings (and the virtual insoles).

    Parameters
    ----------
    simulate : bool
        Start the virtual-insole harness in this loop (no hardware needed).
    gait : GaitParams, optional
        The virtual subject (``simulate``).
    speed : float
        ``simulate``: virtual seconds per real second (tests and demos run faster).
    """

    def __init__(self, *, simulate: bool = False, gait: Any = None, speed: float = 1.0, seed: int = 0) -> None:
        self.simulate, self.gait, self.speed, self.seed = simulate, gait, float(speed), int(seed)
        self.harness: Any = None
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="gaitpf-studio-devices", daemon=True)
        self._started = False

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self, timeout_s: float = 30.0) -> "DeviceService":
        """Start the thread (and the virtual insoles); DeviceError if they cannot start."""
        self._thread.start()
        self._started = True
        if self.simulate:
            self.call(self._start_harness(), timeout_s=timeout_s)
        return self

    async def _start_harness(self) -> None:
        from ..sim.gait_model import GaitParams
        from ..sim.harness import VirtualInsoleHarness

        gait = self.gait if self.gait is not None else GaitParams(seed=self.seed)
        h = VirtualInsoleHarness(gait, rate_hz=float(gait.sampling_rate_hz), seed=self.seed, speed=self.speed)
        self.harness = await h.__aenter__()

    def submit(self, coro: Awaitable[Any]) -> concurrent.futures.Future:
        """Run ``coro`` in the acquisition loop; returns a thread-safe future."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]

    def call(self, coro: Awaitable[Any], timeout_s: float = 30.0) -> Any:
        """Run ``coro`` in the acquisition loop and wait for its result."""
        return self.submit(coro).result(timeout_s)

    def scan(self, timeout_s: float = 3.0) -> concurrent.futures.Future:
        """Scan for insoles (a future of a list of :class:`~gaitpf.acquisition.ble.InsoleAdvert`)."""
        from ..acquisition.ble import scan_insoles

        return self.submit(scan_insoles(timeout_s))

    def default_addresses(self) -> dict[str, str]:
        """The virtual insoles' addresses (``simulate``), else an empty dict."""
        if self.harness is None:
            return {}
        return {"left": self.harness.left_address.upper(), "right": self.harness.right_address.upper()}

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop the virtual insoles and the loop (recordings must be stopped first)."""
        if not self._started:
            return
        if self.harness is not None:
            try:
                self.call(self.harness.__aexit__(None, None, None), timeout_s=timeout_s)
            except (concurrent.futures.TimeoutError, DeviceError, OSError) as exc:
                log.warning("stopping the virtual insoles: %s", exc)
            self.harness = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout_s)
        if not self._thread.is_alive():
            self.loop.close()
        self._started = False
