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
