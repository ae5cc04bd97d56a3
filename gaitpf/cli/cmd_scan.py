"""``gaitpf scan [--timeout S] [--simulate] [--json]``: insoles advertising the gaitpf service."""
from __future__ import annotations

import asyncio
import dataclasses
import json

import click


def render(adverts: list) -> str:
    """Text table: address, side, serial, RSSI, battery, name."""
    if not adverts:
        return ("no gaitpf insole found: switch the insoles on (they advertise while not connected), "
                "bring them closer, or try `gaitpf scan --simulate`")
    rows = [("address", "side", "serial", "rssi_dbm", "battery_pct", "name")]
    for a in adverts:
        rows.append((a.address, a.side or "?", a.serial or "?", "" if a.rssi is None else str(a.rssi),
                     "" if a.battery_pct is None else str(a.battery_pct), a.name or ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


async def _scan(timeout_s: float, simulate: bool) -> list:
    from ..acquisition.ble import scan_insoles

    if not simulate:
        return await scan_insoles(timeout_s)
    from ..sim.virtual_insole import VirtualInsoleHarness

    async with VirtualInsoleHarness():
        return await scan_insoles(timeout_s)


@click.command("scan")
@click.option("--timeout", "timeout_s", type=click.FloatRange(0.1, 120.0), default=5.0, show_default=True,
              help="Scan duration, s.")
@click.option("--simulate", is_flag=True,
              help="Scan two virtual insoles behind a fake BlueZ on a private D-Bus (no radio needed).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def command(timeout_s: float, simulate: bool, as_json: bool) -> None:
    """List insoles advertising the gaitpf service: address, side, serial, RSSI, battery."""
    adverts = asyncio.run(_scan(timeout_s, simulate))
    if as_json:
        click.echo(json.dumps([dataclasses.asdict(a) for a in adverts], indent=2))
    else:
        click.echo(render(adverts))
