"""A small BlueZ look-alike (bus name ``org.bluez``) for testing without a radio.

It exports, with dbus-fast's service API, just what bleak's BlueZ backend uses::

    /org/bluez/hci0                              org.bluez.Adapter1
    /org/bluez/hci0/dev_XX_XX_XX_XX_XX_XX        org.bluez.Device1
    .../service000a                              org.bluez.GattService1
    .../service000a/char000b                     org.bluez.GattCharacteristic1
    .../service000a/char000b/desc000d            org.bluez.GattDescriptor1 (CCCD, notify chars)

The D-Bus objects themselves are in :mod:`gaitpf.sim.bluez_objects`.
ObjectManager (GetManagedObjects, InterfacesAdded/Removed) comes from dbus-fast's
``export``/``unexport``. Like bluetoothd, discovery and notification sessions are tracked per
D-Bus sender (a second StartDiscovery from the same client gets ``InProgress``; a client that
leaves the bus loses its sessions). The peripherals are generic: a virtual device
(:mod:`gaitpf.sim.virtual_insole`) describes its GATT table and hooks reads, writes and
notification subscriptions, and pushes values with :meth:`FakePeripheral.notify`.

Fault injection: :meth:`FakeBlueZ.link_lost` (supervision timeout), ``FakePeripheral.reachable``
(out of range: no advertising, Connect waits then fails), :meth:`FakeBlueZ.kill` (bluetoothd
dies: no signal at all, the name vanishes), :meth:`FakeBlueZ.restart`, and per peripheral
``loss_prob`` (notifications lost over the air) and :meth:`FakePeripheral.hold` (a burst:
notifications held back, then delivered at once).
"""
from __future__ import annotations

import asyncio
import collections
import fcntl
import logging
import random
import termios
import time
from typing import Callable

from dbus_fast import BusType, DBusError, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from .bluez_objects import (ADAPTER_IFACE, CCCD_UUID, CHAR_IFACE, ERR_FAILED, ERR_IN_PROGRESS, ERR_NOT_CONNECTED,
                            ERR_NOT_SUPPORTED, CharSpec, _Adapter1, _Device1, _GattCharacteristic1,
                            _GattDescriptor1, _GattService1)

__all__ = ["CCCD_UUID", "CharSpec", "FakePeripheral", "FakeBlueZ", "device_path"]

log = logging.getLogger(__name__)

_ADAPTER = ADAPTER_IFACE
#: Unsent bytes in the bus socket above which notifications wait (dbus-fast's writer dies
#: with EAGAIN when it writes into a full socket, so the fake never lets it fill up).
_MAX_OUTQ_BYTES = 32 * 1024
_CHAR = CHAR_IFACE


def device_path(adapter_path: str, address: str) -> str:
    """BlueZ object path of a device (``/org/bluez/hci0/dev_AA_BB_...``)."""
    return f"{adapter_path}/dev_{address.upper().replace(':', '_')}"


