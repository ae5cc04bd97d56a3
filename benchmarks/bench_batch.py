"""Benchmark of `gaitpf batch` and of the bounded-memory chunked analysis.

Prints:

* throughput on N generated recordings (default 100 × 120 s, 2 × 16 sensors @ 100 Hz):
  recording-hours per second and sensor-samples per second, with ``--jobs 1``, ``--jobs 2``
  and a Dask cluster of 2 one-thread workers (a ``LocalCluster`` started in another process,
  as ``dask scheduler``/``dask worker`` would be, so that its scheduler's CPU is not counted
  as the driver's);
* parallel efficiency ``T(jobs=1) / (k · T(k workers))`` (goal ≥ 0.8 on 2 cores);
* driver CPU per recording: user + system CPU time of the batch driver process itself
  (``resource.getrusage(RUSAGE_SELF)``, all its threads), as the slope between a run on
  all N recordings and one on the first N/2 (an archive of links), so that fixed costs
  (starting the pool, connecting to the scheduler) do not count (goal ≤ 1 ms); also the
  total over the N-recording run divided by N. With ``--jobs 1`` the driver runs the
  analyses itself, so the figure is only meaningful for the pool and Dask runs;
  "partitions only" runs skip the consolidated tables (``consolidate_max=0``, as for
  archives over 2000 recordings);
* every figure is repeated ``--repeat`` times (the machine is shared): ranges are printed;
* ratio of the batch time (``--jobs 1``) to the time of just reading every file (goal ≤ 1.5);
* peak memory (RSS, measured with psutil in a subprocess, plus the kernel's ru_maxrss) of
  the chunked analysis of a 10-hour 2 × 16 @ 100 Hz and a 1-hour 2 × 1000-sensel @ 100 Hz
  recording (goal ≤ 500 MB), and of the whole-file analysis for comparison (optional).

Usage::

    python benchmarks/bench_batch.py [--n 100] [--duration 120] [--dir DIR] [--skip-memory]
        [--repeat 3] [--no-dask] [--memory-hours 10] [--sensel-hours 1]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
from gaitpf.batch.chunked import analyze_hdf5_chunked
t = time.perf_counter()
res, info = analyze_hdf5_chunked(sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t, "strides": len(res.strides), **info}))
"""

GEN = r"""
import sys
from gaitpf.cli.cmd_simulate import write_simulation
from gaitpf.sim.gait_model import GaitParams, WalkingBouts
dur = float(sys.argv[2])
bouts = WalkingBouts(bout_s=min(600.0, dur / 4), n_bouts=max(2, int(dur // 600)))
write_simulation(sys.argv[1], GaitParams(n_sensors=int(sys.argv[3]), seed=7, walking_bouts=bouts), duration_s=dur)
"""


def _peak_rss_mb(cmd: list[str]) -> tuple[float, float, str]:
    """Run ``cmd``; return (psutil-polled peak RSS MB, ru_maxrss MB of the child, stdout)."""
    import psutil

    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, ps.memory_info().rss)
        except psutil.Error:
            break
        time.sleep(0.02)
    out, err = proc.communicate()
    if proc.returncode:
        raise SystemExit(f"child failed: {err[-2000:]}")
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / 2**20, max(maxrss, before) / 1024.0, out


def _generate(path: Path, duration_s: float, n_sensors: int) -> float:
    t = time.perf_counter()
    if not path.exists():
        subprocess.run([sys.executable, "-c", GEN, str(path), str(duration_s), str(n_sensors)], check=True)
    return time.perf_counter() - t


CLUSTER = r"""
import sys, time
from dask.distributed import LocalCluster
with LocalCluster(processes=True, n_workers=int(sys.argv[1]), threads_per_worker=1, host="127.0.0.1",
                  dashboard_address=":0") as c:
    print(c.scheduler_address, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
"""


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _timed(run_batch, root: Path, out: Path, **kw) -> tuple[float, float, object]:
    t, c = time.perf_counter(), _cpu_s()
    rep = run_batch(root, out, quiet=True, **kw)
    return time.perf_counter() - t, _cpu_s() - c, rep


