"""Moticon OpenGo text export: both header variants, gaps, events, layout, bad input."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gaitpf.errors import FormatError
from gaitpf.io import detect_format, read_recording
from gaitpf.io.vendor_moticon import moticon_layout, read_moticon, step_code_meaning
from gaitpf.model import QUALITY_GAP_BEFORE

DATA = Path(__file__).parent / "data" / "vendor"
NORMAL = DATA / "moticon_normal_excerpt.txt"
LIVE = DATA / "moticon_live_excerpt.txt"


def test_older_header_variant_reads_both_feet_in_kpa_on_the_file_time_base():
    rec = read_recording(NORMAL)
    assert detect_format(NORMAL) == "moticon"
    assert rec.sides == ("left", "right")
    left = rec.feet["left"]
    assert left.unit == "kPa" and left.n_sensors == 16
    assert rec.sampling_rate_hz == pytest.approx(100.0)
    first = NORMAL.read_text(encoding="utf-8").splitlines()[9].split("\t")
    assert rec.feet["right"].times_s()[0] == pytest.approx(float(first[0]))
    assert rec.feet["right"].values[0, 0] == pytest.approx(10 * float(first[26]))  # N/cm^2 -> kPa
    assert rec.source["vendor"] == "Moticon ReGo AG" and rec.source["insole_size"] == 7
    assert rec.source["header_variant"] == "without start timestamp"
    assert left.device["serial"] == "5968" and rec.feet["right"].device["serial"] == "9171"
    # no name in the identity: a pseudonym from the content hash (the path is for messages only)
    assert rec.subject_id == "anon-" + rec.source["sha256"][:8]
    assert not any("excerpt" in str(v) for k, v in rec.source.items() if k != "path")


def test_a_row_with_one_side_is_a_gap_for_the_other_foot_never_filled():
    rec = read_moticon(NORMAL)
    text = NORMAL.read_text(encoding="utf-8").splitlines()[9:]
    rows = [r.split("\t") for r in text]
    present = np.array([r[1] != "" for r in rows])
    left = rec.feet["left"]
    assert left.n_samples == present.sum()
    inside = present[np.argmax(present): len(present) - np.argmax(present[::-1])]
    left_missing = int(np.count_nonzero(~inside))
    gaps = rec.annotations[(rec.annotations.kind == "gap") & (rec.annotations.side == "left")]
    assert len(gaps) == int(np.count_nonzero(left.quality & QUALITY_GAP_BEFORE))
    # every flagged sample follows a jump of more than one interval in the file's time
    t = left.times_s()
    flagged = np.flatnonzero(left.quality & QUALITY_GAP_BEFORE)
    assert np.all(np.diff(t)[flagged - 1] > 0.015)
    assert left_missing > 0 and gaps["duration_s"].sum() == pytest.approx(0.01 * left_missing, abs=1e-6)


def test_step_columns_become_vendor_event_annotations():
    rec = read_moticon(NORMAL)
    ev = rec.annotations[rec.annotations.kind == "vendor_event"]
    left_ic = ev[(ev.side == "left") & ev.description.str.contains("initial contact")]
    assert left_ic.onset_s.iloc[0] == pytest.approx(3.00)  # the vendor's gait report: 3.000 s
    right_to = ev[(ev.side == "right") & ev.description.str.contains("toe-off")]
    assert right_to.onset_s.iloc[0] == pytest.approx(4.67)  # gait report: 4.665 s
    assert step_code_meaning(21) == "initial contact" and step_code_meaning(15) == "toe-off"


def test_newer_header_variant_with_label_events_and_cop_velocity():
    rec = read_recording(LIVE)
    assert rec.source["header_variant"] == "with start timestamp"
    assert rec.source["start_timestamp_ms"] == 1663250316241
    ev = rec.annotations[rec.annotations.kind == "vendor_event"]
    assert set(ev.side) == {"left", "right"}
    assert ev.description.iloc[0] == "Left Events: Event 1"
    assert "cop_velocity_norm_per_s" in rec.feet["left"].aux
    assert rec.feet["left"].layout.layout_id == "moticon-opengo-size3"


def test_auxiliary_imu_force_and_cop_with_unloaded_cop_as_missing():
    rec = read_moticon(NORMAL)
    aux = rec.feet["left"].aux
    for key in ("accel_x_g", "gyro_z_dps", "vendor_total_force_n", "vendor_cop_x_norm", "vendor_cop_y_norm"):
        assert key in aux and aux[key].shape == (rec.feet["left"].n_samples,)
    unloaded = aux["vendor_total_force_n"] == 0
    assert unloaded.any() and np.isnan(aux["vendor_cop_x_norm"][unloaded]).all()


@pytest.mark.parametrize("path", [NORMAL, LIVE])
def test_layout_areas_reproduce_the_vendor_total_force_and_cop(path):
    rec = read_moticon(path)
    for foot in rec.feet.values():
        lay = foot.layout
        force_n = foot.values.astype(float) @ lay.area_mm2 / 1000.0
        vendor = foot.aux["vendor_total_force_n"]
        loaded = vendor > 100
        assert np.median(force_n[loaded] / vendor[loaded]) == pytest.approx(1.0, abs=0.02)
        # COP from the layout, in the vendor's normalised axes (AP = y / length - 0.5)
        length = lay.y_mm.max() / (0.5 + 0.414)
        w = foot.values[loaded].astype(float) * lay.area_mm2
        cop_ap = (w @ (lay.y_mm / length - 0.5)) / w.sum(axis=1)
        assert np.nanmax(np.abs(cop_ap - foot.aux["vendor_cop_x_norm"][loaded])) < 0.01


def test_layout_regions_follow_the_sole_from_heel_to_toes():
    lay = moticon_layout(7)
    assert lay.region[:2] == ("heel", "heel") and lay.region[13] == "toes"
    assert lay.y_mm[13] > lay.y_mm[0] and lay.x_mm[12] > 0  # sensor 13 lateral (x grows medial -> lateral)
    assert moticon_layout(3).y_mm.max() < lay.y_mm.max()


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def test_a_cut_export_is_refused(tmp_path):
    cut = tmp_path / "cut.txt"
    cut.write_text("".join(_lines(NORMAL)[:400]), encoding="utf-8")
    with pytest.raises(FormatError, match="cut"):
        read_recording(cut)
    half = tmp_path / "half.txt"
    lines = _lines(NORMAL)
    half.write_text("".join(lines[:-1]) + lines[-1][:40], encoding="utf-8")
    with pytest.raises(FormatError, match="cut"):
        read_recording(half)


def test_mixed_units_are_refused(tmp_path):
    lines = _lines(NORMAL)
    lines[8] = lines[8].replace("right pressure 3[N/cm²]", "right pressure 3[kPa]")
    bad = tmp_path / "mixed.txt"
    bad.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(FormatError, match="mixed pressure units"):
        read_recording(bad)


def test_chosen_by_content_whatever_the_extension(tmp_path):
    renamed = tmp_path / "export.csv"
    renamed.write_bytes(NORMAL.read_bytes())
    assert detect_format(renamed) == "moticon"
    assert read_recording(renamed).feet["left"].unit == "kPa"


def test_one_foot_only_reads_as_a_single_foot(tmp_path):
    lines = _lines(NORMAL)
    out = lines[:9]
    for ln in lines[9:]:
        f = ln.rstrip("\n").split("\t")
        f[26:51] = [""] * 25  # drop every right-foot cell
        out.append("\t".join(f) + "\n")
    one = tmp_path / "left_only.txt"
    one.write_text("".join(out), encoding="utf-8")
    rec = read_recording(one)
    assert rec.sides == ("left",)
    from gaitpf.analysis import analyze

    res = analyze(rec)
    assert res.summary["sides"] == ["left"] or tuple(res.summary["sides"]) == ("left",)
    assert "one foot only: symmetry is not available" in res.warnings


def test_import_to_hdf5_keeps_aux_channels_gaps_and_vendor_events(tmp_path):
    from gaitpf.io import write_recording

    rec = read_moticon(LIVE)
    out = tmp_path / "live.h5"
    write_recording(out, rec)
    back = read_recording(out)
    for side in rec.sides:
        assert back.feet[side].aux.keys() == rec.feet[side].aux.keys()
        np.testing.assert_array_equal(back.feet[side].aux["vendor_cop_x_norm"], rec.feet[side].aux["vendor_cop_x_norm"])
        np.testing.assert_array_equal(back.feet[side].times_s(), rec.feet[side].times_s())
    assert sorted(back.annotations.description) == sorted(rec.annotations.description)


def test_aux_channels_must_have_one_value_per_sample():
    from gaitpf.errors import SignalError
    from gaitpf.model import FootSignals

    with pytest.raises(SignalError, match="auxiliary channel 'accel_x_g'"):
        FootSignals(side="left", values=np.zeros((5, 2)), unit="N", sampling_rate_hz=100.0,
                    aux={"accel_x_g": np.zeros(4)})