class FakePeripheral:
    """A BLE peripheral known to the fake BlueZ (one primary service).

    Hooks (set by the virtual device): ``on_read(uuid) -> bytes``, ``on_write(uuid, data)``
    (raise ValueError to reject), ``on_subscribe(uuid, on)``, ``on_connection(connected)``.
    """

    def __init__(self, bz: "FakeBlueZ", address: str, name: str, *, service_uuid: str,
                 chars: list[CharSpec], manufacturer_data: dict[int, bytes] | None = None,
                 rssi: int = -60, tx_power: int = 0, connect_delay_s: float = 0.03,
                 connect_timeout_s: float = 2.0, seed: int = 0) -> None:
        self.bz = bz
        self.address = address.upper()
        self.name = name
        self.service_uuid = service_uuid
        self.chars = list(chars)
        self.manufacturer_data = dict(manufacturer_data or {})
        self.rssi, self.tx_power = rssi, tx_power
        self.connect_delay_s, self.connect_timeout_s = connect_delay_s, connect_timeout_s
        self.reachable = True            # in range and advertising when not connected
        self.fail_connect: str | None = None
        self.loss_prob = 0.0             # probability that a notification is lost over the air
        self.connected = False
        self.services_resolved = False
        self.on_read: Callable[[str], bytes] | None = None
        self.on_write: Callable[[str, bytes], None] | None = None
        self.on_subscribe: Callable[[str, bool], None] | None = None
        self.on_connection: Callable[[bool], None] | None = None
        self.sent = 0                    # notifications emitted on the bus
        self.lost = 0                    # notifications dropped by ``loss_prob``
        self._rng = random.Random(seed)
        self._held: list[tuple[str, bytes]] | None = None
        self._dev: _Device1 | None = None
        self._gatt: dict[str, _GattCharacteristic1] = {}   # uuid -> characteristic
        self._gatt_paths: list[str] = []

    @property
    def path(self) -> str:
        return device_path(self.bz.adapter_path, self.address)

    def char_path(self, uuid: str) -> str:
        """Object path of a characteristic (BlueZ-style handles, for tests)."""
        i = [c.uuid for c in self.chars].index(uuid)
        return f"{self.path}/service000a/char{0x0B + 3 * i:04x}"

    def is_notifying(self, uuid: str) -> bool:
        ch = self._gatt.get(uuid)
        return ch is not None and ch.notifying

    def notify(self, uuid: str, value: bytes) -> bool:
        """Send a notification; False when nobody can receive it (not connected/subscribed)."""
        ch = self._gatt.get(uuid)
        if not (self.connected and self.bz.alive and ch is not None and ch.notifying):
            return False
        if self.loss_prob and self._rng.random() < self.loss_prob:
            self.lost += 1
            return True
        if self._held is not None:
            self._held.append((uuid, value))
            return True
        ch.value = value
        self.bz.emit_value(ch, value)
        self.sent += 1
        return True

    def hold(self) -> None:
        """Start holding notifications back (the first half of a burst)."""
        if self._held is None:
            self._held = []

    def release(self) -> int:
        """Deliver all held notifications at once; return how many."""
        held, self._held = self._held or [], None
        for uuid, value in held:
            self.notify(uuid, value)
        return len(held)


