"""Seeded mutation fuzzing of the readers (used by tests/test_fuzz_readers.py and
benchmarks/fuzz_readers.py).

Seeds: a clean gaitpf HDF5 file (gzip), an uncompressed one, a crash-left SWMR file (the
writer SIGKILLed after flushing, never closed), a gaitpf CSV and a PhysioNet gaitpdb walk.
Mutations (chosen by a seeded RNG): bit flips (anywhere, or in the first 4 KiB where the
HDF5 superblock and root objects live), truncation, zeroing or randomising a byte range,
and structural rewrites through h5py (attribute types and values, dataset shapes, dtypes,
declared sizes far beyond the file, missing or swapped objects, time going backwards).

:func:`run_one` runs CLI commands on a file in a forked child under a deadline and
classifies the outcome: ``ok`` (exit 0), ``clean`` (exit 2, one ``gaitpf: error:`` line),
``internal`` (anything else the CLI reports as an internal error), ``hang`` (deadline) or
``crash`` (the child died from a signal).
"""
from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

DATA = Path(__file__).parent / "data"
OUTCOMES = ("ok", "clean", "internal", "hang", "crash")


# ----------------------------------------------------------------------------- seeds
def _recording(seconds: float = 20.0, n_sensors: int = 8) -> Any:
    from gaitpf.sim.gait_model import GaitParams, simulate_trial

    rec, _ = simulate_trial(GaitParams(n_sensors=n_sensors, seed=3), duration_s=seconds)
    return rec


def _swmr_killed(path: Path, rec: Any) -> None:
    """Write ``rec`` in SWMR mode in a forked child, flush, and SIGKILL it (never closed)."""
    pid = os.fork()
    if pid == 0:
        try:
            from gaitpf.io.hdf5 import FootSpec, RecordingWriter

            feet = {s: FootSpec(f.n_sensors, f.unit, f.sampling_rate_hz, f.layout, {}) for s, f in rec.feet.items()}
            w = RecordingWriter(path, subject_id="K1", session="1", trial="1", feet=feet, swmr=True)
            n = rec.feet["left"].n_samples
            for a in range(0, n, 300):
                for s, f in rec.feet.items():
                    b = min(a + 300, n)
                    w.append(s, f.values[a:b], time_s=f.times_s()[a:b])
                w.flush()
            w.add_annotation(0.5, 0.2, "gap", "right", "lost")
            w.flush()
            os.kill(os.getpid(), signal.SIGKILL)
        finally:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status), "the SWMR writer was expected to die by SIGKILL"


def make_seeds(folder: Path) -> list[Path]:
    """Write the seed files into ``folder``; return their paths."""
    from gaitpf.io.hdf5 import write_hdf5

    folder.mkdir(parents=True, exist_ok=True)
    rec = _recording()
    seeds = []
    for name, kw in (("clean_gzip.h5", {}), ("clean_plain.h5", {"compression": None})):
        write_hdf5(folder / name, rec, **kw)
        seeds.append(folder / name)
    _swmr_killed(folder / "swmr_killed.h5", rec)
    seeds.append(folder / "swmr_killed.h5")
    csv = sorted((DATA).rglob("*.csv"))
    if csv:
        seeds.append(csv[0])
    pdb = sorted((DATA / "gaitpdb").glob("*.txt"))
    if pdb:
        seeds.append(pdb[0])
    return seeds


