"""D-Bus objects of the fake BlueZ (dbus-fast service interfaces), see :mod:`gaitpf.sim.fake_bluez`.

Only the properties and methods bleak's BlueZ backend uses; the behaviour (discovery,
connection, notification sessions) lives in :class:`gaitpf.sim.fake_bluez.FakeBlueZ`.
The objects reach that behaviour through :class:`BlueZBackend` and :class:`Peripheral`,
the two interfaces they need, which :mod:`gaitpf.sim.fake_bluez` implements (so this module
never imports it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping, Protocol

from dbus_fast import DBusError, Variant
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

__all__ = ["CCCD_UUID", "CharSpec", "BlueZBackend", "Peripheral"]

CCCD_UUID = "00002902-0000-1000-8000-00805f9b34fb"
ERR_FAILED = "org.bluez.Error.Failed"
ERR_NOT_CONNECTED = "org.bluez.Error.NotConnected"
ERR_NOT_SUPPORTED = "org.bluez.Error.NotSupported"
ERR_IN_PROGRESS = "org.bluez.Error.InProgress"
ERR_NOT_PERMITTED = "org.bluez.Error.NotPermitted"
ADAPTER_IFACE = "org.bluez.Adapter1"
CHAR_IFACE = "org.bluez.GattCharacteristic1"


@dataclass(frozen=True)
class CharSpec:
    """One characteristic of the peripheral's primary service (BlueZ flag names)."""

    uuid: str
    flags: tuple[str, ...]


class Peripheral(Protocol):
    """What the Device1 and GattCharacteristic1 objects read from a peripheral (``FakePeripheral``)."""

    bz: BlueZBackend
    address: str
    name: str
    service_uuid: str
    manufacturer_data: dict[int, bytes]
    rssi: int
    tx_power: int
    connected: bool
    services_resolved: bool
    on_read: Callable[[str], bytes] | None
    on_write: Callable[[str, bytes], None] | None

    @property
    def path(self) -> str: ...


class BlueZBackend(Protocol):
    """What the Adapter1 and Device1 objects call on the fake daemon (``FakeBlueZ``)."""

    adapter_path: str

    @property
    def peripherals(self) -> Mapping[str, Peripheral]: ...

    def connect(self, p: Peripheral) -> Awaitable[None]: ...

    def link_lost(self, p: Peripheral) -> None: ...

    def remove_device(self, p: Peripheral) -> None: ...


class _Adapter1(ServiceInterface):
    def __init__(self, bz: BlueZBackend) -> None:
        super().__init__(ADAPTER_IFACE)
        self.bz = bz
        self.discovering = False
        self.filters: dict = {}

    @dbus_method()
    def SetDiscoveryFilter(self, filt: "a{sv}"):  # noqa: F821,N802
        self.filters = filt

    @dbus_method()
    def RemoveDevice(self, device: "o"):  # noqa: F821,N802
        for p in self.bz.peripherals.values():
            if p.path == device:
                self.bz.remove_device(p)
                return
        raise DBusError("org.bluez.Error.DoesNotExist", "Does Not Exist")

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> "s":  # noqa: F821,N802
        return "00:1A:7D:DA:71:13"

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> "s":  # noqa: F821,N802
        return "public"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> "s":  # noqa: F821,N802
        return "gaitpf-fake-hci0"

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> "s":  # noqa: F821,N802
        return "gaitpf-fake-hci0"

    @dbus_property(access=PropertyAccess.READ)
    def Powered(self) -> "b":  # noqa: F821,N802
        return True

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> "b":  # noqa: F821,N802
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Discovering(self) -> "b":  # noqa: F821,N802
        return self.discovering

    @dbus_property(access=PropertyAccess.READ)
    def Roles(self) -> "as":  # noqa: F821,N802
        return ["central", "peripheral"]

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> "as":  # noqa: F821,N802
        return []


