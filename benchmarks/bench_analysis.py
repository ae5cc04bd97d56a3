"""Speed of the analysis core relative to reading the data once.

Generates (once, cached) a 1-hour recording of 2 x 16 sensors at 100 Hz and one of
2 x 1000 sensels at 100 Hz with the virtual gait model, then prints the wall time of
``read_recording`` alone and of ``read_recording`` + ``analyze`` and their ratio, for
``analyze``'s default (the two feet in two threads) and for ``n_threads=1`` (one core,
as each worker of a batch run analyzes). Reading and the two analyses are timed in
turn, ``--repeats`` rounds, best of each. Goal: ratio <= 2.0 (aim <= 1.2).

    .venv/bin/python benchmarks/bench_analysis.py [--duration-s 3600] [--cache DIR] [--repeats N]
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path


from gaitpf.analysis import analyze
from gaitpf.io import read_recording
from gaitpf.io.hdf5_writer import FootSpec, RecordingWriter
from gaitpf.sim.gait_model import GaitParams, GaitSimulator, iter_frames

CASES = (("2x16", 16), ("2x1000", 1000))


def generate(path: Path, *, n_sensors: int, duration_s: float, seed: int = 7) -> None:
    """Write a virtual recording chunk by chunk (bounded memory)."""
    params = GaitParams(n_sensors=n_sensors, seed=seed)
    sim = GaitSimulator(params, duration_s)
    feet = {s: FootSpec(n_sensors=n_sensors, unit="N", sampling_rate_hz=sim.fs, layout=sim.layouts[s],
                        device=sim.device(s)) for s in ("left", "right")}
    tmp = path.with_suffix(".part")
    with RecordingWriter(tmp, subject_id="bench", session="1", trial="1", feet=feet,
                         body_mass_kg=params.body_mass_kg, swmr=False,
                         source={"importer": "simulate", "benchmark": True}) as w:
        for chunk in iter_frames(params, chunk_s=60.0, duration_s=duration_s):
            for side in ("left", "right"):
                w.append(side, chunk.values[side], time_s=chunk.time_s)
    os.replace(tmp, path)


def interleaved(path: Path, repeats: int) -> tuple[float, float, float, dict]:
    """Best wall times (s) of reading, of analysis with default threads and with one thread.

    Rounds alternate the three so drifts of the machine's speed hit all of them alike.
    """
    best = {"read": float("inf"), "auto": float("inf"), "one": float("inf")}
    n_strides: dict = {}
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        rec = read_recording(path)
        best["read"] = min(best["read"], time.perf_counter() - t0)
        for key, n_threads in (("auto", None), ("one", 1)):
            gc.collect()
            t0 = time.perf_counter()
            res = analyze(rec, n_threads=n_threads)
            best[key] = min(best[key], time.perf_counter() - t0)
            n_strides = res.summary["n_strides"]
            del res
        del rec
    return best["read"], best["auto"], best["one"], n_strides


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration-s", type=float, default=3600.0)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "gaitpf-bench")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cases", default="2x16,2x1000")
    args = ap.parse_args(argv)
    args.cache.mkdir(parents=True, exist_ok=True)
    wanted = set(args.cases.split(","))

    print(f"{'case':8} {'samples':>9} {'file MB':>8} {'read s':>7} {'analyze s':>10} {'ratio':>6} "
          f"{'1-thread s':>10} {'ratio':>6} {'strides L/R':>12}")
    for name, n_sensors in CASES:
        if name not in wanted:
            continue
        path = args.cache / f"bench_{name}_{int(args.duration_s)}s.h5"
        if not path.exists():
            t0 = time.perf_counter()
            generate(path, n_sensors=n_sensors, duration_s=args.duration_s)
            print(f"# generated {path} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        t_read, t_auto, t_one, n = interleaved(path, args.repeats)
        samples = int(args.duration_s * 100)
        print(f"{name:8} {samples:9d} {path.stat().st_size / 1e6:8.1f} {t_read:7.2f} {t_auto:10.2f} "
              f"{(t_read + t_auto) / t_read:6.2f} {t_one:10.2f} {(t_read + t_one) / t_read:6.2f} "
              f"{n['left']:>5}/{n['right']:<6}")
    print(f"ratio = (read + analyze) / read; goal <= 2.0, aim <= 1.2 ({os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
