"""Every read failure is a clear error: schema rules on tiny hand-made files, the deadline
and crash guard of the isolated reader, and the one-line CLI contract (exit 2)."""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from gaitpf.cli.main import main
from gaitpf.errors import (
    DamagedFileError,
    FormatError,
    GaitpfError,
    ReaderCrashError,
    ReadTimeoutError,
    SchemaError,
)
from gaitpf.io import read_recording
from gaitpf.io.guard import display_path, printable, reading, run_isolated
from gaitpf.io.hdf5 import file_info, probe_hdf5, write_hdf5
from gaitpf.model import FootSignals, Recording


def _tiny(path: Path, n: int = 300, k: int = 4, clean: bool = True) -> Path:
    rng = np.random.default_rng(0)
    feet = {s: FootSignals(side=s, values=rng.random((n, k)).astype("float32") * 100, unit="N",
                           sampling_rate_hz=100.0, time_s=np.arange(n) / 100.0) for s in ("left", "right")}
    write_hdf5(path, Recording(feet=feet, subject_id="T1", session="1", trial="1"))
    if not clean:
        with h5py.File(path, "r+") as f:
            f.attrs["closed_cleanly"] = np.int8(0)
    return path


def _resize(name: str, rows: int):
    return lambda f: f[name].resize(rows, axis=0)


def _replace(name: str, data):
    def edit(f):
        del f[name]
        f[name] = data
    return edit


def _set(obj: str, name: str, value):
    return lambda f: f[obj].attrs.__setitem__(name, value)


def _backwards(f):
    f["left/time_s"][100] = 0.5


def _external(f):
    del f["left/values"]
    f.create_dataset("left/values", shape=(300, 4), dtype="f4", external=[("elsewhere.bin", 0, 4800)])


RULES = [
    # attribute types and values
    (_set("left", "sampling_rate_hz", "abc"), "'sampling_rate_hz' of /left must be a number"),
    (_set("left", "sampling_rate_hz", b"100"), "'sampling_rate_hz' of /left must be a number"),
    (_set("left", "sampling_rate_hz", 0.0), "must be a positive finite rate in Hz, found 0.0"),
    (_set("right", "sampling_rate_hz", np.nan), "must be a positive finite rate in Hz, found nan"),
    (_set("left", "sampling_rate_hz", np.inf), "must be a positive finite rate in Hz, found inf"),
    (_set("left", "sampling_rate_hz", np.array([100.0, 100.0])), "'sampling_rate_hz' of /left must be a number"),
    (_set("left", "unit", 3), "'unit' of /left must be text"),
    (_set("left", "unit", "furlongs"), "'unit' of /left is 'furlongs'; expected one of N, kPa, au"),
    (_set("left", "n_lost_frames", "many"), "'n_lost_frames' of /left must be a number"),
    (_set("left", "device", "[1, 2]"), "/left attribute 'device' must be a JSON object"),
    (_set("/", "subject_id", 7), "attribute 'subject_id' of / must be text"),
    (_set("/", "subject_id", np.bytes_(b"\xff\xfe")), "attribute 'subject_id' of / is not UTF-8 text"),
    (_set("/", "session", np.zeros(3)), "attribute 'session' of / must be text"),
    (_set("/", "schema_version", "1"), "schema_version '1' found"),
    (_set("/", "schema_version", 1.5), "schema_version 1.5 found"),
    (_set("/", "closed_cleanly", "yes"), "'closed_cleanly' of / must be a number"),
    (_set("/", "closed_cleanly", 7), "'closed_cleanly' must be 0 or 1, found 7.0"),
    (_set("/", "body_mass_kg", "heavy"), "'body_mass_kg' of / must be a number"),
    (_set("/", "body_mass_kg", -70.0), "'body_mass_kg' is -70.0; expected a mass in kg"),
    (_set("/", "metadata", "[1]"), "root attribute 'metadata' must be a JSON object"),
    # object kinds, shapes and dtypes
    (_replace("left", np.zeros(3)), "/left must be a group, found Dataset"),
    (_replace("left/values", np.zeros(300, "f4")), "/left/values must be 2-D, found shape (300,)"),
    (_replace("left/values", np.zeros((300, 0), "f4")), "/left/values has 0 sensor columns"),
    (_replace("left/time_s", np.array([b"a", b"b"])), "/left/time_s has dtype |S1; expected floating-point"),
    (_replace("left/sample_counter", np.zeros(300)), "/left/sample_counter has dtype float64; expected integer"),
    (_replace("annotations/kind", np.arange(3)), "/annotations/kind has dtype int64; expected text"),
    # declared sizes the file cannot hold
    (_resize("left/values", 10**9), "/left/values declares shape (1000000000, 4) (1.6e+04 MB) but the file holds "
                                    "only 1 of its 976563 chunks"),
    (_resize("right/time_s", 10**9), "/right/time_s declares shape (1000000000,)"),
    (_resize("annotations/description", 10**9), "/annotations/description declares shape (1000000000,)"),
    (_external, "/left/values stores its data in external files"),
    # consistency and time
    (_resize("left/quality", 301), "/left datasets have different lengths"),
    (_backwards, "/left/time_s goes back in time at sample 100"),
]


@pytest.mark.parametrize("edit,message", RULES, ids=[m[:48] for _, m in RULES])
def test_schema_rule_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], edit, message: str) -> None:
    path = _tiny(tmp_path / "t.h5")
    with h5py.File(path, "r+") as f:
        edit(f)
    with pytest.raises(FormatError) as err:
        read_recording(path)
    assert message in str(err.value) and str(path) in str(err.value)
    with pytest.raises(SystemExit) as code:
        main(["analyze", str(path)])
    assert code.value.code == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith(f"gaitpf: error: {path}: ") and "\n" not in line and message in line


