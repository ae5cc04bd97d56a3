"""The live window, headless (pytest-qt, QT_QPA_PLATFORM=offscreen)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import numpy as np
import pytest

from gaitpf.layouts import gaitpdb_layout, gaitpf16_layout, grid_layout
from gaitpf.live.buffer import LiveBuffer
from gaitpf.live.window import FootMap, LiveWindow
from gaitpf.sim.gait_model import GaitParams, WalkingBouts, simulate_trial

LAYOUTS = {8: lambda: gaitpdb_layout("left"), 16: gaitpf16_layout, 1000: lambda: grid_layout(1000)}


def _qimage_to_array(img) -> np.ndarray:
    from pyqtgraph.Qt import QtGui

    img = img.convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    ptr = img.constBits()
    arr = np.frombuffer(ptr, np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine() // 4, 4)
    return arr[:, : img.width()].copy()


@pytest.fixture(scope="module")
def walking():
    params = GaitParams(seed=2, n_sensors=16, walking_bouts=WalkingBouts(standing_start_s=0.5, standing_end_s=0.5,
                                                                          pause_s=1.0))
    rec, _ = simulate_trial(params, duration_s=14.0)
    return rec


def _buffer(n_sensors: int, **kw) -> LiveBuffer:
    lay = LAYOUTS[n_sensors]()
    return LiveBuffer(sampling_rate_hz=100.0, n_sensors={"left": n_sensors, "right": n_sensors}, unit="N",
                      layouts={"left": lay, "right": lay}, body_mass_kg=70.0, **kw)


def test_foot_map_masks_the_outline_and_spreads_the_readings():
    lay = gaitpf16_layout()
    fm = FootMap(lay, "right")
    assert 0.4 < fm.mask.mean() < 0.8                   # the insole fills about half of its bounding box
    v = np.zeros(16)
    v[1] = 100.0                                          # heel_cen only (x 0, y 45 mm)
    img = fm.image(v, level=100.0)
    assert (img[~fm.mask, 3] == 0).all()                  # transparent outside the outline
    lum = img[..., :3].astype(int).sum(axis=2)
    row, col = np.unravel_index(np.argmin(np.where(fm.mask, lum, 10**6)), lum.shape)
    y_mm = fm.rect[1] + (row + 0.5) * 2.5
    assert abs(y_mm - 45.0) <= 5.0                        # darkest (highest) where the loaded sensor is
    left = FootMap(lay, "left")
    np.testing.assert_allclose(left.outline[:, 0], -fm.outline[:, 0])  # mirrored: seen from above
    dense = FootMap(grid_layout(1000), "left")
    assert dense.weights.shape[1] == 1000 and dense.weights.nnz == 4 * len(dense.pix)


@pytest.mark.parametrize("n_sensors", [8, 16, 1000])
def test_window_builds_and_draws_for_each_layout(qtbot, n_sensors, walking):
    buf = _buffer(n_sensors)
    win = LiveWindow(buf, refresh_ms=1000)
    qtbot.addWidget(win)
    win.show()
    rng = np.random.default_rng(0)
    tot = walking.feet["left"].total()[:200]
    for k in range(0, 200, 10):
        for side in ("left", "right"):
            v = rng.random((10, n_sensors)) * (tot[k:k + 10, None] / n_sensors)
            buf.push(side, v, time_s=np.arange(k, k + 10) / 100.0, sample_counter=np.arange(k, k + 10))
        win.refresh()
    qtbot.wait(50)
    assert win.n_errors == 0 and win.n_draws > 0
    img = win.images["left"].image
    assert img.shape[2] == 4 and (img[..., 3] > 0).any()
    arr = _qimage_to_array(win.grab().toImage())
    assert arr.shape[0] > 300 and arr.shape[1] > 600
    colours = np.unique(arr[..., :3].reshape(-1, 3), axis=0)
    assert len(colours) > 50                              # not blank: plots, text, heat map


def test_thousands_of_updates_do_not_crash(qtbot, walking):
    """Regression for PySide6 6.12.0 (crash after ~100 plot updates on Python 3.11)."""
    buf = _buffer(16, detect_every_s=1000.0)  # the window is under test here, not the detector
    win = LiveWindow(buf, refresh_ms=1000)
    qtbot.addWidget(win)
    win.show()
    vals = walking.feet["left"].values
    n = 2000
    for k in range(n):
        j = k % len(vals)
        for side in ("left", "right"):
            buf.push(side, vals[j:j + 1], time_s=np.array([k / 100.0]), sample_counter=np.array([k]))
        win.refresh()
        if k % 100 == 0:
            qtbot.wait(1)
    qtbot.wait(20)
    assert win.n_errors == 0
    assert win.n_updates == n and win.n_draws >= n
    st = win.stats()
    assert st["frames_drawn"] > 0 and st["latency_ms"]["n"] > 0
    assert buf.snapshot().sides["left"].frames == n


def test_link_drop_shows_a_warning_banner(qtbot, walking):
    buf = _buffer(16)
    win = LiveWindow(buf, refresh_ms=1000)
    qtbot.addWidget(win)
    win.show()
    buf.push("left", walking.feet["left"].values[:10], time_s=np.arange(10) / 100.0)
    win.refresh()
    assert not win.banner.isVisible()
    before = _qimage_to_array(win.grab().toImage())
    buf.push_event("left", "disconnected")
    win.refresh()
    assert win.banner.isVisible()
    assert "LINK LOST" in win.banner.text() and "left" in win.banner.text()
    after = _qimage_to_array(win.grab().toImage())
    red = (after[..., 0] > 180) & (after[..., 1] < 80) & (after[..., 2] < 80)
    red_before = (before[..., 0] > 180) & (before[..., 1] < 80) & (before[..., 2] < 80)
    assert red[:60].sum() > 20 * red_before[:60].sum() + 1000  # a red bar across the top
    assert "disconnected" in win.status_label.text()
    buf.push_event("left", "connected")
    win.refresh()
    assert not win.banner.isVisible()


def test_scrolling_keeps_event_marks_on_the_curves(qtbot, walking):
    """The force plot scrolls by moving its items: marks must follow the data (not a stale view)."""
    buf = _buffer(16)
    win = LiveWindow(buf, refresh_ms=1000)
    qtbot.addWidget(win)
    win.show()
    left, right = walking.feet["left"].values, walking.feet["right"].values
    for k in range(0, 1400, 5):
        sl = slice(k, k + 5)
        for side, v in (("left", left), ("right", right)):
            buf.push(side, v[sl], time_s=np.arange(k, k + 5) / 100.0, sample_counter=np.arange(k, k + 5))
        win.refresh()
        if k % 50 == 0:
            qtbot.wait(1)
    win.refresh()
    snap = win.last_snapshot
    n_events = sum(len(v.ic_s) + len(v.to_s) + len(v.provisional_ic_s) + len(v.provisional_to_s)
                   for v in snap.sides.values())
    x, y = win.marks.getData()
    assert n_events >= 8 and len(x) == n_events           # both feet, IC and TO, in one item
    # the axis is fixed (time relative to the newest data); the items carry the data time
    assert win.force_plot.viewRange()[0] == pytest.approx([-win.span_s, 0.0])
    assert win.marks.pos().x() == pytest.approx(-win._display_now)
    shown = x - win._display_now
    assert shown.min() >= -win.span_s - 0.6 and shown.max() <= 0.0
    # every mark in the visible span is drawn: the scatter's view rect moved with the data
    vr = win.marks.viewRect()
    assert vr.left() == pytest.approx(win._display_now - win.span_s, abs=0.05)
    assert vr.right() == pytest.approx(win._display_now, abs=0.05)
    for side, v in snap.sides.items():                     # each mark sits on its foot's force curve
        j = np.searchsorted(v.time_s, v.ic_s)
        assert np.isin(v.total[j], y).all()
