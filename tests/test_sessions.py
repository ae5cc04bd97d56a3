"""Subjects/sessions/trials: metadata, the catalog, progress and compare through the real CLI."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from gaitpf.cli.main import main
from gaitpf.errors import InputError
from gaitpf.sessions import metadata as md
from gaitpf.sessions.catalog import CATALOG_NAME, Catalog
from gaitpf.sessions.compare import subject_progress
from gaitpf.sessions.stats import BootstrapParams

from session_fixtures import build_subject, meta, write_standing, write_trial

FAST = ["--n-boot", "400"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("recordings")
    build_subject(root, "PF001", asyms=(12.0, 8.0, 4.0), trials=2)
    return root


def run(capsys, *args):
    main(list(args))
    return capsys.readouterr().out


# ------------------------------------------------------------------ metadata
def test_validate_metadata():
    out = md.validate_metadata({"date": "2024-03-07", "session_no": "3", "pain_vas": "4.5",
                                "affected_side": "Left", "treatment": " insoles ", "x": 1})
    assert out == {"date": "2024-03-07", "session_no": 3, "pain_vas": 4.5, "affected_side": "left",
                   "treatment": "insoles", "x": 1}
    with pytest.raises(InputError, match="outside the 0–10 VAS"):
        md.validate_metadata({"pain_vas": 11})
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        md.validate_metadata({"date": "7/3/24"})
    with pytest.raises(InputError, match="left, right or none"):
        md.validate_metadata({"affected_side": "both"})
    assert md.validate_metadata({"pain_vas": 11, "date": "2024-01-01"}, strict=False) == {"date": "2024-01-01"}
    assert md.missing_fields({"date": "2024-01-01", "treatment": ""}) == ["session_no", "treatment",
                                                                           "affected_side", "pain_vas"]


def test_subject_id_must_be_a_code():
    assert md.check_subject_id("PF001") == "PF001"
    with pytest.raises(InputError, match="pseudonymous"):
        md.check_subject_id("Jane Doe")


def test_update_metadata_keeps_samples(tmp_path):
    from gaitpf.io import read_recording

    p = write_trial(tmp_path, "PF009", "S1", "T1", asym=5, seed=3, metadata={"session_no": 1}, duration_s=30)
    before = read_recording(p)
    new = md.update_file_metadata(p, {"pain_vas": 3, "date": "2024-05-01"}, remove=("session_no",))
    assert new == {"pain_vas": 3.0, "date": "2024-05-01"}
    after = read_recording(p)
    assert after.metadata == new
    assert (after.feet["left"].values == before.feet["left"].values).all()
    assert not list(tmp_path.rglob(".*.tmp"))


# ------------------------------------------------------------------ catalog
def test_catalog_rebuildable(tmp_path):
    build_subject(tmp_path, "PF002", asyms=(6.0, 3.0))
    with Catalog(tmp_path) as cat:
        assert cat.refresh()["added"] == 2
        assert cat.refresh() == {"added": 0, "updated": 0, "removed": 0, "unreadable": 0}
        e = cat.entries("PF002")
        assert e["session"].tolist() == ["S1", "S2"]
        assert e["metadata"].iloc[0]["session_no"] == 1
        assert e["layouts"].iloc[0] == json.dumps({"left": "gaitpf-16", "right": "gaitpf-16"})
    md.update_file_metadata(tmp_path / "PF002" / "S2" / "T1.h5", {"pain_vas": 1})
    (tmp_path / "junk.h5").write_bytes(b"not hdf5")
    with Catalog(tmp_path) as cat:
        counts = cat.refresh()
        assert counts["updated"] == 1 and counts["unreadable"] == 1
        assert cat.entries("PF002")["metadata"].iloc[1]["pain_vas"] == 1.0
    (tmp_path / CATALOG_NAME).unlink()          # deleting the catalog loses nothing
    with Catalog(tmp_path) as cat:
        assert cat.refresh()["added"] == 3
        assert cat.subjects() == ["PF002"]
        with pytest.raises(InputError, match="known subjects: PF002"):
            cat.files_of("PF404")


# ------------------------------------------------------------------ progress
def test_progress_recovers_decreasing_asymmetry(tree):
    pr = subject_progress("PF001", root=tree, params=BootstrapParams(n_boot=1000))
    head = pr.table[pr.table["metric"] == "stance_time_s"].set_index("session")
    assert list(head.index) == ["S1", "S2", "S3"]
    assert head["value"].is_monotonic_decreasing
    last = head.loc["S3"]
    assert last["change_abs_ci_high"] < 0 and last["change_rel_ci_high"] < 0
    assert last["exceeds_mdc"] is True or last["exceeds_mdc"] == True  # noqa: E712
    assert pr.mdc["stance_time_s"]["mdc_kind"] == "between_trials"      # 2 trials x 3 sessions
    assert last["ci_excludes_zero"] is True and last["above_mdc95"] is True and last["mdc_kind"] == "between_trials"
    assert pr.trend["stance_time_s"]["slope"] < 0
    # 3 sessions: a slope but no CI (Sen's interval over 3 points does not keep its coverage)
    assert pd.isna(pr.trend["stance_time_s"]["slope_ci_low"]) and "fewer than 5" in pr.trend["stance_time_s"]["ci_note"]
    assert "points" in pr.headline and "relative" in pr.headline and "|SA|" in pr.headline
    assert "a real change" in pr.headline and "Affected side left" in pr.headline
    # oriented to the affected (left) side: its stance is shorter, so the signed asymmetry is negative
    assert pr.affected_side == "left" and "affected (left)" in pr.sign_convention
    assert (head["asym_affected"] < 0).all() and (head["lr_difference"] < 0).all()
    # the short trials have < 30 steady strides per side and session? then they are flagged
    st = pr.session_table
    assert st["n_steady_left"].min() > 0
    assert all(("only" in n) == (min(a, b) < 30) for n, a, b in
               zip(st["warnings"], st["n_steady_left"], st["n_steady_right"]))


@pytest.mark.parametrize("index", ["ga_pct", "sr"])
def test_oriented_asymmetry_has_a_bootstrap_ci(tree, index):
    """GA and SR oriented to the affected side (signed 100·ln(A/U), A/U) get a CI from the same bootstrap."""
    pr = subject_progress("PF001", root=tree, index=index, params=BootstrapParams(n_boot=300))
    head = pr.table[pr.table["metric"] == "stance_time_s"]
    lo, v, hi = head["asym_oriented_ci_low"], head["asym_oriented"], head["asym_oriented_ci_high"]
    assert (lo < v).all() and (v < hi).all() and (head["asym_affected"] == v).all()
    a, u = head["left_mean"], head["right_mean"]  # affected side left
    expect = 100 * np.log(a / u) if index == "ga_pct" else a / u
    assert np.allclose(v, expect)
    assert (hi < (0 if index == "ga_pct" else 1)).all()  # the affected (left) stance is clearly shorter


def test_relative_change_only_where_the_baseline_exceeds_its_mdc(tree):
    pr = subject_progress("PF001", root=tree, params=BootstrapParams(n_boot=400))
    ch = pr.table[pr.table["change_abs"].notna() & pr.table["mdc95"].notna()]
    baseline = ch["value"] - ch["change_abs"]
    within = baseline.abs() <= ch["mdc95"]
    assert within.any() and (~within).any()          # both cases occur in this subject
    assert ch.loc[within, "change_rel_pct"].isna().all()
    assert ch.loc[~within, "change_rel_pct"].notna().all()


def test_cli_progress_json_and_text(tree, capsys):
    out = run(capsys, "progress", "PF001", "--root", str(tree), "--json", *FAST)
    data = json.loads(out)
    assert data["index"] == "sa_pct" and data["baseline"] == "S1"
    assert {r["session"] for r in data["sessions"]} == {"S1", "S2", "S3"}
    text = run(capsys, "progress", str(tree / "PF001"), *FAST)
    assert "stance-time asymmetry (|SA|)" in text and "MDC95" in text and "trend (Theil–Sen)" in text


def test_cli_sessions_and_session_set(tree, tmp_path, capsys):
    out = run(capsys, "sessions", "PF001", "--root", str(tree), *FAST)
    assert "S1" in out and "insoles" in out and "asymmetry" in out
    build_subject(tmp_path, "PF003", asyms=(6.0,))
    out = run(capsys, "session", "set", str(tmp_path / "PF003" / "S1"), "--pain", "2.5", "--condition", "barefoot")
    assert '"pain_vas": 2.5' in out and "barefoot" in out
    out = run(capsys, "session", "show", str(tmp_path / "PF003" / "S1" / "T1.h5"))
    assert '"condition": "barefoot"' in out
    run(capsys, "session", "set", str(tmp_path / "PF003" / "S1"), "--notes", "walks with a cane", "--phase", "baseline")
    data = json.loads(run(capsys, "sessions", "PF003", "--root", str(tmp_path), "--json", *FAST))
    s1 = data["sessions"][0]
    assert s1["notes"] == "walks with a cane" and s1["condition"] == "barefoot" and s1["phase"] == "baseline"
    assert "steady strides" in s1["warnings"]          # gaitpf's warnings stay apart from the notes
    with pytest.raises(SystemExit) as exc:
        main(["session", "set", str(tmp_path / "PF003" / "S1"), "--pain", "12"])
    assert exc.value.code == 2
    assert "outside the 0–10 VAS scale" in capsys.readouterr().err


def test_cli_compare(tree, capsys):
    a, b = tree / "PF001" / "S1" / "T1.h5", tree / "PF001" / "S3" / "T1.h5"
    # given latest first: identified by the stored session and ordered by session number
    data = json.loads(run(capsys, "compare", str(b), str(a), "--json", *FAST))
    assert [s["session"] for s in data["sessions"]] == ["S1", "S3"] and data["baseline"] == "S1"
    rows = [r for r in data["metrics"] if r["metric"] == "stance_time_s"]
    assert [r["is_baseline"] for r in rows] == [True, False]
    assert rows[0]["value"] > rows[1]["value"]        # the baseline's asymmetry, not the follow-up's
    assert rows[1]["change_abs"] < 0 and rows[1]["mdc_kind"] == "within_session"
    for key in ("change_abs_ci_low", "change_abs_ci_high", "mdc95", "exceeds_mdc", "ci_excludes_zero",
                "above_mdc95"):
        assert key in rows[1]
    assert rows[1]["exceeds_mdc"] == (rows[1]["ci_excludes_zero"] and rows[1]["above_mdc95"])
    assert data["mdc"]["stance_time_s"]["mdc_kind"] == "within_session"
    assert any("session order" in w for w in data["warnings"])
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(a)])
    assert exc.value.code == 2


def test_unknown_subject_is_a_clear_error(tree, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["progress", "PF404", "--root", str(tree)])
    assert exc.value.code == 2
    assert "no recordings of subject 'PF404'" in capsys.readouterr().err


# ------------------------------------------------------------------ bad input
def test_bad_inputs_are_left_out_with_reasons(tmp_path):
    root = tmp_path
    write_trial(root, "PF004", "S1", "T1", asym=10, seed=1, metadata=meta(1))
    write_trial(root, "PF004", "S1", "T2", asym=10, seed=2, metadata=meta(1), one_foot="right")
    write_standing(root, "PF004", "S2", "T1", metadata=meta(2))                 # no walking at all
    write_trial(root, "PF004", "S3", "T1", asym=5, seed=3, metadata={"session_no": 3})   # missing metadata
    write_trial(root, "PF004", "S4", "T1", asym=4, seed=4, metadata=meta(4), n_sensors=8)  # other layout
    pr = subject_progress("PF004", root=root, params=BootstrapParams(n_boot=400))
    text = " | ".join(pr.left_out)
    assert "T2.h5: one foot only (right)" in text
    assert "session S2" in text and "no usable trial" in text
    assert "S4: kinetic/regional metrics not compared" in text
    st = pr.session_table.set_index("session")
    assert "metadata missing: date, treatment, affected_side, pain_vas" in st.loc["S3", "warnings"]
    assert not st.loc["S2", "included"]
    s4 = pr.table[(pr.table["session"] == "S4")].set_index("metric")
    assert s4.loc["stance_time_s", "comparable"] and not s4.loc["heel_load_pct", "comparable"]
    assert pd.isna(s4.loc["heel_load_pct", "change_abs"])
    assert pd.notna(s4.loc["stance_time_s", "change_abs"])


def test_one_session_only(tmp_path):
    build_subject(tmp_path, "PF005", asyms=(9.0,))
    pr = subject_progress("PF005", root=tmp_path, params=BootstrapParams(n_boot=400))
    assert "one session only" in pr.headline
    assert any("only one usable session" in w for w in pr.warnings)


def test_cohort_table(tmp_path, capsys):
    build_subject(tmp_path, "PF006", asyms=(10.0, 6.0), treatment="insoles", seed=1)
    build_subject(tmp_path, "PF007", asyms=(10.0, 9.0), treatment="stretching", seed=2)
    out = run(capsys, "cohort", str(tmp_path), "--by", "treatment", "-o", str(tmp_path / "cohort.parquet"), *FAST)
    assert "2 subject(s)" in out and "insoles, stretching" in out
    df = pd.read_parquet(tmp_path / "cohort.parquet")
    assert set(df["subject_id"]) == {"PF006", "PF007"}
    assert set(df["group"]) == {"insoles", "stretching"}
    asym = df[(df["metric"] == "stance_time_s") & (df["statistic"] == "asymmetry")]
    assert len(asym) == 4 and asym["ci_low"].le(asym["value"]).all()
    change = df[(df["metric"] == "stance_time_s") & (df["statistic"] == "change_abs")]
    assert len(change) == 2 and change["exceeds_mdc"].notna().all()
    assert (tmp_path / "cohort_by_treatment.png").stat().st_size > 5000
