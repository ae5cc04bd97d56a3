"""`gaitpf repair` is safe: killed at any moment it leaves the original intact; it trusts the
device counters, not host time; it never modifies a truncated input; a failed write is one line."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import h5py
import numpy as np
import pytest

from gaitpf.cli.main import main
from gaitpf.io.hdf5 import FootSpec, RecordingWriter, file_info, read_hdf5
from gaitpf.model import SIDES

#: Writes a recording as a recorder would (SWMR, flushed every 100 frames) and dies without
#: closing it (argv: path, frames per foot, frame at which host time steps back or 0).
CRASHED = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    from gaitpf.io.hdf5 import FootSpec, RecordingWriter
    path, n, step = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    feet = {s: FootSpec(4, "N", 100.0) for s in ("left", "right")}
    w = RecordingWriter(path, subject_id="C", session="1", trial="1", feet=feet, swmr=True)
    rng = np.random.default_rng(0)
    k = np.arange(n)
    for side in feet:
        host = k / 100.0 + rng.uniform(0.001, 0.004, n)     # host receive time: device time + latency
        if step:
            host[step:] -= 0.0196      # the host clock steps back: 9.6 ms before the previous frame
        for a in range(0, n, 100):
            b = min(a + 100, n)
            w.append(side, rng.uniform(0, 100, (b - a, 4)), time_s=host[a:b], sample_counter=k[a:b],
                     device_time_s=k[a:b] / 100.0, host_time_s=host[a:b])
            w.flush()
    os._exit(0)                        # killed: never closed
    """
)


def _crashed(path, n=1500, step=0):
    subprocess.run([sys.executable, "-c", CRASHED, str(path), str(n), str(step)], check=True, timeout=120)
    with pytest.raises(OSError):
        h5py.File(path, "r")           # left "open for write": only SWMR reads work
    return path


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def crashed_file(tmp_path_factory):
    return _crashed(tmp_path_factory.mktemp("crashed") / "c.h5")