# ----------------------------------------------------------------------------- mutations
def _bytes_mutation(data: bytearray, rng: np.random.Generator) -> str:
    kind = rng.choice(["flip", "flip_head", "truncate", "zero", "random"], p=[0.3, 0.25, 0.15, 0.15, 0.15])
    n = len(data)
    if kind in ("flip", "flip_head"):
        hi = min(n, 4096) if kind == "flip_head" else n
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(0, hi))
            data[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == "truncate":
        del data[int(rng.integers(0, n)):]
    else:
        a = int(rng.integers(0, n))
        length = int(rng.integers(1, 4097))
        b = min(n, a + length)
        data[a:b] = bytes(b - a) if kind == "zero" else rng.integers(0, 256, b - a, dtype=np.uint8).tobytes()
    return str(kind)


def _h5_edits() -> list[tuple[str, Callable[[Any, np.random.Generator], None]]]:
    """Structural rewrites: (name, edit(h5py.File, rng))."""
    import h5py

    def set_attr(obj: str, name: str, value: Any) -> Callable[[Any, np.random.Generator], None]:
        return lambda f, rng: f[obj].attrs.__setitem__(name, value)

    def del_obj(name: str) -> Callable[[Any, np.random.Generator], None]:
        return lambda f, rng: f.__delitem__(name)

    def replace(name: str, data: Any) -> Callable[[Any, np.random.Generator], None]:
        def edit(f: Any, rng: np.random.Generator) -> None:
            del f[name]
            f[name] = data
        return edit

    def resize(name: str, rows: int) -> Callable[[Any, np.random.Generator], None]:
        def edit(f: Any, rng: np.random.Generator) -> None:
            ds = f[name]
            if ds.maxshape[0] is None:
                ds.resize(rows, axis=0)
        return edit

    def backwards(f: Any, rng: np.random.Generator) -> None:
        t = f["left/time_s"]
        if t.shape[0] > 10:
            i = int(rng.integers(1, t.shape[0] - 1))
            t[i] = t[i - 1] - 0.5

    edits = []
    for side in ("left", "right"):
        for value in ("abc", b"100", 0.0, -100.0, np.nan, np.inf, np.array([100.0, 100.0]), 1e300, True):
            edits.append((f"{side}.sampling_rate_hz={value!r}"[:40], set_attr(side, "sampling_rate_hz", value)))
        for value in (3, b"\xff\xfe", "furlongs", np.array(["N", "N"])):
            edits.append((f"{side}.unit={value!r}"[:40], set_attr(side, "unit", value)))
        edits.append((f"{side}.device=[1]", set_attr(side, "device", "[1, 2]")))
        edits.append((f"{side}.n_lost_frames=str", set_attr(side, "n_lost_frames", "many")))
        edits.append((f"{side}.n_lost_frames=-5", set_attr(side, "n_lost_frames", -5)))
        for ds in ("values", "time_s", "sample_counter", "quality", "host_time_s"):
            edits.append((f"del {side}/{ds}", del_obj(f"{side}/{ds}")))
            edits.append((f"{side}/{ds} 1e9 rows", resize(f"{side}/{ds}", 10**9)))
            edits.append((f"{side}/{ds} +1 row", resize(f"{side}/{ds}", 1)))
            edits.append((f"{side}/{ds}=text", replace(f"{side}/{ds}", np.array([b"a", b"b"]))))
            edits.append((f"{side}/{ds}=3-D", replace(f"{side}/{ds}", np.zeros((2, 2, 2)))))
            edits.append((f"{side}/{ds}=scalar", replace(f"{side}/{ds}", 1.0)))
        edits.append((f"{side}/values 1-D", replace(f"{side}/values", np.zeros(100, "float32"))))
        edits.append((f"{side}/values 0 cols", replace(f"{side}/values", np.zeros((100, 0), "float32"))))
        edits.append((f"{side}/time_s NaN", replace(f"{side}/time_s", np.full(1200, np.nan))))
        edits.append((f"{side}/layout/x_mm short", replace(f"{side}/layout/x_mm", np.zeros(2))))
        edits.append((f"{side}/layout/names int", replace(f"{side}/layout/names", np.arange(8))))
        edits.append((f"del {side}/layout/region", del_obj(f"{side}/layout/region")))
        edits.append((f"{side}/layout.layout_id=int", set_attr(f"{side}/layout", "layout_id", 5)))
        edits.append((f"{side} is a dataset", replace(side, np.zeros(3))))
    for name, value in (("schema_version", "1"), ("schema_version", 99), ("schema_version", np.float64(1.5)),
                        ("subject_id", 7), ("subject_id", np.array(["a", "b"])), ("subject_id", b"\xff\xfe"),
                        ("session", np.zeros(5)), ("body_mass_kg", "heavy"), ("body_mass_kg", -70.0),
                        ("closed_cleanly", "yes"), ("closed_cleanly", 7), ("metadata", "{not json"),
                        ("metadata", "[1]"), ("source", 3), ("created_utc", np.int64(5)),
                        ("gaitpf_version", np.zeros(3))):
        edits.append((f"/.{name}={value!r}"[:40], set_attr("/", name, value)))
    for name in ("schema_version", "subject_id", "metadata", "closed_cleanly", "body_mass_kg"):
        edits.append((f"del /.{name}", lambda f, rng, name=name: f.attrs.__delitem__(name)))
    for ds in ("onset_s", "kind", "description"):
        edits.append((f"annotations/{ds} 1e9 rows", resize(f"annotations/{ds}", 10**9)))
        edits.append((f"del annotations/{ds}", del_obj(f"annotations/{ds}")))
        edits.append((f"annotations/{ds}=2-D", replace(f"annotations/{ds}", np.zeros((2, 2)))))
    edits.append(("annotations/kind=int", replace("annotations/kind", np.arange(3))))
    edits.append(("del annotations", del_obj("annotations")))
    edits.append(("truth/left/ic_idx=float text", replace("truth/left/ic_idx", np.array([b"x"]))))
    edits.append(("truth/left/ic_idx short", replace("truth/left/ic_idx", np.arange(2))))
    edits.append(("truth is a dataset", replace("truth", np.zeros(2))))
    edits.append(("left/time_s goes back", backwards))
    edits.append(("del left and right", lambda f, rng: (f.__delitem__("left"), f.__delitem__("right"))))
    edits.append(("left/values external", _external_values))
    edits.append(("left/values big contiguous", replace("left/values", h5py.Empty("f4"))))
    return edits


def _external_values(f: Any, rng: np.random.Generator) -> None:
    del f["left/values"]
    f.create_dataset("left/values", shape=(10, 8), dtype="f4", external=[("nonexistent.bin", 0, 320)])


def _text_mutation(data: bytearray, rng: np.random.Generator) -> str:
    text = data.decode("utf-8", "replace").splitlines(keepends=True)
    kind = str(rng.choice(["swap_field", "garbage_line", "drop_lines", "bytes"]))
    if kind == "bytes" or len(text) < 3:
        return _bytes_mutation(data, rng)
    i = int(rng.integers(0, len(text)))
    if kind == "swap_field":
        fields = text[i].replace("\t", ",").split(",")
        j = int(rng.integers(0, len(fields)))
        fields[j] = str(rng.choice(["nan", "inf", "-1e308", "x", "", "1e999", "\xff"]))
        text[i] = ",".join(fields) if "," in text[i] else "\t".join(fields)
    elif kind == "garbage_line":
        text.insert(i, "garbage;;;\t\t1,2,,3\n")
    else:
        del text[i: i + int(rng.integers(1, 50))]
    data[:] = "".join(text).encode("utf-8", "surrogateescape")
    return kind


def mutate(seed_path: Path, out: Path, rng: np.random.Generator) -> str:
    """Write a mutated copy of ``seed_path`` to ``out``; return a description of the mutation."""
    data = bytearray(seed_path.read_bytes())
    is_h5 = data[:8] == b"\x89HDF\r\n\x1a\n"
    if is_h5 and rng.random() < 0.35:
        import h5py

        edits = _h5_edits()
        name, edit = edits[int(rng.integers(0, len(edits)))]
        out.write_bytes(bytes(data))
        try:
            with h5py.File(out, "r+") as f:
                edit(f, rng)
        except (KeyError, OSError, ValueError, TypeError):
            pass  # the edit does not apply to this seed (e.g. no truth group): still a valid case
        return f"h5:{name}"
    kind = _bytes_mutation(data, rng) if is_h5 else _text_mutation(data, rng)
    out.write_bytes(bytes(data))
    return kind


# ----------------------------------------------------------------------------- running
def run_one(args: list[str], timeout_s: float) -> tuple[str, str]:
    """Run ``gaitpf.cli.main.main(args)`` in a forked child under a deadline.

    Returns ``(outcome, last stderr line)``; outcome is one of :data:`OUTCOMES`.
    """
    err = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.dup2(err.fileno(), 2)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            sys.stdout = open(1, "w", closefd=False)
            sys.stderr = open(2, "w", closefd=False)
            from gaitpf.cli.main import main

            try:
                main(args)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException as exc:  # noqa: BLE001
                print(f"uncaught {type(exc).__name__}: {exc}", file=sys.stderr)
                code = 4
        finally:
            try:
                sys.stderr.flush()
            finally:
                os._exit(code)
    end = time.monotonic() + timeout_s
    status = None
    while time.monotonic() < end:
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            status = st
            break
        time.sleep(0.005)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        err.close()
        return "hang", ""
    err.seek(0)
    text = err.read().decode("utf-8", "replace").strip()
    err.close()
    last = text.splitlines()[-1] if text else ""
    if os.WIFSIGNALED(status):
        return "crash", f"signal {os.WTERMSIG(status)}"
    code = os.WEXITSTATUS(status)
    if code == 0:
        return "ok", last
    if code == 2 and last.startswith("gaitpf: error: ") and "internal error" not in text:
        return "clean", last
    return "internal", last or f"exit {code}"

