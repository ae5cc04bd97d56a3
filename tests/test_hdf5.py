"""gaitpf HDF5 schema v1: round trips, schema validation, the appendable SWMR writer."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaitpf.errors import OutputError, SchemaError, SignalError
from gaitpf.io import read_recording, write_recording
from gaitpf.io.atomic import atomic_path
from gaitpf.io.hdf5 import FootSpec, RecordingWriter, file_info, read_hdf5
from gaitpf.layouts import gaitpf16_layout
from gaitpf.model import QUALITY_GAP_BEFORE, FootSignals, Recording, SensorLayout


def make_recording(n: int = 50, k: int = 16, *, both: bool = True) -> Recording:
    rng = np.random.default_rng(1)
    feet = {}
    for side in ("left", "right") if both else ("left",):
        q = np.zeros(n, np.uint8)
        q[10] = QUALITY_GAP_BEFORE
        feet[side] = FootSignals(
            side=side, values=rng.random((n, k)).astype(np.float32) * 100, unit="N", sampling_rate_hz=100.0,
            time_s=np.arange(n) / 100.0 + np.where(np.arange(n) >= 10, 0.05, 0.0),
            sample_counter=np.arange(n, dtype=np.int64) + np.where(np.arange(n) >= 10, 5, 0),
            quality=q, layout=gaitpf16_layout(), device={"model": "gaitpf-insole", "fw": "1.2", "addr": side},
        )
    ann = pd.DataFrame({"onset_s": [0.1, 1.0], "duration_s": [0.05, 0.0], "kind": ["gap", "marker"],
                        "side": ["left", ""], "description": ["5 frames lost", "turn ä"]})
    ann = ann.astype({"kind": object, "side": object, "description": object})
    truth = {"left": pd.DataFrame({"ic_idx": np.array([3, 20], np.int64), "to_idx": np.array([12, 31], np.int64)})}
    return Recording(feet=feet, subject_id="S01", session="2", trial="b", body_mass_kg=71.5,
                     created_utc="2025-01-02T03:04:05+00:00", source={"format": "sim", "seed": 3},
                     annotations=ann, truth=truth, metadata={"pain": 3, "treatment": "insole ü"})


def assert_same(a: Recording, b: Recording) -> None:
    for name in ("subject_id", "session", "trial", "created_utc", "metadata"):
        assert getattr(a, name) == getattr(b, name), name
    # the reader says which file it read; everything else of the provenance round-trips
    def provenance(src: dict) -> dict:
        return {k: v for k, v in src.items() if k not in ("path", "original_file")}

    assert provenance(b.source) == provenance(a.source)
    assert (a.body_mass_kg is None and b.body_mass_kg is None) or a.body_mass_kg == b.body_mass_kg
    assert a.sides == b.sides
    for side in a.sides:
        fa, fb = a.feet[side], b.feet[side]
        np.testing.assert_array_equal(np.asarray(fa.values, np.float32), fb.values)
        assert fb.values.dtype == np.float32
        np.testing.assert_array_equal(fa.times_s(), fb.time_s)
        assert (fa.unit, fa.sampling_rate_hz, fa.device) == (fb.unit, fb.sampling_rate_hz, fb.device)
        if fa.sample_counter is not None:
            np.testing.assert_array_equal(fa.sample_counter, fb.sample_counter)
        if fa.quality is not None:
            np.testing.assert_array_equal(fa.quality, fb.quality)
        if fa.layout is None:
            assert fb.layout is None
        else:
            for f in ("region", "ml_zone", "names", "layout_id"):
                assert getattr(fa.layout, f) == getattr(fb.layout, f)
            np.testing.assert_array_equal(fa.layout.x_mm, fb.layout.x_mm)
            np.testing.assert_array_equal(fa.layout.y_mm, fb.layout.y_mm)
            if fa.layout.area_mm2 is not None:
                np.testing.assert_array_equal(fa.layout.area_mm2, fb.layout.area_mm2)
    pd.testing.assert_frame_equal(a.annotations.reset_index(drop=True), b.annotations, check_dtype=False)
    assert (a.truth is None) == (b.truth is None)
    if a.truth:
        assert a.truth.keys() == b.truth.keys()
        for side in a.truth:
            pd.testing.assert_frame_equal(a.truth[side], b.truth[side])


def test_round_trip_full_recording(tmp_path: Path) -> None:
    rec = make_recording()
    path = tmp_path / "r.h5"
    write_recording(path, rec)
    back = read_recording(path)
    assert_same(rec, back)
    # idempotent: writing what was read gives the same content again
    write_recording(tmp_path / "r2.h5", back)
    assert_same(back, read_hdf5(tmp_path / "r2.h5"))
    assert sorted(os.listdir(tmp_path)) == ["r.h5", "r2.h5"]  # no temporary files left


def test_file_layout_matches_schema(tmp_path: Path) -> None:
    path = tmp_path / "r.h5"
    write_recording(path, make_recording(both=False))
    with h5py.File(path, "r") as f:
        assert int(f.attrs["schema_version"]) == 1
        assert np.isclose(f.attrs["body_mass_kg"], 71.5)
        assert json.loads(f.attrs["metadata"])["pain"] == 3
        assert int(f.attrs["closed_cleanly"]) == 1
        assert "right" not in f
        g = f["left"]
        assert g["values"].dtype == np.float32 and g["values"].shape == (50, 16)
        assert g["values"].maxshape == (None, 16) and g["values"].chunks is not None
        assert g["quality"].dtype == np.uint8 and g["sample_counter"].dtype == np.int64
        assert np.isnan(g["device_time_s"][0])  # a Recording has no device clock
        assert g.attrs["unit"] == "N" and g["layout"].attrs["layout_id"] == "gaitpf-16"
        assert [s.decode() for s in g["layout/region"][:3]] == ["heel", "heel", "heel"]
        assert f["annotations/description"][1].decode() == "turn ä"
        assert list(f["truth/left/ic_idx"][:]) == [3, 20]


def test_unknown_body_mass_is_nan_on_disk_and_none_in_memory(tmp_path: Path) -> None:
    rec = make_recording(n=20, k=16, both=False)
    rec = rec.replace(body_mass_kg=None, feet={"left": FootSignals("left", np.ones((5, 2)), "au", 50.0)})
    write_recording(tmp_path / "m.h5", rec)
    with h5py.File(tmp_path / "m.h5") as f:
        assert np.isnan(f.attrs["body_mass_kg"])
    back = read_hdf5(tmp_path / "m.h5")
    assert back.body_mass_kg is None and back.feet["left"].layout is None
    np.testing.assert_array_equal(back.feet["left"].time_s, np.arange(5) / 50.0)
    np.testing.assert_array_equal(back.feet["left"].sample_counter, np.arange(5))


names = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
json_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)  # JSON escapes NUL


@st.composite
def recordings(draw: st.DrawFn) -> Recording:
    fs = draw(st.sampled_from([50.0, 100.0, 120.5, 300.0]))
    sides = draw(st.sampled_from([("left",), ("right",), ("left", "right")]))
    feet = {}
    for side in sides:
        n = draw(st.integers(1, 40))
        k = draw(st.integers(1, 5))
        vals = draw(st.lists(st.floats(width=32, allow_nan=True, allow_infinity=False), min_size=n * k,
                             max_size=n * k))
        steps = draw(st.lists(st.floats(1e-4, 2.0), min_size=n, max_size=n))
        layout = None
        if draw(st.booleans()):
            layout = SensorLayout(
                x_mm=np.array(draw(st.lists(st.floats(-60, 60), min_size=k, max_size=k))),
                y_mm=np.array(draw(st.lists(st.floats(0, 260), min_size=k, max_size=k))),
                region=tuple(draw(st.lists(st.sampled_from(["heel", "midfoot", "forefoot", "toes"]), min_size=k,
                                           max_size=k))),
                ml_zone=tuple(draw(st.lists(st.sampled_from(["medial", "central", "lateral"]), min_size=k,
                                            max_size=k))),
                names=tuple(f"c{j}" for j in range(k)), layout_id=draw(names),
            )
        feet[side] = FootSignals(
            side=side, values=np.array(vals, np.float32).reshape(n, k), unit=draw(st.sampled_from(["N", "kPa", "au"])),
            sampling_rate_hz=fs, time_s=np.cumsum(steps), layout=layout,
            sample_counter=np.array(draw(st.lists(st.integers(-2**40, 2**40), min_size=n, max_size=n)), np.int64),
            quality=np.array(draw(st.lists(st.integers(0, 7), min_size=n, max_size=n)), np.uint8),
            device={"name": draw(names)},
        )
    m = draw(st.integers(0, 3))
    ann = pd.DataFrame({
        "onset_s": draw(st.lists(st.floats(0, 100), min_size=m, max_size=m)),
        "duration_s": draw(st.lists(st.floats(0, 5), min_size=m, max_size=m)),
        "kind": draw(st.lists(st.sampled_from(["gap", "marker"]), min_size=m, max_size=m)),
        "side": draw(st.lists(st.sampled_from(["left", "right", ""]), min_size=m, max_size=m)),
        "description": draw(st.lists(names, min_size=m, max_size=m)),
    }).astype({"onset_s": float, "duration_s": float, "kind": object, "side": object, "description": object})
    return Recording(
        feet=feet, subject_id=draw(names), session=draw(names), trial=draw(names),
        body_mass_kg=draw(st.none() | st.floats(20, 200)), source={"k": draw(json_text)}, annotations=ann,
        metadata={"note": draw(json_text), "n": draw(st.integers(-5, 5))},
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rec=recordings())
def test_round_trip_property(tmp_path: Path, rec: Recording) -> None:
    path = tmp_path / "p.h5"
    write_recording(path, rec)
    assert_same(rec, read_hdf5(path))


# -- schema validation ------------------------------------------------------------------
def _written(tmp_path: Path) -> Path:
    path = tmp_path / "s.h5"
    write_recording(path, make_recording(n=20, k=16))
    return path


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda f: f.attrs.__setitem__("schema_version", 7), "schema_version 7 found, but gaitpf"),
        (lambda f: f.attrs.__delitem__("schema_version"), "no 'schema_version' attribute"),
        (lambda f: f.attrs.__delitem__("subject_id"), "required root attribute 'subject_id' is missing"),
        (lambda f: f["left"].__delitem__("time_s"), "/left/time_s is missing"),
        (lambda f: f["left"].attrs.__delitem__("unit"), "'unit' of /left is missing"),
        (lambda f: f["right/quality"].resize((10,)), "/right datasets have different lengths"),
        (lambda f: f["left/time_s"].__setitem__(3, np.nan), "non-finite values (first at sample 3)"),
        (lambda f: f["left/layout"].__delitem__("names"), "/left/layout/names is missing"),
        (lambda f: (f.__delitem__("left"), f.__delitem__("right")), "neither /left nor /right"),
        (lambda f: f.__delitem__("annotations"), "group /annotations is missing"),
        (lambda f: f.attrs.__setitem__("metadata", "{not json"), "'metadata' is not valid JSON"),
    ],
)
def test_schema_errors_name_the_item(tmp_path: Path, edit, message: str) -> None:
    path = _written(tmp_path)
    with h5py.File(path, "r+") as f:
        edit(f)
    with pytest.raises(SchemaError) as err:
        read_hdf5(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_newer_schema_says_upgrade(tmp_path: Path) -> None:
    path = _written(tmp_path)
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 2
    with pytest.raises(SchemaError, match="reads schema version\\(s\\) 1; upgrade gaitpf"):
        file_info(path)


# -- the appendable writer ---------------------------------------------------------------
def _spec() -> dict[str, FootSpec]:
    return {s: FootSpec(16, "N", 100.0, gaitpf16_layout(), {"addr": s}) for s in ("left", "right")}


def test_writer_appends_blocks_and_counters(tmp_path: Path) -> None:
    path = tmp_path / "live.h5"
    with RecordingWriter(path, subject_id="S9", session="1", trial="1", feet=_spec(), body_mass_kg=60.0) as w:
        for i in range(5):
            for side in ("left", "right"):
                w.append(side, np.full((100, 16), i, np.float32), time_s=(np.arange(100) + 100 * i) / 100.0,
                         host_time_s=np.zeros(100), device_time_s=np.ones(100))
            w.flush()
        w.add_annotation(1.0, 0.5, "gap", "left", "50 frames lost")
        w.set_foot_attrs("left", n_lost_frames=50, clock_residual_ms=0.8, clock_offset_s=1.5, clock_drift_ppm=-12)
        assert w.n_frames("left") == 500
        with pytest.raises(KeyError, match="not a per-foot counter"):
            w.set_foot_attrs("left", battery=3)
        with pytest.raises(SignalError, match=r"shape \(m, 16\)"):
            w.append("left", np.zeros((3, 15)), time_s=np.zeros(3))
        with pytest.raises(SignalError, match="no 'nope' foot"):
            w.append("nope", np.zeros((3, 16)), time_s=np.zeros(3))
    with pytest.raises(OutputError, match="already closed"):
        w.append("left", np.zeros((1, 16)), time_s=np.zeros(1))
    info = file_info(path)
    assert info["closed_cleanly"] is True and info["opened_swmr"] is False
    left = info["feet"]["left"]
    assert (left["frames"], left["n_lost_frames"], left["clock_residual_ms"]) == (500, 50, 0.8)
    assert left["gaps"] == {"count": 1, "total_s": 0.5}
    assert info["feet"]["right"]["gaps"] == {"count": 0, "total_s": 0.0}
    assert left["duration_s"] == 5.0
    rec = read_hdf5(path)
    np.testing.assert_array_equal(rec.feet["right"].values[:, 0], np.repeat(np.arange(5), 100))
    np.testing.assert_array_equal(rec.feet["left"].sample_counter, np.arange(500))
    with h5py.File(path) as f:
        assert f["left"].attrs["clock_drift_ppm"] == -12.0 and f["left/host_time_s"][0] == 0.0


_CHILD = textwrap.dedent(
    """
    import os, signal, sys
    import numpy as np
    from gaitpf.io.hdf5 import FootSpec, RecordingWriter
    from gaitpf.layouts import gaitpdb_layout
    feet = {s: FootSpec(8, "N", 100.0, gaitpdb_layout(s), {}) for s in ("left", "right")}
    w = RecordingWriter(sys.argv[1], subject_id="K1", session="1", trial="1", feet=feet)
    for block in range(3):
        for side in feet:
            w.append(side, np.full((100, 8), block, np.float32), time_s=(np.arange(100) + 100 * block) / 100.0)
        if block == 1:
            w.add_annotation(0.5, 0.2, "gap", "right", "lost")
            w.set_foot_attrs("right", n_lost_frames=20)
        w.flush()
        print("flushed", flush=True)
        sys.stdin.readline()
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_swmr_reader_follows_and_killed_file_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "killed.h5"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        seen = []
        for _ in range(3):
            assert child.stdout.readline().strip() == "flushed"
            info = file_info(path)  # the writer is alive: only a SWMR read-only open works
            seen.append((info["feet"]["left"]["frames"], info["opened_swmr"], info["closed_cleanly"]))
            child.stdin.write("\n")
            child.stdin.flush()
        assert child.wait(timeout=30) == -9
    finally:
        if child.poll() is None:
            child.kill()
    assert seen == [(100, True, False), (200, True, False), (300, True, False)]
    info = file_info(path)
    assert info["closed_cleanly"] is False and info["opened_swmr"] is True
    assert info["feet"]["right"]["n_lost_frames"] == 20 and info["feet"]["right"]["gaps"]["count"] == 1
    rec = read_hdf5(path)
    np.testing.assert_array_equal(rec.feet["left"].values[:, 3], np.repeat([0, 1, 2], 100))
    assert rec.feet["right"].layout.layout_id == "gaitpdb-8"


