"""`gaitpf batch`: discovery, provenance, failures, resume after a crash, incremental runs.

The archive mixes simulated gaitpf HDF5 recordings (in the ``recordings/<subject>/<session>/
<trial>.h5`` layout), vendored PhysioNet files (gaitndd ``.hea``, gaitpdb ``.txt``) and a
truncated (corrupt) HDF5 file.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gaitpf.analysis import AnalysisParams, analyze
from gaitpf.analysis.strides import StrideParams
from gaitpf.batch import discover, run_batch
from gaitpf.batch.cache import cache_key, flatten_summary, hash_files, params_hash
from gaitpf.batch.discover import layout_ids
from gaitpf.cli.cmd_simulate import write_simulation
from gaitpf.cli.main import main
from gaitpf.io import read_recording
from gaitpf.sim.gait_model import GaitParams

DATA = Path(__file__).parent / "data"
N_SIM = 4
GOOD = N_SIM + 2  # + gaitndd control1 + gaitpdb GaCo01_01


def _simulate(path: Path, seed: int, duration_s: float = 60.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_simulation(path, GaitParams(seed=seed, stride_cv_pct=2.0), duration_s=duration_s,
                     subject_id=f"attr{seed}", session="9", trial="9")


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("archive")
    for i in range(N_SIM):
        _simulate(root / "recordings" / f"P{i // 2:02d}" / f"s{i % 2 + 1}" / "walk.h5", seed=i)
    imports = root / "imports"
    imports.mkdir()
    for suffix in (".hea", ".let", ".rit", ".ts"):
        shutil.copy(DATA / "gaitndd" / f"control1{suffix}", imports)
    for name in ("GaCo01_01.txt", "demographics.txt", "format.txt"):
        shutil.copy(DATA / "gaitpdb" / name, imports)
    good = (root / "recordings" / "P00" / "s1" / "walk.h5").read_bytes()
    (imports / "corrupt.h5").write_bytes(good[: len(good) // 3])  # truncated copy
    (imports / "notes.txt").write_text("not a recording\n")
    (root / ".hidden").mkdir()
    shutil.copy(root / "recordings" / "P00" / "s1" / "walk.h5", root / ".hidden" / "x.h5")
    return root


@pytest.fixture(scope="module")
def first_run(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    with pytest.raises(SystemExit) as exc:
        main(["batch", str(archive), "-o", str(out), "--jobs", "2", "--quiet", "--csv"])
    assert exc.value.code == 1  # the corrupt file failed
    return out


def _cache_entries(out: Path) -> set[str]:
    cache = out / ".cache"
    # complete entries only: a ".KEY.*" folder is one being written (meta.json comes last before the rename)
    return ({p.name for p in cache.iterdir() if not p.name.startswith(".") and (p / "meta.json").is_file()}
            if cache.exists() else set())


# ---------------------------------------------------------------- small pieces
def test_layout_ids_and_discovery(archive: Path) -> None:
    assert layout_ids("a/recordings/P1/base/t2.h5") == ("P1", "base", "t2")
    assert layout_ids("recordings/P1/t2.h5") is None
    refs = discover(archive)
    rel = [r.rel_path for r in refs]
    assert rel == sorted(rel)
    assert "imports/control1.hea" in rel and "imports/GaCo01_01.txt" in rel and "imports/corrupt.h5" in rel
    assert not any(r.endswith(("notes.txt", "demographics.txt", "format.txt", ".let", ".ts")) for r in rel)
    assert not any(".hidden" in r for r in rel)
    assert len(refs) == GOOD + 1


def test_hashes(tmp_path: Path) -> None:
    a = tmp_path / "a.h5"
    a.write_bytes(b"abc" * 1000)
    h1 = hash_files([a])
    assert h1 == hash_files([a]) and len(h1) == 32
    a.write_bytes(b"abc" * 999 + b"abd")
    assert hash_files([a]) != h1
    p1, p2 = params_hash(AnalysisParams()), params_hash(AnalysisParams(strides=StrideParams(outlier_fraction=0.25)))
    assert p1 != p2 and p1 == params_hash(AnalysisParams())
    assert cache_key(h1, "0.1.0", p1) != cache_key(h1, "0.2.0", p1)


def test_flatten_summary() -> None:
    row = flatten_summary({"n_strides": {"left": 3, "right": 4}, "sides": ["left", "right"], "pci_pct": np.nan,
                           "metrics": {"x": {}}, "params": {"a": 1}})
    assert row == {"n_strides_left": 3, "n_strides_right": 4, "sides": "left; right", "pci_pct": None,
                   "params_json": '{"a":1}'}
    nested = flatten_summary({"pci": {"pci_pct": 4.5, "phi_abs_deg": np.float64(2.0)},
                              "trend_symmetry": {"trend_symmetry": 0.9, "aligned": 0.95}, "n": np.int64(7)})
    assert nested == {"pci_pct": 4.5, "pci_phi_abs_deg": 2.0, "trend_symmetry": 0.9, "trend_symmetry_aligned": 0.95,
                      "n": 7}                                  # the API's names, no "pci_pci_pct"
    assert type(nested["n"]) is int


# ---------------------------------------------------------------- end to end
def test_outputs_ids_provenance_and_failure(archive: Path, first_run: Path) -> None:
    out = first_run
    for name in ("strides", "summary", "symmetry", "failures"):
        assert (out / f"{name}.parquet").is_file() and (out / f"{name}.csv").is_file()
    summary = pd.read_parquet(out / "summary.parquet")
    strides = pd.read_parquet(out / "strides.parquet")
    sym = pd.read_parquet(out / "symmetry.parquet")
    failures = pd.read_csv(out / "failures.csv")
    assert list(failures["path"]) == ["imports/corrupt.h5"]
    assert "corrupt.h5" in failures["reason"][0]
    assert len(summary) == GOOD and summary["path"].is_unique
    for table in (summary, strides, sym):
        assert list(table.columns[:7]) == ["path", "subject_id", "session", "trial", "gaitpf_version",
                                           "params_hash", "input_hash"]
        assert table[["gaitpf_version", "params_hash", "input_hash"]].notna().all().all()
    assert summary["params_hash"].nunique() == 1 and summary["params_json"].nunique() == 1
    row = summary.set_index("path").loc["recordings/P01/s2/walk.h5"]
    assert (row["subject_id"], row["session"], row["trial"]) == ("P01", "s2", "walk")  # layout wins over attrs
    assert summary.set_index("path").loc["imports/control1.hea", "subject_id"].startswith("anon-")  # no file name
    # the strides of one recording are exactly those of a direct analysis
    rel = "recordings/P01/s1/walk.h5"
    direct = analyze(read_recording(archive / rel)).strides
    mine = strides[strides["path"] == rel].drop(columns=list(strides.columns[:7])).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine[direct.columns], direct, check_exact=True, check_dtype=False)
    assert strides[["path", "side", "stride_no"]].equals(
        strides[["path", "side", "stride_no"]].sort_values(["path", "side", "stride_no"]).reset_index(drop=True))
    assert set(sym["path"]) == set(summary["path"])


def test_resume_after_killed_batch(archive: Path, first_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "gaitpf.cli.main", "batch", str(archive), "-o", str(out),
                             "--jobs", "1", "--quiet"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not _cache_entries(out) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)  # a crash mid-way
    proc.wait()
    done_before = _cache_entries(out)
    assert 1 <= len(done_before) < GOOD, "the batch must be killed mid-way"
    assert not (out / "summary.parquet").exists()
    # a half-written entry of a run killed long ago goes; one of a possibly running batch stays
    old, young = out / ".cache" / ".deadbeef.old", out / ".cache" / ".cafe.young"
    for p in (old, young):
        p.mkdir()
        (p / "meta.json").write_text("{")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    report = run_batch(archive, out, jobs=2)
    assert not old.exists() and young.exists()
    assert report.n_reused == len(done_before)
    assert report.n_computed == GOOD - len(done_before)
    assert not set(report.computed) & set(report.reused)
    assert report.exit_code == 1 and [f["path"] for f in report.failures] == ["imports/corrupt.h5"]
    # same tables as an uninterrupted run
    for name in ("strides", "summary", "symmetry"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{name}.parquet"),
                                      pd.read_parquet(first_run / f"{name}.parquet"))


def test_incremental_and_parameter_change(archive: Path, first_run: Path, tmp_path: Path) -> None:
    root = tmp_path / "arch"
    shutil.copytree(archive, root)
    out = tmp_path / "out"
    shutil.copytree(first_run / ".cache", out / ".cache")  # results of the first run (same contents)
    r1 = run_batch(root, out, jobs=1)
    assert r1.n_computed == 0 and r1.n_reused == GOOD
    # two new recordings: only they are analyzed
    _simulate(root / "recordings" / "P09" / "s1" / "walk.h5", seed=40)
    _simulate(root / "recordings" / "P09" / "s2" / "walk.h5", seed=41)
    r2 = run_batch(root, out, jobs=2)
    assert r2.computed == ["recordings/P09/s1/walk.h5", "recordings/P09/s2/walk.h5"]
    assert r2.n_reused == GOOD and len(pd.read_parquet(out / "summary.parquet")) == GOOD + 2
    # a changed file is re-analyzed
    _simulate(root / "recordings" / "P09" / "s2" / "walk.h5", seed=42)
    assert run_batch(root, out, jobs=1).computed == ["recordings/P09/s2/walk.h5"]
    # new parameters: everything is recomputed, with the new hash in every row
    params = AnalysisParams(strides=StrideParams(outlier_fraction=0.25))
    r3 = run_batch(root, out, jobs=2, params=params)
    assert r3.n_computed == GOOD + 2 and r3.n_reused == 0
    summary = pd.read_parquet(out / "summary.parquet")
    assert set(summary["params_hash"]) == {params_hash(params)}
    assert '"outlier_fraction":0.25' in summary["params_json"].iloc[0]
    # back to the defaults: the earlier results are still cached
    r4 = run_batch(root, out, jobs=1)
    assert r4.n_computed == 0 and r4.n_reused == GOOD + 2
    # --force recomputes all
    with pytest.raises(SystemExit) as exc:
        main(["batch", str(root), "-o", str(out), "--jobs", "2", "--quiet", "--force"])
    assert exc.value.code == 1
    import json

    report = json.loads((out / "batch_report.json").read_text())
    assert report["n_computed"] == GOOD + 2 and report["n_reused"] == 0 and report["n_failed"] == 1


def test_all_good_exit_zero_and_missing_root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "a"
    _simulate(root / "one.h5", seed=5)
    main(["batch", str(root), "-o", str(tmp_path / "o"), "--jobs", "1"])  # returns: exit code 0
    err = capsys.readouterr().err
    assert "1 recording(s): 1 analyzed, 0 reused from cache, 0 failed" in err
    assert len(pd.read_parquet(tmp_path / "o" / "failures.parquet")) == 0
    with pytest.raises(SystemExit) as exc:
        main(["batch", str(tmp_path / "nope"), "-o", str(tmp_path / "o2")])
    assert exc.value.code == 2


def test_cache_arrow_tables_match_parquet_round_trip(tmp_path: Path) -> None:
    """The Arrow tables kept in memory by the batch equal what reading the entry back gives."""
    from gaitpf.batch.cache import ResultCache, arrow_to_pandas, to_arrow

    strides = pd.DataFrame({"side": ["left", "right", "left"], "stride_no": np.array([1, 1, 2], np.int64),
                            "stride_time_s": [1.1, np.nan, 1.2], "steady": [True, False, True]})
    symmetry = pd.DataFrame({"metric": pd.Series(["stride_time_s"], dtype=object), "si_pct": [2.5]})
    summary = pd.DataFrame([{"sides": "left; right", "n_strides_left": 2, "pci_pct": None}])
    cache = ResultCache(tmp_path)
    kept = cache.save("k1", {"strides": strides, "symmetry": to_arrow(symmetry), "summary": summary}, {"a": 1})
    back, meta = cache.load("k1")
    back_arrow, meta_arrow = cache.load_arrow("k1")
    assert meta == meta_arrow == {"a": 1}
    for name, table in kept.items():
        assert table.equals(back_arrow[name]) and table.schema.equals(back_arrow[name].schema, check_metadata=True)
        pd.testing.assert_frame_equal(arrow_to_pandas(table), back[name], check_exact=True)
    assert back["strides"]["stride_time_s"].isna().tolist() == [False, True, False]


def test_hdf5_shape_from_the_schema_check(tmp_path: Path) -> None:
    from gaitpf.batch.chunked import hdf5_shape
    from gaitpf.errors import FormatError

    path = tmp_path / "walk.h5"
    _simulate(path, seed=3, duration_s=20.0)
    rec = read_recording(path)
    assert hdf5_shape(path)["feet"] == {s: (f.n_samples, f.n_sensors) for s, f in rec.feet.items()}
    (tmp_path / "bad.h5").write_bytes(b"not hdf5")
    with pytest.raises(FormatError, match="bad.h5: not an HDF5 file"):
        hdf5_shape(tmp_path / "bad.h5")
