"""A researcher's walk through gaitpf: one shared record -> strides and symmetry -> a figure.

Run from the repository root (the test suite runs it too, ``tests/test_api.py``)::

    python docs/examples/researcher_walkthrough.py [RECORD] [-o OUT_DIR]

RECORD defaults to the PhysioNet gaitndd record ``control1`` of the shared datasets
(``../shared/datasets/physionet-gaitndd/control1.hea``), else the copy in ``tests/data``.
Writes ``OUT_DIR/walkthrough.png`` (stance time per stride and the mean stance load curves
of both feet) and ``OUT_DIR/recordings/C01/S1/T1.h5`` (the record as a gaitpf recording in
the recommended tree, listed with :func:`gaitpf.subjects`).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import gaitpf

REPO = Path(__file__).resolve().parents[2]
CANDIDATES = (REPO.parent / "shared" / "datasets" / "physionet-gaitndd" / "control1.hea",
              REPO / "tests" / "data" / "gaitndd" / "control1.hea")


def main(argv: list[str] | None = None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("record", nargs="?", type=Path, default=None)
    ap.add_argument("-o", "--out", type=Path, default=Path("walkthrough"))
    args = ap.parse_args(argv)
    record = args.record or next(p for p in CANDIDATES if p.exists())
    args.out.mkdir(parents=True, exist_ok=True)

    # 1. read: any supported file (gaitpf .h5, gaitndd .hea, gaitpdb .txt, CSV with a rate)
    rec = gaitpf.read_recording(record)
    print(rec)                                   # one line: who, feet x sensors @ rate, duration

    # 2. analyze: stride table, symmetry table (indexed by metric), JSON summary
    res = gaitpf.analyze(rec)
    print(res)
    sym = res.symmetry.loc[["stride_time_s", "stance_time_s", "swing_time_s"],
                           ["left_mean", "right_mean", "left_n", "right_n", "si_pct"]]
    print(sym.round(3).to_string())
    print("units:", {c: res.strides.attrs["units"][c] for c in ("stance_time_s", "cadence_spm")})

    # 3. keep it as a gaitpf recording in the recommended tree, then list the subjects there
    root = args.out / "recordings"
    target = root / "C01" / "S1" / "T1.h5"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    gaitpf.write_recording(target, rec.replace(subject_id="C01", session="S1", trial="T1"))
    print(gaitpf.subjects(root).to_string())

    # 4. a figure: stance time of every stride (steady ones filled) and the mean stance load curves
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    colours = {"left": "tab:blue", "right": "tab:orange"}
    for side, rows in res.strides.groupby("side"):
        steady = rows["steady"].to_numpy(bool)
        ax1.plot(rows["ic_s"], rows["stance_time_s"], "o", mfc="none", color=colours[side], ms=4)
        ax1.plot(rows["ic_s"][steady], rows["stance_time_s"][steady], "o", color=colours[side], ms=4,
                 label=f"{side} ({steady.sum()} steady of {len(rows)})")
        curve = res.curves[side]
        x = np.linspace(0, 100, len(curve["mean"]))
        ax2.plot(x, curve["mean"], color=colours[side], label=side)
        ax2.fill_between(x, curve["mean"] - curve["sd"], curve["mean"] + curve["sd"], color=colours[side], alpha=0.2)
    unit = rec.feet[rec.sides[0]].unit
    ax1.set(xlabel="initial contact (s)", ylabel="stance time (s)",
            title=f"stance time SI {res.symmetry.loc['stance_time_s', 'si_pct']:+.1f} %")
    ax2.set(xlabel="stance (%)", ylabel=f"total load ({unit})", title="mean stance load ± SD")
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    fig.suptitle(repr(rec), fontsize=8)
    png = args.out / "walkthrough.png"
    fig.savefig(png, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"figure: {png}")
    return png


if __name__ == "__main__":
    main()
