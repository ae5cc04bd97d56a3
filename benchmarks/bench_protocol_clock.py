"""Speed of the protocol decoder and accuracy of the two-insole clock alignment.

Prints decode throughput (frames/s) for realistic batch sizes, the cost of the two CRC
strategies, and the left/right alignment error of the clock mapper on simulated clocks
(±50 ppm crystals, warm-up drift, connection intervals 7.5 / 30 ms, jitter, long tail,
reconnect bursts; the simulator of ``tests/test_clock.py``).

    .venv/bin/python benchmarks/bench_protocol_clock.py [--seeds 5] [--duration-s 1800]
"""
from __future__ import annotations

import argparse
import binascii
import sys
import time
from pathlib import Path

import numpy as np

from gaitpf.acquisition import protocol as P
from gaitpf.acquisition import protocol_decode
from gaitpf.acquisition.clock import fit_clock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_clock import RATE_HZ, realtime_map, simulate_link  # noqa: E402


def bench_decode() -> None:
    rng = np.random.default_rng(0)
    print("decode_packets throughput (16 sensors)")
    for label, nf, width in (("100 Hz, 1 frame/packet", 1, 16), ("1 kHz, 7 frames/packet", 7, 16),
                             ("1 kHz, 9 frames/packet 12-bit", 9, 12)):
        for batch in (1, 10, 100, 1000, 20000):
            pk = [P.encode_packet(seq=i, first_counter=i * nf, frames=rng.integers(0, 4096, (nf, 16)),
                                  sample_width_bits=width) for i in range(batch)]
            reps = max(1, 20000 // batch)
            t0 = time.perf_counter()
            for _ in range(reps):
                blk = P.decode_packets(pk, n_sensors=16)
            dt = (time.perf_counter() - t0) / reps
            print(f"  {label:32s} batch {batch:6d}: {blk.n_frames_total / dt:12,.0f} frames/s "
                  f"({dt / batch * 1e6:6.2f} µs/packet)")
    pk = [P.encode_packet(seq=i, first_counter=i * 7, frames=rng.integers(0, 4096, (7, 16))) for i in range(20000)]
    mat = np.frombuffer(b"".join(pk), np.uint8).reshape(len(pk), -1)
    t0 = time.perf_counter()
    [binascii.crc_hqx(memoryview(p)[:-2], 0xFFFF) for p in pk]
    t1 = time.perf_counter()
    protocol_decode._CRC_VECTOR_PER_BYTE, saved = 0, protocol_decode._CRC_VECTOR_PER_BYTE
    protocol_decode._crc_ok(mat)
    protocol_decode._CRC_VECTOR_PER_BYTE = saved
    t2 = time.perf_counter()
    print(f"  CRC of 20000 x 236 B: binascii loop {(t1 - t0) * 1e3:.1f} ms, numpy 2-byte table {(t2 - t1) * 1e3:.1f} ms")


def bench_alignment(seeds: int, duration_s: float) -> None:
    print(f"left/right alignment error, {duration_s:.0f} s, ±50 ppm, CI 7.5 ms (1 frame/packet) vs 30 ms (2)")
    rows = []
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        left = simulate_link(rng=rng, duration_s=duration_s, rate_hz=RATE_HZ, drift_ppm=50, ci_s=0.0075)
        right = simulate_link(rng=rng, duration_s=duration_s, rate_hz=RATE_HZ, drift_ppm=-50, ci_s=0.030,
                              frames_per_packet=2, counter0=7)
        grid = np.arange(0.0, duration_s - 5, 0.5)
        e_rt, e_off = {}, {}
        for side, (c, nf, h, tt) in (("L", left), ("R", right)):
            _, est = realtime_map(c, nf, h)
            t = tt(c)
            e_rt[side] = np.interp(grid, t, est - t)
            e_off[side] = np.interp(grid, t, fit_clock(c, h, RATE_HZ, n_frames=nf).map(c) - t)
        rt = np.abs(e_rt["L"] - e_rt["R"]) * 1e3
        off = np.abs(e_off["L"] - e_off["R"]) * 1e3
        rows.append((rt[grid >= duration_s - 60].max(), rt[grid >= 420].max(), np.percentile(rt[grid >= 420], 95),
                     rt.max(), off[grid >= 60].max()))
        print("  seed %d: real-time last minute %.2f ms, after 420 s max %.2f / p95 %.2f ms, whole max %.2f ms; "
              "offline max (after 60 s) %.2f ms" % (seed, *rows[-1]))
    r = np.array(rows)
    print("  worst over seeds: last minute %.2f ms, after 420 s %.2f ms, offline %.2f ms" % (r[:, 0].max(), r[:, 1].max(),
                                                                                         r[:, 4].max()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--duration-s", type=float, default=1800.0)
    args = ap.parse_args()
    bench_decode()
    bench_alignment(args.seeds, args.duration_s)


if __name__ == "__main__":
    main()
