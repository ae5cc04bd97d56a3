"""bleak plumbing of :mod:`gaitpf.acquisition.ble`: discovery and one insole's connection.

:func:`discover` runs one BLE scan and decodes gaitpf advertisements. :class:`InsoleLink`
owns the :class:`bleak.BleakClient` of one foot: connect, read and check the identity,
subscribe to the Control replies and the data notifications, send commands. Its data
callback only puts ``(side, bytes, time.monotonic())`` on the source's queue.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import DeviceError
from . import protocol as P

__all__ = ["InsoleAdvert", "RefusedDeviceError", "discover", "InsoleLink"]

log = logging.getLogger(__name__)

_NO_BLUETOOTH = ("Bluetooth is not available ({}): switch the adapter on and start BlueZ "
                 "(`systemctl start bluetooth`), or try without hardware with --simulate")


@dataclass(frozen=True)
class InsoleAdvert:
    """One insole seen advertising the gaitpf service (``gaitpf scan``).

    Re-exported by :mod:`gaitpf.acquisition.ble`, where the scan API lives.
    """

    address: str
    side: str | None
    serial: str | None
    rssi: int | None
    name: str | None
    battery_pct: int | None = None


class RefusedDeviceError(DeviceError):
    """The device answered but must not be recorded (wrong side, not allow-listed); never retried."""


def _advert(device, adv):
    info = P.decode_manufacturer_data((adv.manufacturer_data or {}).get(P.MANUFACTURER_ID))
    parsed = P.parse_local_name(adv.local_name or device.name)
    side = info.side if info else (parsed[0] if parsed else None)
    serial = info.serial if info else (parsed[1] if parsed else None)
    return InsoleAdvert(address=device.address.upper(), side=side, serial=serial, rssi=adv.rssi,
                        name=adv.local_name or device.name, battery_pct=info.battery_pct if info else None)


async def scan_adverts(timeout_s: float, match: Callable[[Any, Any], Any], *, wanted: set[str] | None = None,
                       service_uuids: list[str] | None = None) -> dict:
    """Scan up to ``timeout_s`` (less once every ``wanted`` address was seen).

    Parameters
    ----------
    timeout_s : float
        Longest scan, s.
    match : callable
        ``match(BLEDevice, AdvertisementData)`` returns the device family's advert record, or
        None for a device of another kind (ignored).
    wanted : set of str, optional
        Upper-case addresses; the scan ends as soon as all were seen.
    service_uuids : list of str, optional
        Passed to :class:`bleak.BleakScanner` as a scan filter.

    Returns
    -------
    dict
        ``{address: (BLEDevice, advert record)}``.

    Raises
    ------
    DeviceError
        No usable Bluetooth adapter (one line saying what to check).
    """
    from bleak import BleakScanner
    from bleak.exc import BleakError

    found: dict = {}
    done = asyncio.Event()

    def on_advert(device, adv) -> None:
        record = match(device, adv)
        if record is None:
            return
        found[device.address.upper()] = (device, record)
        if wanted and wanted <= found.keys():
            done.set()

    try:
        scanner = BleakScanner(detection_callback=on_advert,
                               **({"service_uuids": service_uuids} if service_uuids else {}))
        await scanner.start()
    except (BleakError, OSError, EOFError) as exc:
        raise DeviceError(_NO_BLUETOOTH.format(f"{type(exc).__name__}: {exc}")) from exc
    try:
        await asyncio.wait_for(done.wait(), timeout_s)
    except asyncio.TimeoutError:
        pass
    finally:
        try:
            await scanner.stop()
        except (BleakError, OSError, EOFError) as exc:
            log.warning("stopping the BLE scan failed: %s", exc)
    return found


def _gaitpf_advert(device, adv):
    if P.SERVICE_UUID not in {u.lower() for u in adv.service_uuids}:
        return None
    return _advert(device, adv)


async def discover(timeout_s: float, *, wanted: set[str] | None = None) -> dict:
    """Scan up to ``timeout_s`` (less once every ``wanted`` address was seen).

    Returns ``{address: (BLEDevice, InsoleAdvert)}`` of devices advertising the gaitpf service.
    """
    return await scan_adverts(timeout_s, _gaitpf_advert, wanted=wanted, service_uuids=[P.SERVICE_UUID])


class InsoleLink:
    """The BLE connection to one insole (re-openable after a loss).

    Parameters
    ----------
    side : {"left", "right"}
    device : bleak.backends.device.BLEDevice
        From :func:`discover` (connecting from it avoids another scan).
    queue : asyncio.Queue
        Where data notifications go, as ``(side, bytes, monotonic_s)``.
    on_lost : callable(side, reason)
        Called from bleak's disconnected callback.
    allow : set of str
        Allow-listed addresses/serials (upper case).
    """

    def __init__(self, side: str, device, queue: asyncio.Queue, on_lost: Callable[[str, str], None], *,
                 allow: set[str], connect_timeout_s: float = 10.0, command_timeout_s: float = 2.0) -> None:
        self.side, self.device, self.address = side, device, device.address.upper()
        self.allow = allow
        self.connect_timeout_s, self.command_timeout_s = connect_timeout_s, command_timeout_s
        self.identity: P.DeviceIdentity | None = None
        self.client = None
        self.lost = asyncio.Event()
        self.lost_reason: str | None = None
        self._queue, self._on_lost = queue, on_lost
        self._ctrl: asyncio.Queue = asyncio.Queue()
        self._gen = 0

    def _disconnected(self, gen: int) -> None:
        if gen == self._gen:        # ignore callbacks of clients we already gave up
            self._on_lost(self.side, "disconnected")

    async def open(self, *, rate_hz: int | None = None,
                   expect: P.DeviceIdentity | None = None) -> tuple[P.DeviceIdentity, int]:
        """Connect, check identity, subscribe, START; returns (identity, first counter to come)."""
        from bleak import BleakClient

        self._gen += 1
        gen = self._gen
        client = BleakClient(self.device, disconnected_callback=lambda _c: self._disconnected(gen),
                             timeout=self.connect_timeout_s)
        self.client = client
        try:
            await client.connect()
            ident = self._check(await self._read_identity())
            if expect is not None and (ident.serial, ident.n_sensors) != (expect.serial, expect.n_sensors):
                raise RefusedDeviceError(
                    f"{self.side} insole {self.address} came back as serial {ident.serial} with {ident.n_sensors} "
                    f"sensors (was {expect.serial}, {expect.n_sensors}); restart the recording")
            put_ctrl = self._ctrl.put_nowait
            await client.start_notify(P.CONTROL_CHAR_UUID, lambda _c, data: put_ctrl(bytes(data)))
            if rate_hz and round(ident.nominal_rate_hz * 1000) != int(rate_hz) * 1000:
                await self.command(P.ControlOp.STOP)
                await self.command(P.ControlOp.SET_RATE, rate_hz=int(rate_hz))
                ident = self._check(await self._read_identity())
            put, side, mono = self._queue.put_nowait, self.side, time.monotonic
            await client.start_notify(P.DATA_CHAR_UUID, lambda _c, data: put((side, bytes(data), mono())))
            # data may overtake the START reply: the consumer holds this side's packets until
            # it has seen the reply's counter (see BleInsoleSource._iterate)
            put(("_starting", side, None))
            reply = await self.command(P.ControlOp.START)
        except BaseException:
            await self.close(stop_streaming=False)
            raise
        self.identity = ident
        return ident, int(reply.counter)

    async def _read_identity(self) -> P.DeviceIdentity:
        raw = await self.client.read_gatt_char(P.IDENTITY_CHAR_UUID)
        try:
            return P.decode_identity(bytes(raw))
        except P.ProtocolError as exc:
            raise RefusedDeviceError(f"{self.side} insole {self.address}: {exc}") from exc

    def _check(self, ident: P.DeviceIdentity) -> P.DeviceIdentity:
        if self.address not in self.allow and ident.serial.upper() not in self.allow:
            raise RefusedDeviceError(
                f"insole {self.address} (serial {ident.serial}) is not allow-listed; add its address to the "
                "allow-list if it is yours, or give the right address")
        if ident.side != self.side:
            raise RefusedDeviceError(
                f"insole {self.address} (serial {ident.serial}) says it is the {ident.side} insole but was given "
                f"as {self.side}; swap the left/right addresses")
        return ident

    async def command(self, op: P.ControlOp, **params) -> P.ControlResponse:
        """Write a Control command and wait for its reply; DeviceError unless status OK."""
        while not self._ctrl.empty():
            self._ctrl.get_nowait()
        await self.client.write_gatt_char(P.CONTROL_CHAR_UUID, P.encode_control(op, **params), response=True)
        deadline = time.monotonic() + self.command_timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DeviceError(f"{self.side} insole {self.address} did not answer {op.name} within "
                                  f"{self.command_timeout_s:g} s; switch it off and on")
            try:
                raw = await asyncio.wait_for(self._ctrl.get(), left)
            except asyncio.TimeoutError:
                continue
            try:
                reply = P.decode_control_response(raw)
            except P.ProtocolError as exc:
                log.warning("%s insole: %s", self.side, exc)
                continue
            if reply.op == op:
                break
        if not reply.ok:
            raise DeviceError(f"{self.side} insole {self.address} refused {op.name} ({reply.status.name}); "
                              "check the requested setting")
        return reply

    async def close(self, *, stop_streaming: bool) -> None:
        """Stop streaming (optional) and disconnect; bounded in time, never raises."""
        client, self.client = self.client, None
        self._gen += 1
        if client is None:
            return
        if stop_streaming and client.is_connected:
            self.client = client
            try:
                await asyncio.wait_for(self.command(P.ControlOp.STOP), 1.0)
            except Exception as exc:  # noqa: BLE001 - best effort on the way out
                log.debug("%s insole: STOP failed: %s", self.side, exc)
            self.client = None
        try:
            await asyncio.wait_for(client.disconnect(), 2.0)
        except Exception as exc:  # noqa: BLE001 - the link may be gone already
            log.debug("%s insole: disconnect failed: %s: %s", self.side, type(exc).__name__, exc)
