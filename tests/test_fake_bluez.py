"""Unmodified bleak against the fake BlueZ on a private system bus (no radio needed)."""
from __future__ import annotations

import asyncio
import os
import subprocess

import pytest
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDBusError, BleakError

from gaitpf.sim.privbus import BUS_ENV, PrivateSystemBus

from ble_fixtures import TOY_ADDRESS, TOY_NOTIFY, TOY_RW, TOY_SERVICE, private_bus, toy_bluez  # noqa: F401


def test_private_bus_sets_and_restores_env_and_leaves_no_daemon():
    before = os.environ.get(BUS_ENV)
    with PrivateSystemBus() as bus:
        assert os.environ[BUS_ENV] == bus.address
        assert bus.address.startswith("unix:path=")
        pid = bus.pid
        assert bus.running
    assert os.environ.get(BUS_ENV) == before
    assert not bus.running
    # the process is gone (reaped), not just signalled
    out = subprocess.run(["ps", "-o", "pid=", "-p", str(pid)], capture_output=True, text=True)
    assert out.stdout.strip() == ""


async def test_scan_reports_advertising_data(toy_bluez):
    bz, p = toy_bluez
    found = await BleakScanner.discover(timeout=0.4, service_uuids=[TOY_SERVICE], return_adv=True)
    assert set(found) == {TOY_ADDRESS}
    dev, adv = found[TOY_ADDRESS]
    assert adv.local_name == "toy-periph"
    assert adv.manufacturer_data == {0xFFFF: b"\x01\x02\x03"}
    assert TOY_SERVICE in adv.service_uuids
    assert -65 < adv.rssi < -50


async def test_connect_read_write_notify_in_order(toy_bluez):
    bz, p = toy_bluez
    writes = []
    p.on_read = lambda uuid: b"ident"
    p.on_write = lambda uuid, data: writes.append((uuid, data))
    dev = await BleakScanner.find_device_by_address(TOY_ADDRESS, timeout=2.0)
    got = []
    async with BleakClient(dev) as c:
        svc = c.services.get_service(TOY_SERVICE)
        assert svc is not None
        char = svc.get_characteristic(TOY_NOTIFY)
        # BlueZ-style object path and a CCCD descriptor on the notify characteristic
        assert char.obj[0] == p.char_path(TOY_NOTIFY)
        assert char.obj[0].endswith("/service000a/char000b")
        assert [d.uuid for d in char.descriptors] == ["00002902-0000-1000-8000-00805f9b34fb"]
        assert await c.read_gatt_char(TOY_RW) == b"ident"
        await c.write_gatt_char(TOY_RW, b"\x01\x02", response=True)
        assert writes == [(TOY_RW, b"\x01\x02")]
        await c.start_notify(TOY_NOTIFY, lambda ch, d: got.append(bytes(d)))
        assert p.is_notifying(TOY_NOTIFY)
        for i in range(200):
            assert p.notify(TOY_NOTIFY, i.to_bytes(2, "little"))
        for _ in range(100):
            if len(got) == 200:
                break
            await asyncio.sleep(0.01)
        await c.stop_notify(TOY_NOTIFY)
        assert not p.is_notifying(TOY_NOTIFY)
    assert [int.from_bytes(g, "little") for g in got] == list(range(200))
    assert not p.connected


async def test_second_discovery_from_same_client_is_in_progress(toy_bluez):
    """Like bluetoothd: one discovery session per D-Bus client."""
    s1 = BleakScanner(service_uuids=[TOY_SERVICE])
    s2 = BleakScanner(service_uuids=[TOY_SERVICE])
    await s1.start()
    try:
        with pytest.raises(BleakDBusError) as ei:
            await s2.start()
        assert ei.value.dbus_error == "org.bluez.Error.InProgress"
    finally:
        await s1.stop()


async def test_link_loss_fires_disconnected_callback_and_reconnect_works(toy_bluez):
    bz, p = toy_bluez
    dev = await BleakScanner.find_device_by_address(TOY_ADDRESS, timeout=2.0)
    lost = asyncio.Event()
    c = BleakClient(dev, disconnected_callback=lambda _: lost.set())
    await c.connect()
    await c.start_notify(TOY_NOTIFY, lambda ch, d: None)
    bz.link_lost(p)
    await asyncio.wait_for(lost.wait(), 1.0)
    assert not c.is_connected
    assert not p.is_notifying(TOY_NOTIFY)          # BlueZ drops notify sessions with the link
    await c.connect()
    assert c.is_connected and p.connected
    await c.disconnect()


