"""BLE path figures with unmodified bleak, the fake BlueZ and two virtual insoles.

Prints: scan+connect time of :class:`BleInsoleSource`, lost frames per (rate, frames per
packet) — the highest notification rate with zero loss — and the callback-to-yield latency
(host receive time of each packet → the FrameBlock carrying it is yielded).

    .venv/bin/python benchmarks/bench_ble.py [--seconds 3] [--rates 100,500,1000,2000]
"""
from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np

from gaitpf.acquisition.ble import BleInsoleSource
from gaitpf.acquisition.source import FrameBlock
from gaitpf.sim.gait_model import GaitParams
from gaitpf.sim.harness import VirtualInsoleHarness


async def run_case(rate_hz: int, fpp: int | None, seconds: float) -> dict:
    gait = GaitParams(seed=1, sampling_rate_hz=rate_hz)
    async with VirtualInsoleHarness(gait=gait, rate_hz=rate_hz, frames_per_packet=fpp) as h:
        t = time.perf_counter()
        src = BleInsoleSource(left=h.left_address, right=h.right_address)
        async with src:
            enter_s = time.perf_counter() - t
            lat: list[np.ndarray] = []
            t0 = time.monotonic()
            async for item in src:
                now_s = (time.monotonic() - src.t0_monotonic) * src.time_scale
                if isinstance(item, FrameBlock):
                    lat.append(now_s - np.unique(item.host_time_s))
                if time.monotonic() - t0 > seconds:
                    break
            st = src.status()
        sent = {s: h.insoles[s].packets_sent for s in ("left", "right")}
        fpp_used = h.insoles["left"].frames_per_packet
    lat_ms = np.concatenate(lat) * 1e3 if lat else np.zeros(1)
    return {"rate_hz": rate_hz, "fpp": fpp_used, "notif_per_s": 2 * rate_hz / fpp_used, "enter_s": enter_s,
            "frames": sum(st.frames.values()), "lost": sum(st.lost_frames.values()),
            "bad": sum(st.bad_packets.values()), "packets_sent": sum(sent.values()),
            "lat_p50_ms": float(np.percentile(lat_ms, 50)), "lat_p99_ms": float(np.percentile(lat_ms, 99)),
            "lat_max_ms": float(lat_ms.max())}


async def amain(args) -> None:
    print(f"{'rate_hz':>7} {'fpp':>4} {'notif/s':>8} {'enter_s':>7} {'frames':>7} {'lost':>5} "
          f"{'lat_p50_ms':>10} {'lat_p99_ms':>10} {'lat_max_ms':>10}")
    for rate in args.rates:
        for fpp in (None, 1):
            r = await run_case(rate, fpp, args.seconds)
            print(f"{r['rate_hz']:>7} {r['fpp']:>4} {r['notif_per_s']:>8.0f} {r['enter_s']:>7.3f} {r['frames']:>7} "
                  f"{r['lost']:>5} {r['lat_p50_ms']:>10.2f} {r['lat_p99_ms']:>10.2f} {r['lat_max_ms']:>10.2f}",
                  flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=[100, 500, 1000, 2000])
    asyncio.run(amain(ap.parse_args()))


if __name__ == "__main__":
    main()
