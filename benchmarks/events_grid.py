"""Sensitivity of the event and steady-state rules to their parameters (one at a time).

Usage::

    python benchmarks/events_grid.py [DATASETS_DIR]

For each parameter of the rules added for the failure modes of the events issue (terminal
plateau, standing baseline, merged stances, steady-state selection), the default and one
value on each side are run over the shared PhysioNet records: pooled gaitndd figures
(left IC within 20 ms, minimum recall, mean right stance MAE, record-sides above 30 ms,
loaded toe-offs, alternation breaks) and the gaitpdb group means of stride/swing CV.
Prints a table; nothing is asserted (the defaults are not fitted to this table: it shows
how flat the results are around them).
"""
from __future__ import annotations

import dataclasses
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from gaitpf.analysis import AnalysisParams, analyze
from gaitpf.io.gaitndd import read_gaitndd, read_gaitndd_reference
from gaitpf.io.gaitpdb import read_gaitpdb
from gaitpf.validation import record_metrics

GRID: list[tuple[str, str, list]] = [
    ("events", "plateau_fraction", [0.10, 0.15, 0.20]),
    ("events", "plateau_drop_fraction", [0.08, 0.12, 0.16]),
    ("events", "split_depth", [0.6, 0.7, 0.8]),
    ("preprocess", "baseline_standing_fraction", [0.15, 0.25, 0.35]),
    ("preprocess", "baseline_standing_window_s", [2.0, 3.0, 4.0]),
    ("strides", "outlier_mad_k", [2.5, 3.0, 3.5]),
    ("strides", "outlier_neighbours", [0, 1, 2]),
    ("strides", "bout_edge_strides", [1, 2, 3]),
]


def _params(stage: str, name: str, value) -> AnalysisParams:
    base = AnalysisParams()
    return dataclasses.replace(base, **{stage: dataclasses.replace(getattr(base, stage), **{name: value})})


def _run(params: AnalysisParams, ndd: list, pdb: list) -> dict:
    rows, checks = [], []
    for rec, ref in ndd:
        res = analyze(rec, params)
        rows.append(record_metrics(res.strides, ref))
        checks += list(res.summary["self_checks"].values())
    df = pd.DataFrame(rows)
    sides = np.concatenate([df["left_stance_mae_ms"], df["right_stance_mae_ms"]])
    n_str = sum(c["n_strides"] for c in checks)
    out = {
        "IC20%": 100.0 * df["left_ic_within_tol"].sum() / df["n_ref"].sum(),
        "minrec%": df["recall_pct"].min(),
        "Rst": float(np.average(df["right_stance_mae_ms"], weights=df["n_ref"])),
        ">30ms": int((sides > 30).sum()),
        "loadTO%": sum(c["loaded_to_pct"] * c["n_strides"] for c in checks) / n_str,
        "altbrk%": float(np.nanmean([c["alternation_breaks_pct"] for c in checks])),
    }
    cv = []
    for name, rec in pdb:
        v = analyze(rec, params).summary["variability"]
        cv.append({"pd": "Pt" in name,
                   "stride": np.nanmean([v[s]["stride_time_cv_pct"] for s in v]),
                   "swing": np.nanmean([v[s]["swing_time_cv_pct"] for s in v])})
    g = pd.DataFrame(cv).groupby("pd").mean() if cv else None
    if g is not None and len(g) == 2:
        out.update({"COstrCV": g.loc[False, "stride"], "COswCV": g.loc[False, "swing"],
                    "PDstrCV": g.loc[True, "stride"], "PDswCV": g.loc[True, "swing"]})
    return out


def main(argv: list[str]) -> int:
    default = Path(__file__).resolve().parents[2] / "shared" / "datasets"
    root = Path(argv[1] if len(argv) > 1 else os.environ.get("GAITPF_DATASETS", default))
    ndd = [(read_gaitndd(h), read_gaitndd_reference(h.with_suffix(".ts")))
           for h in sorted((root / "physionet-gaitndd").glob("*.hea"))]
    pdb = [(p.stem, read_gaitpdb(p)) for p in sorted((root / "physionet-gaitpdb").glob("*_*.txt"))]
    if not ndd:
        print(f"no gaitndd records under {root}")
        return 0
    print(f"{len(ndd)} gaitndd records, {len(pdb)} gaitpdb walks; one parameter varied at a time")
    lines = [{"parameter": "defaults", **_run(AnalysisParams(), ndd, pdb)}]
    for stage, name, values in GRID:
        for v in values:
            if v == getattr(getattr(AnalysisParams(), stage), name):
                continue
            lines.append({"parameter": f"{name}={v}", **_run(_params(stage, name, v), ndd, pdb)})
    print(pd.DataFrame(lines).to_string(index=False, float_format=lambda x: f"{x:.2f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