def bench_batch(work: Path, n: int, duration_s: float, repeat: int, dask: bool) -> dict:
    from gaitpf.batch import run_batch
    from gaitpf.cli.cmd_simulate import write_simulation
    from gaitpf.io import read_recording
    from gaitpf.sim.gait_model import GaitParams

    root = work / "archive"
    t = time.perf_counter()
    for i in range(n):
        p = root / "recordings" / f"S{i // 4:03d}" / f"{i % 4 + 1}" / "walk.h5"
        if not p.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
            write_simulation(p, GaitParams(seed=i, cadence_spm=95 + i % 30), duration_s=duration_s)
    print(f"generated {n} recordings of {duration_s:g} s in {time.perf_counter() - t:.1f} s")
    files = sorted(root.rglob("*.h5"))
    t = time.perf_counter()
    for f in files:
        read_recording(f)
    res: dict = {"n": n, "read_s": [time.perf_counter() - t]}
    half = work / "archive_half"  # the first n // 2 recordings, as links
    for f in files[: n // 2]:
        link = half / f.relative_to(root)
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(f)
    cluster = None
    if dask:
        cluster = subprocess.Popen([sys.executable, "-c", CLUSTER, "2"], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        address = cluster.stdout.readline().strip()
    import inspect

    runs = [("jobs 1", {"jobs": 1}), ("jobs 2", {"jobs": 2})] + ([("dask 2", {"scheduler": address})] if dask else [])
    if "consolidate_max" in inspect.signature(run_batch).parameters:  # partitioned outputs only
        runs += [("jobs 2 partitions only", {"jobs": 2, "consolidate_max": 0})]
        runs += [("dask 2 partitions only", {"scheduler": address, "consolidate_max": 0})] if dask else []
    try:
        for _ in range(repeat):
            for label, kw in runs:
                wall_h, cpu_h, _ = _timed(run_batch, half, work / "out_half", force=True, **kw)
                wall, cpu, rep = _timed(run_batch, root, work / "out", force=True, **kw)
                assert rep.n_failed == 0 and rep.n_computed == n, rep
                res.setdefault(label, []).append((wall, cpu))
                res.setdefault(label + " slope", []).append((cpu - cpu_h) / (n - n // 2))
                res["hours"], res["sensor_samples"] = rep.recording_hours, rep.sensor_samples
            wall_h, cpu_h, _ = _timed(run_batch, half, work / "out_half", jobs=2)
            wall, cpu, rep = _timed(run_batch, root, work / "out", jobs=2)
            assert rep.n_reused == n
            res.setdefault("cached jobs 2", []).append((wall, cpu))
            res.setdefault("cached jobs 2 slope", []).append((cpu - cpu_h) / (n - n // 2))
    finally:
        if cluster is not None:
            cluster.stdin.close()
            cluster.wait(timeout=60)
    return res


def _rng(values: list[float], fmt: str) -> str:
    lo, hi = min(values), max(values)
    return format(lo, fmt) if format(lo, fmt) == format(hi, fmt) else f"{format(lo, fmt)}–{format(hi, fmt)}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--dir", type=Path, default=None, help="work folder (kept; default: a temporary one)")
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="repetitions of each batch run (ranges printed)")
    ap.add_argument("--no-dask", action="store_true", help="no Dask cluster run")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--memory-hours", type=float, default=10.0, help="duration of the 2 x 16 recording, h")
    ap.add_argument("--sensel-hours", type=float, default=1.0, help="duration of the 2 x 1000 recording, h")
    args = ap.parse_args()
    tmp = None
    if args.dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="gaitpf-bench-")
        work = Path(tmp.name)
    else:
        work = args.dir
        work.mkdir(parents=True, exist_ok=True)
    print(f"cores: {os.cpu_count()}, work folder: {work}")
    if not args.skip_batch:
        r = bench_batch(work, args.n, args.duration, args.repeat, not args.no_dask)
        n = r["n"]
        t1 = [w for w, _ in r["jobs 1"]]
        labels = ("jobs 1", "jobs 2", "dask 2", "jobs 2 partitions only", "dask 2 partitions only", "cached jobs 2")
        for label in [k for k in labels if k in r]:
            walls, cpus = [w for w, _ in r[label]], [c for _, c in r[label]]
            line = (f"batch {label}: {_rng(walls, '.2f')} s for {n} recordings = "
                    f"{_rng([r['hours'] / w for w in walls], '.3f')} recording-h/s, "
                    f"{_rng([r['sensor_samples'] / w / 1e6 for w in walls], '.2f')} M sensor-samples/s, "
                    f"{_rng([n / w for w in walls], '.1f')} recordings/s; "
                    f"driver CPU {_rng([1e3 * c for c in r[label + ' slope']], '.2f')} ms/recording (slope; "
                    f"total/N {_rng([1e3 * c / n for c in cpus], '.2f')})")
            k = 2 if label.startswith(("jobs 2", "dask 2")) else 0
            if k:
                line += f"; parallel efficiency vs jobs 1: {_rng([a / (k * b) for a in t1 for b in walls], '.2f')}"
            print(line)
        t_read = r["read_s"][0]
        print(f"just reading every file: {t_read:.2f} s; "
              f"batch/read ratio (jobs 1): {_rng([t / t_read for t in t1], '.2f')}")
    if not args.skip_memory:
        for hours, sensors in ((args.memory_hours, 16), (args.sensel_hours, 1000)):
            path = work / f"long_{hours:g}h_{sensors}.h5"
            gen = _generate(path, hours * 3600.0, sensors)
            peak, maxrss, out = _peak_rss_mb([sys.executable, "-c", CHILD, str(path)])
            info = json.loads(out)
            print(f"chunked analysis {hours:g} h 2 x {sensors} @ 100 Hz ({path.stat().st_size / 2**20:.0f} MB file, "
                  f"generated in {gen:.0f} s): {info['seconds']:.1f} s, {info['strides']} strides, "
                  f"peak RSS {peak:.0f} MB (psutil) / {maxrss:.0f} MB (ru_maxrss) (goal <= 500 MB)")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
