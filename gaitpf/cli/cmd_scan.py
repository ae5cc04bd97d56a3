"""``gaitpf scan [--timeout S] [--simulate] [--device-type gaitpf|orphe|all] [--json]``: insoles advertising.

gaitpf insoles advertise the gaitpf service; ORPHE INSOLEs are found by
:func:`gaitpf.acquisition.orphe.scan_orphe` (``--device-type orphe``, or ``all`` for both,
one scan after the other).
"""
from __future__ import annotations

import asyncio
import dataclasses
import json

import click

from ..errors import InputError


def render(adverts: list) -> str:
    """Text table: address, side, serial, RSSI, battery, name."""
    if not adverts:
        return ("no insole found: switch the insoles on (they advertise while not connected), "
                "bring them closer, or try `gaitpf scan --simulate`")
    rows = [("address", "side", "serial", "rssi_dbm", "battery_pct", "name")]
    for a in adverts:
        rows.append((a.address, a.side or "?", a.serial or "?", "" if a.rssi is None else str(a.rssi),
                     "" if a.battery_pct is None else str(a.battery_pct), a.name or ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


async def _scan_types(timeout_s: float, device_type: str) -> list:
    from ..acquisition.ble import scan_insoles

    found: list = []
    if device_type in ("gaitpf", "all"):
        found += await scan_insoles(timeout_s)
    if device_type in ("orphe", "all"):
        from ..acquisition.orphe import scan_orphe

        found += await scan_orphe(timeout_s)
    return found


async def _scan(timeout_s: float, simulate: bool, device_type: str = "gaitpf") -> list:
    if not simulate:
        return await _scan_types(timeout_s, device_type)
    from ..sim.harness import VirtualInsoleHarness

    if device_type == "all":
        raise InputError("--simulate runs one device family at a time: give --device-type gaitpf or orphe")
    async with VirtualInsoleHarness(device_type=device_type):
        return await _scan_types(timeout_s, device_type)


@click.command("scan")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1, 120.0), default=5.0, show_default=True,
              help="Scan duration, s.")
@click.option("--simulate", is_flag=True,
              help="Scan two virtual insoles behind a fake BlueZ on a private D-Bus (no radio needed).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--device-type", "device_type", default="gaitpf", show_default=True, metavar="TYPE",
              help="Which insoles: gaitpf, orphe (ORPHE INSOLE) or all.")
def command(timeout_s: float, simulate: bool, as_json: bool, device_type: str) -> None:
    """List insoles advertising the gaitpf service: address, side, serial, RSSI, battery."""
    device_type = device_type.lower()
    if device_type not in ("gaitpf", "orphe", "all"):
        raise InputError(f"unknown device type {device_type!r}; use gaitpf, orphe or all")
    adverts = asyncio.run(_scan(timeout_s, simulate, device_type))
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(a) for a in adverts], indent=2))
    else:
        click.echo(render(adverts))
