"""`gaitpf compare` knows what it compares: stored ids, duplicates, mixed subjects, missing files."""
from __future__ import annotations

import json
import shutil

import pytest

from gaitpf.cli.main import main
from gaitpf.sessions import metadata as md

from session_fixtures import meta, write_trial

FAST = ["--n-boot", "400"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    # the README's layout: the same stem t1 in two sessions
    a = write_trial(root, "PF01", "S01", "t1", asym=12, seed=1, duration_s=40,
                    metadata=meta(1, condition="own shoes", notes="heel pain on first steps"))
    b = write_trial(root, "PF01", "S03", "t1", asym=4, seed=2, duration_s=40, metadata=meta(3, condition="barefoot"))
    c = write_trial(root, "PF02", "S01", "t1", asym=6, seed=3, duration_s=40, metadata=meta(1))
    return root, a, b, c


def _json(capsys, *args):
    main(["compare", *map(str, args), "--json", *FAST])
    return json.loads(capsys.readouterr().out)


def test_labels_come_from_the_recordings_and_order_from_session_numbers(files, capsys):
    _root, a, b, _c = files
    data = _json(capsys, b, a)
    assert [s["session"] for s in data["sessions"]] == ["S01", "S03"]
    assert [s["date"] for s in data["sessions"]] == ["2024-02-01", "2024-02-03"]
    head = [r for r in data["metrics"] if r["metric"] == "stance_time_s"]
    assert head[0]["session"] == "S01" and head[0]["is_baseline"] and head[0]["value"] > head[1]["value"]
    # the clinician's notes stay apart from gaitpf's warnings; a condition change is a confounder
    s1, s3 = data["sessions"]
    assert s1["notes"] == "heel pain on first steps" and s1["condition"] == "own shoes"
    assert "barefoot" in s3["confounders"] and s3["notes"] == ""
    assert any("condition 'barefoot' differs" in w for w in data["warnings"])
    assert data["affected_side"] == "left" and "affected (left)" in data["sign_convention"]


def test_the_same_recording_twice_is_refused(files, capsys, tmp_path):
    _root, a, _b, _c = files
    copy = tmp_path / "copy.h5"
    shutil.copy(a, copy)
    md.update_file_metadata(copy, {"session_no": 2})     # other metadata, same samples
    for args in ((a, a), (a, copy)):
        with pytest.raises(SystemExit) as exc:
            main(["compare", *map(str, args), *FAST])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert "hold the same recording" in err and len(err.strip().splitlines()) == 1


def test_different_subjects_are_refused_unless_asked(files, capsys):
    _root, a, _b, c = files
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(a), str(c), *FAST])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "different subjects" in err and "--allow-mixed-subjects" in err
    main(["compare", str(a), str(c), "--json", "--allow-mixed-subjects", *FAST])
    data = json.loads(capsys.readouterr().out)
    assert [s["label"] for s in data["sessions"]] == ["PF01/S01", "PF02/S01"]
    assert data["trend"] == {} and any("different subjects" in w for w in data["warnings"])


def test_missing_inputs(files, capsys, tmp_path):
    _root, a, b, _c = files
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(tmp_path / "nope1.h5"), str(tmp_path / "nope2.h5")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "nope1.h5: no such file" in err and len(err.splitlines()) == 1
    data = _json(capsys, a, tmp_path / "nope3.h5", b)      # one missing: left out, the rest compared
    assert any("nope3.h5" in x for x in data["left_out"])
    assert [s["session"] for s in data["sessions"]] == ["S01", "S03"]


def test_signed_and_uncalibrated_metrics(files, capsys):
    """ml_index gets L − R in units (no SI); force without body mass stays, in its own unit."""
    from gaitpf.io import read_recording, write_recording

    root, a, b, _c = files
    data = _json(capsys, a, b)
    rows = {r["metric"]: r for r in data["metrics"] if r["is_baseline"]}
    ml = rows["ml_index"]
    assert ml["asymmetry_kind"] == "difference" and ml["index_signed"] is None
    assert ml["lr_difference"] == pytest.approx(ml["left_mean"] - ml["right_mean"])
    assert ml["value"] == pytest.approx(abs(ml["lr_difference"]))
    assert rows["stance_time_s"]["asymmetry_kind"] == "index"
    assert "peak_force_1_pct_bw" in rows
    out = []
    for p, name in ((a, "a_au.h5"), (b, "b_au.h5")):
        rec = read_recording(p)
        feet = {s: f.__class__(**{**f.__dict__, "unit": "au"}) for s, f in rec.feet.items()}
        q = root / name
        write_recording(q, rec.replace(feet=feet, body_mass_kg=None))
        out.append(q)
    data = _json(capsys, *out)
    rows = {r["metric"]: r for r in data["metrics"] if not r["is_baseline"]}
    assert "peak_force_1_au" in rows and rows["peak_force_1_au"]["scale"] == "relative"
    assert rows["peak_force_1_au"]["unit"] == "a.u." and rows["peak_force_1_au"]["change_abs"] is not None
    assert any("arbitrary units" in w for w in data["warnings"])