@pytest.mark.parametrize("moment", ["locked", "copied", "written", "replaced"])
def test_repair_killed_at_any_moment_leaves_the_original_or_the_repaired_file_and_a_rerun_cleans_up(
        tmp_path, crashed_file, capsys, moment):
    path = tmp_path / "c.h5"
    shutil.copyfile(crashed_file, path)
    before = _digest(path)
    original = read_hdf5(path)
    proc = subprocess.run([sys.executable, "-m", "gaitpf.cli.main", "repair", str(path)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "GAITPF_REPAIR_KILL_AT": moment})
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    if moment == "replaced":           # killed after the rename: the repaired file, complete
        assert int(h5py.File(path, "r").attrs["repaired"]) == 1
    else:                              # killed before it: the original, byte for byte
        assert _digest(path) == before
    if moment in ("copied", "written"):
        assert any(p.name.startswith(".c.h5.repair-") for p in tmp_path.iterdir())   # a stale temp file

    main(["repair", str(path)])        # the rerun removes what the killed repair left and finishes
    out = capsys.readouterr().out
    assert ("nothing to repair" in out) if moment == "replaced" else ("repaired; recovered left: 1500 frames" in out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.h5"]
    again = read_hdf5(path)
    for side in SIDES:
        np.testing.assert_array_equal(again.feet[side].values, original.feet[side].values)


def test_repair_trusts_the_device_counters_when_host_time_steps_back(tmp_path, capsys):
    path = _crashed(tmp_path / "step.h5", n=3000, step=1000)
    main(["repair", str(path)])
    assert "recovered left: 3000 frames" in capsys.readouterr().out
    rec = read_hdf5(path)
    for side in SIDES:
        foot = rec.feet[side]
        assert foot.n_samples == 3000                                  # nothing after the step is lost
        np.testing.assert_array_equal(foot.sample_counter, np.arange(3000))
        t = foot.times_s()
        assert np.all(np.diff(t) > 0)                                  # time rebuilt from the counters
        assert abs(t[-1] - t[0] - 29.99) < 0.02


def test_repair_of_a_truncated_file_never_modifies_it(tmp_path, crashed_file, capsys):
    path = tmp_path / "cut.h5"
    shutil.copyfile(crashed_file, path)
    os.truncate(path, int(path.stat().st_size * 0.3))   # cut through the chunk index: nothing reliable left
    before = _digest(path)
    with pytest.raises(SystemExit) as exc:
        main(["repair", str(path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("gaitpf: error: ") and "cannot be repaired" in err[-1] and "unchanged" in err[-1]
    assert _digest(path) == before                            # byte for byte: no zeros appended
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cut.h5"]


def test_repair_of_a_truncated_file_keeps_only_rows_stored_before_its_end(tmp_path, crashed_file, capsys):
    path, ref = tmp_path / "cut.h5", tmp_path / "ref.h5"
    shutil.copyfile(crashed_file, path)
    shutil.copyfile(crashed_file, ref)
    os.truncate(path, int(path.stat().st_size * 0.9))
    main(["repair", str(ref)])
    main(["repair", str(path)])
    assert "bytes short" in capsys.readouterr().out
    whole, cut = read_hdf5(ref), read_hdf5(path)
    assert sum(cut.feet[s].n_samples for s in SIDES) < sum(whole.feet[s].n_samples for s in SIDES)
    for side in SIDES:
        n = cut.feet[side].n_samples
        np.testing.assert_array_equal(cut.feet[side].values, whole.feet[side].values[:n])   # no invented zeros
        np.testing.assert_array_equal(cut.feet[side].sample_counter, np.arange(n))


def test_repair_refuses_a_locked_file_and_validates_first(tmp_path, crashed_file, capsys):
    from gaitpf.io.filelock import RecordingLock

    path = tmp_path / "c.h5"
    shutil.copyfile(crashed_file, path)
    before = _digest(path)
    with RecordingLock(path, what="gaitpf record"):
        with pytest.raises(SystemExit) as exc:
            main(["repair", str(path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "in use by gaitpf record" in err and _digest(path) == before

    with h5py.File(path, "r", swmr=True) as src:
        attrs = dict(src.attrs)
    with h5py.File(tmp_path / "rate.h5", "w") as f:   # structure checked before anything is written
        f.attrs.update(attrs)
        g = f.create_group("left")
        for name in ("values", "time_s", "sample_counter", "device_time_s", "host_time_s", "quality"):
            g.create_dataset(name, data=np.zeros((3, 4) if name == "values" else 3))
        g.attrs.update(sampling_rate_hz=0.0, unit="N")
    before = _digest(tmp_path / "rate.h5")
    with pytest.raises(SystemExit):
        main(["repair", str(tmp_path / "rate.h5")])
    assert "sampling_rate_hz is not a positive number" in capsys.readouterr().err
    assert _digest(tmp_path / "rate.h5") == before


ENOSPC_RECORD = textwrap.dedent(
    """
    import errno, sys
    import h5py
    from gaitpf.io import hdf5_writer
    real, calls = hdf5_writer.RecordingWriter._write_rows, [0]
    def failing(self, side, cols, n0, m):
        calls[0] += 1
        if calls[0] > 8:      # a full disk: the datasets grew, their data never reached the disk
            for ds in self._file[side].values():
                if isinstance(ds, h5py.Dataset):
                    ds.id.set_extent((n0 + m, *ds.shape[1:]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, side, cols, n0, m)
    hdf5_writer.RecordingWriter._write_rows = failing
    from gaitpf.cli.main import main
    main(sys.argv[1:])
    """
)


def test_full_disk_with_the_guard_off_is_one_line_and_the_file_stays_sane(tmp_path, capsys):
    path = tmp_path / "full.h5"
    proc = subprocess.run(
        [sys.executable, "-c", ENOSPC_RECORD, "record", "--simulate", "--speed", "10", "-o", str(path),
         "--subject", "S", "--session", "1", "--quiet", "--min-free-mb", "0", "--duration", "120"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("gaitpf: error: "), proc.stderr
    assert "disk is full" in proc.stderr and str(path) in proc.stderr
    info = file_info(path)            # opens; the rows that never reached the disk were rolled back
    for side in SIDES:
        foot = info["feet"][side]
        assert foot["frames"] > 0 and 0 < foot["duration_s"] < foot["frames"] / 100 + 0.5
        assert foot["time_consistent"] is True
    main(["repair", str(path)])
    assert "repaired" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.h5"]


def test_info_never_shows_a_negative_duration(tmp_path, capsys):
    """Rows whose data never reached the disk (fill values) are not counted as time."""
    path = tmp_path / "fill.h5"
    feet = {"left": FootSpec(2, "N", 100.0)}
    w = RecordingWriter(path, subject_id="F", session="1", trial="1", feet=feet, swmr=False)
    k = np.arange(500)
    w.append("left", np.ones((500, 2)), time_s=5.0 + k / 100.0, sample_counter=k)
    w.flush()
    g = w._file["left"]
    for name in g:                     # what a failed flush leaves: extent grown, data unwritten
        if isinstance(g[name], h5py.Dataset):
            g[name].resize(600, axis=0)
    w._file.close()                    # closed as a writer that could not roll the extents back
    main(["info", str(path)])
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("left"))
    assert "5.00*" in row.split() and "-" not in row.split()[5]
    assert "rows at the end hold no frame" in text
    main(["info", "--json", str(path)])
    import json

    foot = json.loads(capsys.readouterr().out)["feet"]["left"]
    assert foot["duration_s"] == 5.0 and foot["time_consistent"] is False
