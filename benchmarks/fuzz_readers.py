"""Mutation fuzz of every file-reading command: how do the readers fail on damaged files?

::

    python benchmarks/fuzz_readers.py --n 10000 [--seed 1] [--timeout 30] [--commands info,analyze]

Builds the seed files of ``tests/fuzz_fixtures.py`` (clean HDF5 with and without gzip, a
crash-left SWMR file, a CSV and a gaitpdb walk), writes ``--n`` seeded mutations (bit
flips, truncations, zeroed/random byte ranges, h5py rewrites of attributes and datasets)
and runs ``gaitpf info`` and ``gaitpf analyze`` on each through the CLI entry point, in a
forked child per command with a ``--timeout`` deadline. Prints the counts of ok / clean
error / internal error / hang / crash per command and the distinct internal-error causes.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzz_fixtures import OUTCOMES, make_seeds, mutate, run_one  # noqa: E402


def overhead(seed: Path, repeats: int = 20) -> str:
    """Median cost of the isolated schema check versus the same check in-process, and a whole read."""
    import statistics

    from gaitpf.io import hdf5, read_recording
    from gaitpf.io.hdf5_validate import inspect_hdf5

    def median_ms(fn) -> float:
        times = []
        for _ in range(repeats):
            hdf5._plans.clear()
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return 1e3 * statistics.median(times)

    inproc = median_ms(lambda: inspect_hdf5(seed))
    child = median_ms(lambda: hdf5.probe_hdf5(seed))
    read = median_ms(lambda: read_recording(seed))
    return (f"schema check of {seed.name} ({seed.stat().st_size / 1e3:.0f} kB): in a child under a deadline "
            f"{child:.1f} ms, in-process {inproc:.1f} ms; whole read_recording (check included) {read:.1f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=2000, help="mutated files")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0, help="deadline per command and file, s")
    ap.add_argument("--commands", default="info,analyze")
    ap.add_argument("--keep", type=Path, default=None, help="copy files that hang/crash/fail internally here")
    args = ap.parse_args()
    os.environ.setdefault("GAITPF_READ_TIMEOUT_S", "5")
    print(f"guarded-read deadline base GAITPF_READ_TIMEOUT_S={os.environ['GAITPF_READ_TIMEOUT_S']} s", flush=True)
    commands = args.commands.split(",")
    rng = np.random.default_rng(args.seed)
    counts = {c: collections.Counter() for c in commands}
    causes: collections.Counter[str] = collections.Counter()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_p = Path(tmp)
        seeds = make_seeds(tmp_p / "seeds")
        print(overhead(seeds[0]), flush=True)
        for i in range(args.n):
            seed = seeds[int(rng.integers(0, len(seeds)))]
            target = tmp_p / f"m{i % 4}{seed.suffix}"
            how = mutate(seed, target, rng)
            for cmd in commands:
                outcome, line = run_one([cmd, str(target)], args.timeout)
                counts[cmd][outcome] += 1
                if outcome in ("internal", "hang", "crash"):
                    causes[f"{cmd} {outcome} [{seed.name} {how}]: {line[:160]}"] += 1
                    if args.keep is not None:
                        args.keep.mkdir(parents=True, exist_ok=True)
                        (args.keep / f"{i}_{cmd}_{outcome}{seed.suffix}").write_bytes(target.read_bytes())
            if (i + 1) % 500 == 0 and i + 1 < args.n:
                table(i + 1, counts, commands, args, time.perf_counter() - start)
    total = table(args.n, counts, commands, args, time.perf_counter() - start)
    for cause, n in causes.most_common(40):
        print(f"{n:5d}  {cause}")
    return 0 if not (total["internal"] or total["hang"] or total["crash"]) else 1


def table(n: int, counts: dict, commands: list[str], args: argparse.Namespace, elapsed: float) -> collections.Counter:
    """Print the outcome counts so far; return the totals."""
    print(f"{n} mutated files (seed {args.seed}), {len(commands)} command(s) each, deadline "
          f"{args.timeout:g} s, {elapsed:.0f} s")
    print(f"{'command':<10}" + "".join(f"{o:>10}" for o in OUTCOMES))
    for cmd in commands:
        print(f"{cmd:<10}" + "".join(f"{counts[cmd][o]:>10}" for o in OUTCOMES))
    total: collections.Counter = collections.Counter()
    for c in counts.values():
        total.update(c)
    print(f"{'total':<10}" + "".join(f"{total[o]:>10}" for o in OUTCOMES), flush=True)
    return total


if __name__ == "__main__":
    raise SystemExit(main())