async def test_unreachable_device_fails_connect_and_rejected_write_surfaces(toy_bluez):
    bz, p = toy_bluez
    dev = await BleakScanner.find_device_by_address(TOY_ADDRESS, timeout=2.0)
    p.reachable = False
    p.connect_timeout_s = 0.2
    with pytest.raises(BleakDBusError) as ei:
        await BleakClient(dev, timeout=3.0).connect()
    assert ei.value.dbus_error == "org.bluez.Error.Failed"
    p.reachable = True

    def reject(uuid, data):
        raise ValueError("unknown opcode")

    p.on_write = reject
    async with BleakClient(dev) as c:
        with pytest.raises(BleakError):
            await c.write_gatt_char(TOY_RW, b"\xff", response=True)


async def test_loss_and_burst_injection(toy_bluez):
    bz, p = toy_bluez
    dev = await BleakScanner.find_device_by_address(TOY_ADDRESS, timeout=2.0)
    got = []
    async with BleakClient(dev) as c:
        await c.start_notify(TOY_NOTIFY, lambda ch, d: got.append(bytes(d)))
        p.loss_prob = 0.5
        for i in range(200):
            p.notify(TOY_NOTIFY, i.to_bytes(2, "little"))
        p.loss_prob = 0.0
        p.hold()
        for i in range(200, 250):
            p.notify(TOY_NOTIFY, i.to_bytes(2, "little"))
        await asyncio.sleep(0.05)
        n_before_release = len(got)
        assert p.release() == 50
        for _ in range(100):
            if len(got) == 200 - p.lost + 50:
                break
            await asyncio.sleep(0.01)
    seqs = [int.from_bytes(g, "little") for g in got]
    assert 40 < p.lost < 160
    assert n_before_release == 200 - p.lost          # nothing of the burst arrived early
    assert seqs == sorted(seqs) and seqs[-50:] == list(range(200, 250))


async def test_killed_service_sends_no_disconnect_and_restart_allows_reconnect(toy_bluez):
    bz, p = toy_bluez
    dev = await BleakScanner.find_device_by_address(TOY_ADDRESS, timeout=2.0)
    events = []
    c = BleakClient(dev, disconnected_callback=lambda _: events.append("disconnected"))
    await c.connect()
    got = []
    await c.start_notify(TOY_NOTIFY, lambda ch, d: got.append(bytes(d)))
    bz.kill()
    assert not p.notify(TOY_NOTIFY, b"\x00\x00")
    await asyncio.sleep(0.3)
    # bleak is not told: this is why the BLE source needs a silence watchdog
    assert events == [] and c.is_connected and got == []
    await bz.restart()
    try:
        await asyncio.wait_for(c.disconnect(), 2.0)
    except BleakError:
        pass
    dev = await BleakScanner.find_device_by_address(TOY_ADDRESS, timeout=2.0)
    assert dev is not None
    async with BleakClient(dev) as c2:
        await c2.start_notify(TOY_NOTIFY, lambda ch, d: got.append(bytes(d)))
        assert p.notify(TOY_NOTIFY, b"\x07\x00")
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.01)
    assert got == [b"\x07\x00"]


async def test_synchronous_flood_is_flow_controlled_not_fatal(toy_bluez):
    """dbus-fast's writer dies on a full socket; the fake queues instead and keeps the order."""
    bz, p = toy_bluez
    dev = await BleakScanner.find_device_by_address(TOY_ADDRESS, timeout=2.0)
    got = []
    async with BleakClient(dev) as c:
        await c.start_notify(TOY_NOTIFY, lambda ch, d: got.append(int.from_bytes(d[:2], "little")))
        for i in range(3000):
            assert p.notify(TOY_NOTIFY, i.to_bytes(2, "little") + bytes(198))
        for _ in range(400):
            if len(got) == 3000:
                break
            await asyncio.sleep(0.02)
        assert bz.alive
    assert got == list(range(3000))
