"""XSENSOR CSV: per-frame blocks (-LF/-RF sensors) and the one-row-per-frame wide variant."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitpf.errors import FormatError
from gaitpf.io import detect_format, read_recording

DATA = Path(__file__).parent / "data" / "vendor"
XS = DATA / "xsensor_excerpt.csv"
MMHG_KPA = 0.133322387415


def test_blocks_both_insoles_in_kpa_with_sensel_area_and_vendor_load():
    rec = read_recording(XS)
    assert detect_format(XS) == "xsensor" and rec.sides == ("left", "right")
    left = rec.feet["left"]
    assert left.n_sensors == 31 * 11 and left.unit == "kPa" and left.n_samples == 6
    lines = XS.read_text(encoding="utf-8-sig").splitlines()
    s = lines.index(next(ln for ln in lines if ln.startswith("SENSELS")))
    rows = [ln.split(",")[:11] for ln in lines[s + 1:] if ln.strip(",")][:31]
    np.testing.assert_allclose(left.values[0], np.array(rows, float).reshape(-1) * MMHG_KPA, rtol=1e-6)
    force = left.values.astype(float) @ left.layout.area_mm2 / 1000
    np.testing.assert_allclose(force, left.aux["vendor_est_load_n"], rtol=0.01)
    assert left.layout.area_mm2[0] == pytest.approx(86.0 ** 2 / 100)  # 0.86 cm sensels
    assert rec.source["timing"]["sampling_rate_hz"] == pytest.approx(1 / 0.013, rel=0.05)
    assert left.sample_counter[0] == 1464


def test_a_frame_without_one_insole_is_a_gap_for_that_foot(tmp_path):
    lines = XS.read_text(encoding="utf-8-sig").splitlines()
    frames = [i for i, ln in enumerate(lines) if ln.startswith("FRAME,")]
    f3 = lines[frames[2]:frames[3]]
    rf = next(i for i, ln in enumerate(f3) if ln.startswith("SENSOR,") and "-RF" in ln)
    grp = next(i for i, ln in enumerate(f3) if ln.startswith("GROUP,"))
    out = lines[:frames[2]] + f3[:rf] + f3[grp:] + lines[frames[3]:]
    bad = tmp_path / "lost.csv"
    bad.write_text("\n".join(out) + "\n", encoding="utf-8")
    rec = read_recording(bad)
    assert rec.feet["right"].n_samples == 5 and rec.feet["left"].n_samples == 6
    assert rec.feet["right"].quality[2] & 2
    assert list(rec.annotations.side) == ["right"]


def test_cut_and_mixed_unit_blocks_are_refused(tmp_path):
    text = XS.read_text(encoding="utf-8-sig")
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: int(len(text) * 0.97)], encoding="utf-8")
    with pytest.raises(FormatError, match="cut"):
        read_recording(cut)
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(text.replace("Peak Pressure (mmHg)", "Peak Pressure (kPa)", 1), encoding="utf-8")
    with pytest.raises(FormatError, match="mixed pressure units"):
        read_recording(mixed)


def test_wide_variant_one_row_per_frame(tmp_path):
    blocks = read_recording(XS)
    head = ["Frame", "Time"]
    for tag, side in (("LF", "left"), ("RF", "right")):
        head += [f"{tag} R{r}C{c}" for r in range(1, 32) for c in range(1, 12)]
    rows = []
    for k in range(6):
        t = blocks.feet["left"].times_s()[k]
        vals = np.concatenate([blocks.feet[s].values[k] / MMHG_KPA for s in ("left", "right")])
        rows.append(",".join([str(k + 1), f"08:21:{17.982 + t:06.3f}"] + [f"{v:.4f}" for v in vals]))
    wide = tmp_path / "wide.csv"
    wide.write_text("Units:,mmHg\nSensel Width (cm),0.86\nSensel Height (cm),0.86\n" + ",".join(head) + "\n"
                    + "\n".join(rows) + "\n", encoding="utf-8")
    assert detect_format(wide) == "xsensor"
    rec = read_recording(wide)
    assert rec.source["variant"] == "one row per frame"
    for side in ("left", "right"):
        np.testing.assert_allclose(rec.feet[side].values, blocks.feet[side].values, rtol=1e-4, atol=1e-3)
    assert rec.feet["left"].layout.names == blocks.feet["left"].layout.names
    assert rec.sampling_rate_hz == pytest.approx(blocks.sampling_rate_hz, rel=0.01)
