"""Fixtures for the BLE tests (imported by test modules; the shared conftest stays untouched).

Every fixture starts its own private system-type dbus-daemon (via ``gaitpf.sim.privbus``)
and tears it down, so ``DBUS_SYSTEM_BUS_ADDRESS`` never points at a real system bus.
"""
from __future__ import annotations

import os

import pytest
import pytest_asyncio

from gaitpf.sim.fake_bluez import CharSpec, FakeBlueZ
from gaitpf.sim.privbus import BUS_ENV, PrivateSystemBus

TOY_SERVICE = "0000feed-0000-1000-8000-00805f9b34fb"
TOY_NOTIFY = "0000fee1-0000-1000-8000-00805f9b34fb"
TOY_RW = "0000fee2-0000-1000-8000-00805f9b34fb"
TOY_ADDRESS = "AA:BB:CC:00:00:01"


@pytest.fixture
def private_bus():
    """A private system bus for one test; the environment variable is restored after it."""
    before = os.environ.get(BUS_ENV)
    bus = PrivateSystemBus()
    bus.start()
    try:
        yield bus
    finally:
        bus.stop()
        assert os.environ.get(BUS_ENV) == before


@pytest_asyncio.fixture
async def toy_bluez(private_bus):
    """A fake BlueZ with one generic peripheral (notify + read/write characteristic)."""
    bz = await FakeBlueZ().start()
    p = bz.add_peripheral(TOY_ADDRESS, "toy-periph", service_uuid=TOY_SERVICE,
                          chars=[CharSpec(TOY_NOTIFY, ("notify",)), CharSpec(TOY_RW, ("read", "write"))],
                          manufacturer_data={0xFFFF: b"\x01\x02\x03"})
    try:
        yield bz, p
    finally:
        await bz.stop()
