"""``gaitpf export``: tidy CSV/Parquet frames + events, and C3D read back with ezc3d."""
from __future__ import annotations

import os
from pathlib import Path

import ezc3d
import numpy as np
import pandas as pd
import pytest

from gaitpf.cli.cmd_export import gait_events
from gaitpf.cli.main import main
from gaitpf.io import read_recording
from gaitpf.io.export_c3d import read_c3d_labels
from gaitpf.io.export_common import cop_mm, total_channel

DATA = Path(__file__).parent / "data" / "vendor"
MOTICON = DATA / "moticon_normal_excerpt.txt"


@pytest.fixture(scope="module")
def rec():
    return read_recording(MOTICON)


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_tidy_frames_and_events(tmp_path, rec, ext, capsys):
    out = tmp_path / f"trial{ext}"
    main(["export", str(MOTICON), "-o", str(out)])
    read = pd.read_csv if ext == ".csv" else pd.read_parquet
    frames = read(out)
    assert list(frames.columns) == ["time_s", "side", "sensor", "pressure_kpa", "saturated", "gap_before",
                                    "interpolated"]
    assert len(frames) == sum(f.n_samples * f.n_sensors for f in rec.feet.values())
    left = frames[(frames.side == "left") & (frames.sensor.astype(str) == "3")]
    np.testing.assert_allclose(left.pressure_kpa.to_numpy(), rec.feet["left"].values[:, 2], rtol=1e-6)
    assert left.gap_before.sum() == np.count_nonzero(rec.feet["left"].quality & 2)
    events = read(tmp_path / f"trial.events{ext}")
    assert {"foot_strike", "foot_off", "gap", "vendor_event"} <= set(events.event)
    assert events.time_s.is_monotonic_increasing
    assert "gait events" in capsys.readouterr().out


def test_c3d_round_trip_channels_rate_and_events(tmp_path, rec):
    out = tmp_path / "trial.c3d"
    main(["export", str(MOTICON), "-o", str(out)])
    c = ezc3d.c3d(str(out))
    labels = c["parameters"]["ANALOG"]["LABELS"]["value"]
    assert len(labels) == 2 * (16 + 3)
    assert labels[:2] == ["L_1", "L_2"] and {"L_Fz", "L_COPx", "L_COPy", "R_Fz", "R_16"} <= set(labels)
    assert c["parameters"]["ANALOG"]["RATE"]["value"][0] == pytest.approx(100.0)
    analogs = c["data"]["analogs"][0]
    t0 = min(f.times_s()[0] for f in rec.feet.values())
    foot = rec.feet["right"]
    idx = np.rint((foot.times_s() - t0) * 100).astype(int)
    np.testing.assert_allclose(analogs[labels.index("R_5")][idx], foot.values[:, 4], rtol=1e-6)
    _, force = total_channel(foot)
    np.testing.assert_allclose(analogs[labels.index("R_Fz")][idx], force, rtol=1e-6)
    cx, _ = cop_mm(foot)
    np.testing.assert_allclose(analogs[labels.index("R_COPx")][idx], cx, rtol=1e-6, equal_nan=True)
    # frames the left insole did not deliver are NaN in its channels, never filled
    left_idx = np.rint((rec.feet["left"].times_s() - t0) * 100).astype(int)
    missing = np.setdiff1d(np.arange(analogs.shape[1]), left_idx)
    assert missing.size and np.isnan(analogs[labels.index("L_1")][missing]).all()
    ev = c["parameters"]["EVENT"]
    want, _ = gait_events(rec)
    assert int(ev["USED"]["value"][0]) == len(want)
    got = sorted(zip(ev["CONTEXTS"]["value"], ev["LABELS"]["value"], np.round(ev["TIMES"]["value"][1], 3)))
    exp = sorted(zip(want.side.str.capitalize(), want.event.map({"foot_strike": "Foot Strike", "foot_off": "Foot Off"}),
                     np.round(want.time_s - t0, 3)))
    assert got == exp


def _fails(capsys, *args):
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and err[0].startswith("gaitpf: error: ")
    return err[0]


def test_bad_export_requests_write_nothing(tmp_path, capsys):
    before = set(os.listdir(tmp_path))
    msg = _fails(capsys, "export", str(MOTICON), "-o", str(tmp_path / "out.xyz"))
    assert "out.xyz" in msg and "unknown export format" in msg
    msg = _fails(capsys, "export", str(MOTICON), "-o", str(tmp_path / "missing" / "out.c3d"))
    assert "out.c3d" in msg
    assert set(os.listdir(tmp_path)) == before


def test_one_foot_grid_recording_to_c3d_and_a_recording_without_walking(tmp_path, capsys):
    out = tmp_path / "left.c3d"
    main(["export", str(DATA / "fscan_excerptL.asf"), "-o", str(out)])
    c = ezc3d.c3d(str(out))
    labels = read_c3d_labels(c)
    assert read_c3d_labels(c, "UNITS")[0] == "kPa" and len(read_c3d_labels(c, "UNITS")) == len(labels)
    assert c["data"]["analogs"].shape[1] == len(labels)
    n = read_recording(DATA / "fscan_excerptL.asf").feet["left"].n_sensors
    assert len(labels) == n + 3 and labels[-3:] == ["L_Fz", "L_COPx", "L_COPy"]
    assert c["parameters"]["ANALOG"]["RATE"]["value"][0] == pytest.approx(1 / 0.032)
    foot = read_recording(DATA / "fscan_excerptL.asf").feet["left"]
    j = n - 5  # a sensor channel listed in LABELS4
    assert labels[j] == "L_" + foot.layout.names[j]
    np.testing.assert_allclose(c["data"]["analogs"][0][j], foot.values[:, j], rtol=1e-6)
    np.testing.assert_allclose(c["data"]["analogs"][0][labels.index("L_Fz")], total_channel(foot)[1], rtol=1e-6)
    capsys.readouterr()
    lines = MOTICON.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = "# Duration: 00:02.000\n"
    still = tmp_path / "standing.txt"
    still.write_text("".join(lines[:210]), encoding="utf-8")
    main(["export", str(still), "-o", str(tmp_path / "still.csv")])
    assert "no gait events" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "still.events.csv").query("source == 'gaitpf'").empty
