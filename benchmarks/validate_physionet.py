"""Validate step segmentation against the PhysioNet gaitndd reference tables.

Usage::

    python benchmarks/validate_physionet.py [DATASETS_DIR]

``DATASETS_DIR`` (or env ``GAITPF_DATASETS``, default ``../shared/datasets`` beside the repository) holds
``physionet-gaitndd/`` (records with ``.ts`` reference tables) and optionally
``physionet-gaitpdb/`` (walks without reference: cadence and stride counts are printed).

Prints one row per gaitndd record, a pooled line (pooled over all reference strides)
and the targets each record misses. Exit code 0 always (this is a report, the tests
assert the targets on the vendored records).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from gaitpf.analysis import AnalysisParams, analyze
from gaitpf.io.gaitndd import read_gaitndd, read_gaitndd_reference
from gaitpf.validation import TARGETS, check_targets, record_metrics

COLS = [
    ("ic_median_abs_ms", "ICmed", "{:5.1f}"),
    ("matched_pct", "match%", "{:6.1f}"),
    ("recall_pct", "recall", "{:6.1f}"),
    ("precision_pct", "prec", "{:6.1f}"),
    ("right_stride_mae_ms", "RstrMAE", "{:7.1f}"),
    ("left_stance_mae_ms", "LstMAE", "{:6.1f}"),
    ("right_stance_mae_ms", "RstMAE", "{:6.1f}"),
    ("left_swing_mae_ms", "LswMAE", "{:6.1f}"),
    ("right_swing_mae_ms", "RswMAE", "{:6.1f}"),
    ("stance_si_diff_pp", "dSIst", "{:5.2f}"),
    ("swing_si_diff_pp", "dSIsw", "{:5.2f}"),
    ("stance_ga_diff_pp", "dGAst", "{:5.2f}"),
    ("swing_ga_diff_pp", "dGAsw", "{:5.2f}"),
]


def _row(name: str, m: dict, extra: str = "") -> str:
    cells = [f"{name:10s}", f"{m.get('n_ref', 0):5d}"]
    for key, head, fmt in COLS:
        cells.append(fmt.format(m.get(key, float("nan"))).rjust(len(head)))
    return " ".join(cells) + (f"  {extra}" if extra else "")


def main(argv: list[str]) -> int:
    default = Path(__file__).resolve().parents[2] / "shared" / "datasets"   # ../shared beside the clone
    root = Path(argv[1] if len(argv) > 1 else os.environ.get("GAITPF_DATASETS", default))
    ndd = root / "physionet-gaitndd"
    records = sorted(p.with_suffix("") for p in ndd.glob("*.hea"))
    if not records:
        print(f"no gaitndd records under {ndd}")
        return 0
    params = AnalysisParams()
    print(f"gaitndd validation, {len(records)} records in {ndd}")
    print("targets: " + ", ".join(f"{k} {'<=' if op == 'le' else '>='} {v:g}" for k, (op, v) in TARGETS.items()))
    print(" ".join(["record    ", "  n  "] + [h for _, h, _ in COLS]) + "  misses")
    all_metrics = []
    pooled_parts = []
    t0 = time.perf_counter()
    for stem in records:
        rec = read_gaitndd(stem.with_suffix(".hea"))
        ref = read_gaitndd_reference(stem.with_suffix(".ts"))
        table = analyze(rec, params).strides
        m = record_metrics(table, ref)
        all_metrics.append((stem.name, m))
        pooled_parts.append((table, ref, m))
        miss = check_targets(m)
        print(_row(stem.name, m, ",".join(miss) if miss else "ok"))
    elapsed = time.perf_counter() - t0
    # pooled: weight per-record values by the number of reference strides
    df = pd.DataFrame([m for _, m in all_metrics])
    w = df["n_ref"].to_numpy(float)
    pooled = {"n_ref": int(w.sum())}
    for key, _, _ in COLS:
        v = df[key].to_numpy(float)
        ok = np.isfinite(v)
        pooled[key] = float(np.average(v[ok], weights=w[ok])) if ok.any() else float("nan")
    print(_row("POOLED", pooled, "(n-weighted mean of records)"))
    failing = [(n, check_targets(m)) for n, m in all_metrics if check_targets(m)]
    print(f"{len(records) - len(failing)}/{len(records)} records meet every target; "
          f"analysis time {elapsed:.1f} s ({elapsed / len(records) * 1000:.0f} ms/record)")
    for n, miss in failing:
        print(f"  {n}: misses {', '.join(miss)}")

    pdb = root / "physionet-gaitpdb"
    try:
        from gaitpf.io.gaitpdb import read_gaitpdb
    except ImportError:
        read_gaitpdb = None
    walks = sorted(p for p in pdb.glob("*_*.txt")) if pdb.is_dir() else []
    if read_gaitpdb is not None and walks:
        print(f"\ngaitpdb walks ({len(walks)}), full pipeline, no reference:")
        print("walk           cadence_spm  n_strides(L/R)  steady(L/R)")
        for p in walks:
            try:
                res = analyze(read_gaitpdb(p), params)
            except Exception as exc:  # report and continue: this is a survey
                print(f"{p.stem:14s} FAILED: {exc}")
                continue
            s = res.summary
            print(
                f"{p.stem:14s} {s['cadence_spm'] or float('nan'):11.1f}  "
                f"{s['n_strides'].get('left', 0):5d}/{s['n_strides'].get('right', 0):<5d}     "
                f"{s['n_steady_strides'].get('left', 0):5d}/{s['n_steady_strides'].get('right', 0):<5d}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