# -- atomic output -----------------------------------------------------------------------
def test_atomic_path_removes_partial_file_on_failure(tmp_path: Path) -> None:
    dest = tmp_path / "out.h5"
    with pytest.raises(RuntimeError):
        with atomic_path(dest) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_atomic_path_disk_full_is_output_error(tmp_path: Path) -> None:
    dest = tmp_path / "out.h5"
    with pytest.raises(OutputError, match="disk is full") as err:
        with atomic_path(dest):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert str(dest) in str(err.value) and os.listdir(tmp_path) == []


def test_atomic_path_keeps_old_file_until_success(tmp_path: Path) -> None:
    dest = tmp_path / "out.txt"
    dest.write_text("old")
    with pytest.raises(ValueError):
        with atomic_path(dest) as tmp:
            tmp.write_text("new")
            raise ValueError
    assert dest.read_text() == "old"
    with atomic_path(dest) as tmp:
        tmp.write_text("new")
    assert dest.read_text() == "new" and os.listdir(tmp_path) == ["out.txt"]


def test_nul_in_subject_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SignalError, match="NUL character"):
        write_recording(tmp_path / "n.h5", make_recording(n=20, both=False).replace(subject_id="a\x00b"))
    assert os.listdir(tmp_path) == []


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    rec = make_recording(n=20, k=16, both=False)
    bad = rec.replace(feet={"left": FootSignals("left", np.ones((5, 16)), "psi", 100.0)})
    with pytest.raises(SignalError, match="unit 'psi'"):
        write_recording(tmp_path / "x.h5", bad)
    assert os.listdir(tmp_path) == []


def test_stored_provenance_keeps_no_folder_names(tmp_path):
    import h5py

    rec = make_recording().replace(source={"importer": "gaitndd", "path": "/clinic/Jane Doe/walk1.hea"})
    write_recording(tmp_path / "r.h5", rec)
    with h5py.File(tmp_path / "r.h5", "r") as f:
        stored = f.attrs["source"]
    assert "Jane Doe" not in stored and "walk1" not in stored and json.loads(stored) == {"importer": "gaitndd"}
    back = read_recording(tmp_path / "r.h5")
    assert "original_file" not in back.source and back.source["path"] == str(tmp_path / "r.h5")