class FakeBlueZ:
    """Owns the dbus-fast connection that holds ``org.bluez`` on the (private) system bus.

    Use in the same event loop as bleak: ``bz = await FakeBlueZ().start()``.
    """

    def __init__(self, adapter: str = "hci0", *, advert_interval_s: float = 0.1) -> None:
        self.adapter_path = f"/org/bluez/{adapter}"
        self.advert_interval_s = advert_interval_s
        self.peripherals: dict[str, FakePeripheral] = {}
        self.bus: MessageBus | None = None
        self._adapter: _Adapter1 | None = None
        self._discovery: set[str] = set()
        self._adv_task: asyncio.Task | None = None
        self._outbox: collections.deque = collections.deque()   # (characteristic, value) waiting
        self._drain_task: asyncio.Task | None = None

    @property
    def alive(self) -> bool:
        return self.bus is not None and self.bus.connected

    async def start(self) -> "FakeBlueZ":
        """Connect to the system bus, export the adapter and take the name ``org.bluez``."""
        self.bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        self._adapter = _Adapter1(self)
        self.bus.export(self.adapter_path, self._adapter)
        self.bus.add_message_handler(self._on_msg)
        rule = ("type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
                "member='NameOwnerChanged'")
        await self.bus.call(Message(destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
                                    interface="org.freedesktop.DBus", member="AddMatch",
                                    signature="s", body=[rule]))
        await self.bus.request_name("org.bluez")
        return self

    def add_peripheral(self, address: str, name: str, **kw) -> FakePeripheral:
        """Register a peripheral (it appears on the bus when a discovery sees it)."""
        p = FakePeripheral(self, address, name, **kw)
        self.peripherals[p.address] = p
        return p

    # --- flow control of notifications --------------------------------------------------
    def _congested(self) -> bool:
        try:
            unsent = int.from_bytes(fcntl.ioctl(self.bus._fd, termios.TIOCOUTQ, b"\0\0\0\0"), "little")
        except (OSError, TypeError):
            return False
        return unsent > _MAX_OUTQ_BYTES

    def emit_value(self, ch: "_GattCharacteristic1", value: bytes) -> None:
        """Emit a Value change now, or queue it (in order) while the bus socket is backed up."""
        if self._outbox or self._congested():
            self._outbox.append((ch, value))
            if self._drain_task is None or self._drain_task.done():
                self._drain_task = asyncio.ensure_future(self._drain())
            return
        ch.emit_properties_changed({"Value": value})

    async def _drain(self) -> None:
        while self._outbox and self.alive:
            if self._congested():
                await asyncio.sleep(0.001)
                continue
            ch, value = self._outbox.popleft()
            if ch.p.connected and ch.notifying:
                ch.emit_properties_changed({"Value": value})
            await asyncio.sleep(0)
        self._outbox.clear()

    # --- message routing that needs the D-Bus sender ------------------------------------
    def _on_msg(self, msg: Message):
        if msg.message_type == MessageType.SIGNAL:
            if msg.member == "NameOwnerChanged" and msg.body[2] == "" and msg.body[0].startswith(":"):
                self._drop_sender(msg.body[0])
            return None
        if msg.message_type != MessageType.METHOD_CALL:
            return None
        if msg.interface == _ADAPTER and msg.path == self.adapter_path:
            if msg.member == "StartDiscovery":
                self._start_discovery(msg.sender)
                return Message.new_method_return(msg)
            if msg.member == "StopDiscovery":
                self._stop_discovery(msg.sender)
                return Message.new_method_return(msg)
        elif msg.interface == _CHAR and msg.member in ("StartNotify", "StopNotify"):
            ch = self._char_at(msg.path)
            if ch is None:
                return None                     # dbus-fast answers UnknownObject
            if msg.member == "StartNotify":
                self._start_notify(ch, msg.sender)
            else:
                self._stop_notify(ch, msg.sender)
            return Message.new_method_return(msg)
        return None

    def _char_at(self, path: str) -> _GattCharacteristic1 | None:
        for p in self.peripherals.values():
            if path.startswith(p.path + "/"):
                for uuid, ch in p._gatt.items():
                    if p.char_path(uuid) == path:
                        return ch
        return None

    def _drop_sender(self, sender: str) -> None:
        if sender in self._discovery:
            self._stop_discovery(sender)
        for p in self.peripherals.values():
            for ch in p._gatt.values():
                if sender in ch.sessions:
                    self._stop_notify(ch, sender)

    # --- discovery --------------------------------------------------------------------
    def _start_discovery(self, sender: str) -> None:
        if sender in self._discovery:
            raise DBusError(ERR_IN_PROGRESS, "Operation already in progress")
        self._discovery.add(sender)
        if not self._adapter.discovering:
            self._adapter.discovering = True
            self._adapter.emit_properties_changed({"Discovering": True})
            self._adv_task = asyncio.ensure_future(self._advertise())

    def _stop_discovery(self, sender: str) -> None:
        if sender not in self._discovery:
            raise DBusError(ERR_FAILED, "No discovery started")
        self._discovery.discard(sender)
        if not self._discovery and self._adapter.discovering:
            self._adapter.discovering = False
            if self._adv_task is not None:
                self._adv_task.cancel()
                self._adv_task = None
            if self.alive:
                self._adapter.emit_properties_changed({"Discovering": False})

    async def _advertise(self) -> None:
        """Every interval each reachable, unconnected peripheral 'sends an advertisement'."""
        while self.alive:
            for p in list(self.peripherals.values()):
                if p.reachable and not p.connected:
                    self._advertisement_seen(p)
            await asyncio.sleep(self.advert_interval_s)

    def _advertisement_seen(self, p: FakePeripheral) -> None:
        p.rssi = -55 - p._rng.randrange(10)
        if p._dev is None:
            p._dev = _Device1(p)
            self.bus.export(p.path, p._dev)          # -> InterfacesAdded
        else:
            p._dev.emit_properties_changed({"RSSI": p.rssi})

    def update_advertisement(self, p: FakePeripheral) -> None:
        """Publish changed manufacturer data (e.g. battery level) of a known device."""
        if p._dev is not None and self.alive:
            p._dev.emit_properties_changed(
                {"ManufacturerData": {k: Variant("ay", bytes(v)) for k, v in p.manufacturer_data.items()}})

    # --- connection and GATT ------------------------------------------------------------
    async def connect(self, p: FakePeripheral) -> None:
        if p.connected:
            return
        deadline = time.monotonic() + p.connect_timeout_s
        while not p.reachable:                    # LE connect waits for an advertisement
            if time.monotonic() > deadline:
                raise DBusError(ERR_FAILED, "Software caused connection abort")
            await asyncio.sleep(0.02)
        await asyncio.sleep(p.connect_delay_s)
        if p.fail_connect:
            raise DBusError(ERR_FAILED, p.fail_connect)
        if not self.alive or p._dev is None:
            raise DBusError(ERR_FAILED, "Software caused connection abort")
        p.connected = True
        p._dev.emit_properties_changed({"Connected": True})
        self._export_gatt(p)
        await asyncio.sleep(0.005)
        if not p.connected:
            raise DBusError(ERR_FAILED, "Software caused connection abort")
        p.services_resolved = True
        p._dev.emit_properties_changed({"ServicesResolved": True})
        if p.on_connection is not None:
            p.on_connection(True)

    def _export_gatt(self, p: FakePeripheral) -> None:
        svc = f"{p.path}/service000a"
        self.bus.export(svc, _GattService1(p.service_uuid, p.path))
        paths = [svc]
        for spec in p.chars:
            path = p.char_path(spec.uuid)
            ch = _GattCharacteristic1(p, spec, svc)
            p._gatt[spec.uuid] = ch
            self.bus.export(path, ch)
            paths.append(path)
            if "notify" in spec.flags or "indicate" in spec.flags:
                dpath = f"{path}/desc{int(path[-4:], 16) + 2:04x}"
                self.bus.export(dpath, _GattDescriptor1(ch, path))
                paths.append(dpath)
        p._gatt_paths = paths

    def _start_notify(self, ch: _GattCharacteristic1, sender: str) -> None:
        p = ch.p
        if "notify" not in ch.spec.flags:
            raise DBusError(ERR_NOT_SUPPORTED, "Operation is not supported")
        if not p.connected:
            raise DBusError(ERR_NOT_CONNECTED, "Not connected")
        was = ch.notifying
        ch.sessions.add(sender)
        if not was:
            ch.emit_properties_changed({"Notifying": True})
            if p.on_subscribe is not None:
                p.on_subscribe(ch.spec.uuid, True)

    def _stop_notify(self, ch: _GattCharacteristic1, sender: str) -> None:
        if sender not in ch.sessions:
            raise DBusError(ERR_FAILED, "No notify session started")
        ch.sessions.discard(sender)
        if not ch.notifying:
            if self.alive:
                ch.emit_properties_changed({"Notifying": False})
            if ch.p.on_subscribe is not None:
                ch.p.on_subscribe(ch.spec.uuid, False)

    def link_lost(self, p: FakePeripheral) -> None:
        """What bluetoothd emits on a disconnect or supervision timeout."""
        if not p.connected:
            return
        p.connected = False
        p._held = None
        for ch in p._gatt.values():
            ch.sessions.clear()
        if self.alive and p._dev is not None:
            if p.services_resolved:
                p.services_resolved = False
                p._dev.emit_properties_changed({"ServicesResolved": False})
            p._dev.emit_properties_changed({"Connected": False})
            for path in reversed(p._gatt_paths):
                self.bus.unexport(path)            # -> InterfacesRemoved
        p.services_resolved = False
        p._gatt, p._gatt_paths = {}, []
        if p.on_connection is not None:
            p.on_connection(False)

    def remove_device(self, p: FakePeripheral) -> None:
        """Adapter1.RemoveDevice: disconnect, then the device object goes away."""
        self.link_lost(p)
        if p._dev is not None and self.alive:
            self.bus.unexport(p.path)
        p._dev = None

    # --- the whole service --------------------------------------------------------------
    def kill(self) -> None:
        """bluetoothd dies: the bus connection closes with no BlueZ signal at all."""
        if self._adv_task is not None:
            self._adv_task.cancel()
            self._adv_task = None
        bus, self.bus = self.bus, None
        if bus is not None:
            bus.disconnect()
        self._discovery.clear()
        for p in self.peripherals.values():     # the radio links die with the daemon
            was = p.connected
            p.connected = p.services_resolved = False
            p._held, p._dev, p._gatt, p._gatt_paths = None, None, {}, []
            if was and p.on_connection is not None:
                p.on_connection(False)

    async def restart(self) -> "FakeBlueZ":
        """Start again after :meth:`kill` (like systemd restarting bluetoothd)."""
        if self.alive:
            return self
        return await self.start()

    async def stop(self) -> None:
        """Disconnect every peripheral and leave the bus."""
        for p in self.peripherals.values():
            self.link_lost(p)
        self.kill()