def test_declared_size_of_an_unclean_file_allows_one_lost_chunk_row(tmp_path: Path) -> None:
    path = _tiny(tmp_path / "u.h5", n=300, clean=False)
    with h5py.File(path, "r+") as f:
        rows = f["left/values"].chunks[0]
        for name in ("values", "time_s", "sample_counter", "quality", "device_time_s", "host_time_s"):
            f["left"][name].resize(rows + 300 // rows * rows if 300 % rows == 0 else 300 + rows, axis=0)
    plan = probe_hdf5(path)  # the last chunk never reached the disk: fill values, not an error
    assert plan["closed_cleanly"] is False and plan["feet"]["left"]["n"] > 300
    with h5py.File(path, "r+") as f:
        f["left/values"].resize(10**6, axis=0)
    with pytest.raises(SchemaError, match="declares shape"):
        probe_hdf5(path)


def test_info_time_running_backwards_is_flagged_not_a_negative_duration(tmp_path: Path) -> None:
    path = _tiny(tmp_path / "b.h5")
    with h5py.File(path, "r+") as f:
        f["left/time_s"][-1] = -5.0
    info = file_info(path)                       # info describes the file (the reader refuses it)
    assert info["feet"]["left"]["duration_s"] >= 0 and info["feet"]["left"]["time_consistent"] is False
    assert info["feet"]["right"]["time_consistent"] is True
    with pytest.raises(SchemaError, match="time_s"):
        read_recording(path)


def test_huge_attribute_is_refused_unread(tmp_path: Path) -> None:
    path = _tiny(tmp_path / "a.h5")
    with h5py.File(path, "r+") as f:
        del f["left"].attrs["unit"]
        h5py.h5a.create(f["left"].id, b"unit", h5py.h5t.STD_I8LE, h5py.h5s.create_simple((2_000_000,))).close()
    with pytest.raises(SchemaError, match="'unit' of /left declares 2000000 elements"):
        read_recording(path)


def test_non_hdf5_and_truncated(tmp_path: Path) -> None:
    path = _tiny(tmp_path / "t.h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="t.h5: "):
        read_recording(path)
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    with pytest.raises(FormatError, match="HDF5 cannot open the file"):
        read_recording(path)


# ----------------------------------------------------------------------------- the guards
def _sleep_forever(path: str) -> None:
    time.sleep(3600)


def _segfault(path: str) -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _raise_key_error(path: str) -> None:
    raise KeyError("Unable to open object (bad symbol table node signature)")


def _value(path: str) -> dict:
    return {"n": 3, "path": path}


def test_run_isolated_deadline_crash_and_errors(tmp_path: Path) -> None:
    p = str(tmp_path / "x.h5")
    start = time.monotonic()
    with pytest.raises(ReadTimeoutError, match=r"x.h5: checking did not finish within 1 s"):
        run_isolated(_sleep_forever, p, timeout_s=1.0, path=p, what="checking")
    assert time.monotonic() - start < 30
    with pytest.raises(ReaderCrashError, match="x.h5: the process reading the file crashed .SIGSEGV."):
        run_isolated(_segfault, p, timeout_s=30, path=p)
    with pytest.raises(KeyError):
        run_isolated(_raise_key_error, p, timeout_s=30, path=p)
    assert run_isolated(_value, p, timeout_s=30, path=p) == {"n": 3, "path": p}


def test_reading_maps_library_errors_to_one_line_naming_the_file(tmp_path: Path) -> None:
    p = tmp_path / "y.h5"
    with pytest.raises(DamagedFileError) as err:
        with reading(p):
            raise OSError("Can't read data (wrong B-tree signature)\n  more detail")
    assert str(err.value) == (f"{p}: cannot be read (OSError: Can't read data (wrong B-tree signature) more detail); "
                              "the file may be truncated or damaged")
    with pytest.raises(DamagedFileError, match="declares more data than fits in memory"):
        with reading(p):
            raise MemoryError()
    with pytest.raises(SchemaError):  # gaitpf's own errors pass unchanged
        with reading(p):
            raise SchemaError("kept")
    assert isinstance(err.value, GaitpfError)


def test_non_utf8_names_are_shown_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = os.fsencode(tmp_path) + b"/walk\xff.h5"
    name = os.fsdecode(raw)
    assert display_path(name).endswith("walk\\xff.h5") and printable(f"x {name}").endswith("walk\\xff.h5")
    _tiny(Path(name))
    assert read_recording(name).subject_id == "T1"
    assert main(["info", name, "--json"]) is None
    assert "walk\\\\xff.h5" in capsys.readouterr().out  # JSON of the escaped text
    with h5py.File(name, "r+") as f:
        f["left"].attrs["sampling_rate_hz"] = "x"
    with pytest.raises(SystemExit) as code:
        main(["analyze", name])
    assert code.value.code == 2 and "walk\\xff.h5: attribute 'sampling_rate_hz'" in capsys.readouterr().err


def test_live_replay_of_a_non_utf8_file_name(tmp_path: Path) -> None:
    import subprocess
    import sys

    name = os.fsencode(tmp_path) + b"/walk\xff.h5"
    _tiny(Path(os.fsdecode(name)), n=1500)
    shot = os.fsencode(tmp_path) + b"/shot\xff.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "QT_API": "pyside6",
           "PYTHONPATH": str(Path(__file__).parents[1])}
    r = subprocess.run([sys.executable, "-m", "gaitpf.cli.main", "live", "--replay", name, "--speed", "10",
                        "--screenshot", shot, "--after", "0.5"], env=env, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    with open(shot, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n" and b"Traceback" not in r.stderr
