"""gaitpf's gait events against the vendor's own detector (Moticon OpenGo gait report).

Usage::

    python benchmarks/vendor_agreement.py [TEXT_EXPORT GAIT_REPORT.xlsx]...

Without arguments: the shared pair ``../shared/datasets/vendor-exports/moticon-opengo/
230927_102114.txt`` + ``gait_report_230927_10_21_14.xlsx``. Needs ``openpyxl`` (the
``test`` extra).

Method: the text export is read by :func:`gaitpf.io.read_recording` (the file's own time
base, so both detectors share one clock) and analysed by gaitpf's stance detector
(``preprocess.prepare_load`` + ``events.detect_stance_phases``, default parameters). The
report's ``Left Steps`` / ``Right Steps`` sheets give the vendor's initial contact (IC) and
toe-off (TO) per step. A vendor step is *matched* when a gaitpf stance of the same foot
has its IC within ±40 ms of the vendor's IC (nearest one, each gaitpf stance used once).
Printed per file and pooled: matched steps / vendor steps, median |ΔIC|, median |ΔTO|,
median ΔTO and its interquartile range (Δ = gaitpf − vendor, ms). Exit code 0 always.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

MATCH_WINDOW_S = 0.040
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "vendor-exports" / "moticon-opengo"


def vendor_steps(xlsx: str | Path) -> pd.DataFrame:
    """Vendor steps (side, ic_s, to_s) from a Moticon gait report's ``Left/Right Steps`` sheets."""
    import openpyxl

    wb = openpyxl.load_workbook(xlsx, read_only=True, data_only=True)
    rows = []
    for side in ("left", "right"):
        name = f"{side.capitalize()} Steps"
        if name not in wb.sheetnames:
            continue
        it = wb[name].iter_rows(values_only=True)
        header = [str(h) for h in next(it)]
        ic_col, to_col = header.index("Initial contact (s)"), header.index("Toe off (s)")
        for r in it:
            if r[ic_col] is None:
                continue
            to = r[to_col]
            rows.append((side, float(r[ic_col]), float(to) if isinstance(to, (int, float)) else np.nan))
    return pd.DataFrame(rows, columns=["side", "ic_s", "to_s"])


def gaitpf_stances(rec) -> pd.DataFrame:
    """gaitpf's stance phases (side, ic_s, to_s) on the recording's time base."""
    from gaitpf.analysis import AnalysisParams, events, preprocess

    params = AnalysisParams()
    out = []
    for side in rec.sides:
        foot = rec.feet[side]
        prep = preprocess.prepare_load(foot.values, sampling_rate_hz=rec.sampling_rate_hz, unit=foot.unit,
                                       params=params.preprocess)
        st = events.detect_stance_phases(prep.load, sampling_rate_hz=rec.sampling_rate_hz, params=params.events,
                                         invalid=prep.invalid)
        t = foot.times_s()
        out.append(pd.DataFrame({"side": side, "ic_s": t[st["ic_idx"].to_numpy(int)],
                                 "to_s": t[st["to_idx"].to_numpy(int)]}))
    return pd.concat(out, ignore_index=True)


def match(vendor: pd.DataFrame, ours: pd.DataFrame, window_s: float = MATCH_WINDOW_S) -> pd.DataFrame:
    """One row per vendor step: matched flag and ΔIC, ΔTO (gaitpf − vendor, s) when matched."""
    rows = []
    for side, v in vendor.groupby("side", sort=False):
        o = ours[ours["side"] == side].sort_values("ic_s")
        used: set[int] = set()
        for _, step in v.iterrows():
            d = (o["ic_s"] - step["ic_s"]).abs()
            d = d[~d.index.isin(used)]
            if len(d) and d.min() <= window_s + 1e-9:
                j = int(d.idxmin())
                used.add(j)
                rows.append((side, step["ic_s"], True, o.at[j, "ic_s"] - step["ic_s"], o.at[j, "to_s"] - step["to_s"]))
            else:
                rows.append((side, step["ic_s"], False, np.nan, np.nan))
    return pd.DataFrame(rows, columns=["side", "vendor_ic_s", "matched", "d_ic_s", "d_to_s"])


def summarize(m: pd.DataFrame) -> dict[str, float]:
    """Matched fraction, median |ΔIC|, median |ΔTO|, median ΔTO and IQR of ΔTO (ms)."""
    d_ic = m["d_ic_s"].dropna().to_numpy() * 1e3
    d_to = m["d_to_s"].dropna().to_numpy() * 1e3
    q1, q3 = np.percentile(d_to, [25, 75]) if d_to.size else (np.nan, np.nan)
    return {
        "vendor_steps": int(len(m)), "matched": int(m["matched"].sum()),
        "matched_pct": 100.0 * m["matched"].mean() if len(m) else np.nan,
        "ic_median_abs_ms": float(np.median(np.abs(d_ic))) if d_ic.size else np.nan,
        "to_median_abs_ms": float(np.median(np.abs(d_to))) if d_to.size else np.nan,
        "to_median_ms": float(np.median(d_to)) if d_to.size else np.nan,
        "to_iqr_ms": float(q3 - q1),
    }


def agreement(text_export: str | Path, report: str | Path) -> tuple[pd.DataFrame, dict[str, float]]:
    """Match gaitpf's events on ``text_export`` to the vendor's ``report`` (steps whose stance ends inside it)."""
    from gaitpf.io import read_recording

    rec = read_recording(text_export)
    vendor = vendor_steps(report)
    t_end = max(f.times_s()[-1] for f in rec.feet.values())
    vendor = vendor[vendor["to_s"].fillna(np.inf) <= t_end].reset_index(drop=True)  # whole stances only
    m = match(vendor, gaitpf_stances(rec))
    return m, summarize(m)


def main(argv: list[str]) -> int:
    pairs = list(zip(argv[0::2], argv[1::2])) or [
        (SHARED / "230927_102114.txt", SHARED / "gait_report_230927_10_21_14.xlsx")]
    print(f"{'file':40s} {'steps':>5s} {'match%':>6s} {'|dIC|':>6s} {'|dTO|':>6s} {'dTO':>6s} {'IQR':>5s}  (ms)")
    allm = []
    for text, xlsx in pairs:
        m, s = agreement(text, xlsx)
        allm.append(m)
        print(f"{Path(text).name[:40]:40s} {s['vendor_steps']:5d} {s['matched_pct']:6.1f} {s['ic_median_abs_ms']:6.1f} "
              f"{s['to_median_abs_ms']:6.1f} {s['to_median_ms']:6.1f} {s['to_iqr_ms']:5.1f}")
    s = summarize(pd.concat(allm, ignore_index=True))
    print(f"{'pooled':40s} {s['vendor_steps']:5d} {s['matched_pct']:6.1f} {s['ic_median_abs_ms']:6.1f} "
          f"{s['to_median_abs_ms']:6.1f} {s['to_median_ms']:6.1f} {s['to_iqr_ms']:5.1f}")
    print("goals: matched >= 90 %, median |dIC| <= 20 ms, IQR of dTO <= 30 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