class _Device1(ServiceInterface):
    def __init__(self, p: Peripheral) -> None:
        super().__init__("org.bluez.Device1")
        self.p = p

    @dbus_method()
    async def Connect(self):  # noqa: N802
        await self.p.bz.connect(self.p)

    @dbus_method()
    def Disconnect(self):  # noqa: N802
        self.p.bz.link_lost(self.p)

    @dbus_method()
    def Pair(self):  # noqa: N802
        raise DBusError(ERR_NOT_SUPPORTED, "pairing is not emulated")

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> "s":  # noqa: F821,N802
        return self.p.address

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> "s":  # noqa: F821,N802
        return "random"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> "s":  # noqa: F821,N802
        return self.p.name

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> "s":  # noqa: F821,N802
        return self.p.name

    @dbus_property(access=PropertyAccess.READ)
    def Adapter(self) -> "o":  # noqa: F821,N802
        return self.p.bz.adapter_path

    @dbus_property(access=PropertyAccess.READ)
    def Paired(self) -> "b":  # noqa: F821,N802
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Bonded(self) -> "b":  # noqa: F821,N802
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Trusted(self) -> "b":  # noqa: F821,N802
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Blocked(self) -> "b":  # noqa: F821,N802
        return False

    @dbus_property(access=PropertyAccess.READ)
    def LegacyPairing(self) -> "b":  # noqa: F821,N802
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Connected(self) -> "b":  # noqa: F821,N802
        return self.p.connected

    @dbus_property(access=PropertyAccess.READ)
    def ServicesResolved(self) -> "b":  # noqa: F821,N802
        return self.p.services_resolved

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> "as":  # noqa: F821,N802
        return [self.p.service_uuid]

    @dbus_property(access=PropertyAccess.READ)
    def RSSI(self) -> "n":  # noqa: F821,N802
        return self.p.rssi

    @dbus_property(access=PropertyAccess.READ)
    def TxPower(self) -> "n":  # noqa: F821,N802
        return self.p.tx_power

    @dbus_property(access=PropertyAccess.READ)
    def ManufacturerData(self) -> "a{qv}":  # noqa: F821,N802
        return {k: Variant("ay", bytes(v)) for k, v in self.p.manufacturer_data.items()}

    @dbus_property(access=PropertyAccess.READ)
    def ServiceData(self) -> "a{sv}":  # noqa: F821,N802
        return {}


class _GattService1(ServiceInterface):
    def __init__(self, uuid: str, device: str) -> None:
        super().__init__("org.bluez.GattService1")
        self.uuid, self.device = uuid, device

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":  # noqa: F821,N802
        return self.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Device(self) -> "o":  # noqa: F821,N802
        return self.device

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> "b":  # noqa: F821,N802
        return True


class _GattCharacteristic1(ServiceInterface):
    def __init__(self, p: Peripheral, spec: CharSpec, service: str) -> None:
        super().__init__(CHAR_IFACE)
        self.p, self.spec, self.service = p, spec, service
        self.value = b""
        self.sessions: set[str] = set()  # D-Bus senders that called StartNotify

    @property
    def notifying(self) -> bool:
        return bool(self.sessions)

    @dbus_method()
    def ReadValue(self, options: "a{sv}") -> "ay":  # noqa: F821,N802
        if not self.p.connected:
            raise DBusError(ERR_NOT_CONNECTED, "Not connected")
        if "read" not in self.spec.flags:
            raise DBusError(ERR_NOT_PERMITTED, "Read not permitted")
        if self.p.on_read is not None:
            self.value = bytes(self.p.on_read(self.spec.uuid))
        return self.value

    @dbus_method()
    def WriteValue(self, value: "ay", options: "a{sv}"):  # noqa: F821,N802
        if not self.p.connected:
            raise DBusError(ERR_NOT_CONNECTED, "Not connected")
        if not {"write", "write-without-response"} & set(self.spec.flags):
            raise DBusError(ERR_NOT_PERMITTED, "Write not permitted")
        if self.p.on_write is not None:
            try:
                self.p.on_write(self.spec.uuid, bytes(value))
            except ValueError as exc:  # the device rejects the command (ATT error)
                raise DBusError(ERR_FAILED, f"Application error: {exc}") from exc

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":  # noqa: F821,N802
        return self.spec.uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> "o":  # noqa: F821,N802
        return self.service

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> "as":  # noqa: F821,N802
        return list(self.spec.flags)

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> "ay":  # noqa: F821,N802
        return self.value

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> "b":  # noqa: F821,N802
        return self.notifying

    @dbus_property(access=PropertyAccess.READ)
    def MTU(self) -> "q":  # noqa: F821,N802
        return 247


class _GattDescriptor1(ServiceInterface):
    def __init__(self, char: _GattCharacteristic1, char_path: str) -> None:
        super().__init__("org.bluez.GattDescriptor1")
        self.char, self.char_path = char, char_path

    @dbus_method()
    def ReadValue(self, options: "a{sv}") -> "ay":  # noqa: F821,N802
        return b"\x01\x00" if self.char.notifying else b"\x00\x00"

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> "s":  # noqa: F821,N802
        return CCCD_UUID

    @dbus_property(access=PropertyAccess.READ)
    def Characteristic(self) -> "o":  # noqa: F821,N802
        return self.char_path

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> "ay":  # noqa: F821,N802
        return b""
