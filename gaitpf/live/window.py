"""The live gait window (pyqtgraph): pressure maps, force with events, metrics, status.

The window never receives data: a ``QTimer`` pulls :meth:`LiveBuffer.snapshot` and redraws
when the buffer changed. Per foot, a pressure map on the insole outline: the sensor
readings are spread onto a 2.5 mm grid masked by :func:`gaitpf.layouts.foot_outline_mm`
with a precomputed sparse matrix (Gaussian blobs, σ = 0.6 × sensor spacing, around each sensor for up to 64 sensors,
inverse-distance interpolation of the 4 nearest sensels for dense insoles), coloured
through a lookup table into an RGBA ``ImageItem``; the centre-of-pressure trail of the
current step is drawn on top. Below: total force of both feet over the last seconds with
initial contact (▲) and toe-off (▼) marks as detected online (hollow = provisional), and
the running stance/swing symmetry index against the healthy band. The heat-map item is
in :mod:`gaitpf.live.heatmap`, the text panels in :mod:`gaitpf.live.panels`; this module
assembles the window, draws the force and symmetry plots and runs the refresh loop.

Cost per frame (the window shares a core with acquisition and recording): the force plot
has a fixed time axis relative to the newest data, and scrolling moves the curves and
marks (``setPos``) instead of the view range, so axes and grid are painted once and
blitted from a cache; curves, heat maps and the centre-of-pressure trail are only
recomputed when their foot received frames; static items (outline, sensor dots) are
cached pixmaps; text is re-rendered only when the metrics changed (status at most 2 Hz,
or at once when a link, loss or gap count changes).
"""
from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from ..model import SIDES
from .buffer import LiveBuffer, LiveSnapshot
from .heatmap import FootMap, add_color_bar, add_foot_plot
from .online import HEALTHY_SI_PCT
from .panels import SIDE_COLORS, banner_text, messages_html, metrics_html, status_html

__all__ = ["LiveWindow", "FootMap", "SIDE_COLORS"]

log = logging.getLogger(__name__)


class _PlotArea(pg.GraphicsLayoutWidget):
    """GraphicsLayoutWidget that records when a paint has finished (for latency/FPS)."""

    def __init__(self, on_painted: Any) -> None:
        super().__init__()
        self._on_painted = on_painted

    def paintEvent(self, ev: Any) -> None:  # noqa: N802 - Qt API
        super().paintEvent(ev)
        self._on_painted()


class LiveWindow(QtWidgets.QMainWindow):
    """The live gait view of one :class:`LiveBuffer`.

    Parameters
    ----------
    buffer : LiveBuffer
    title : str
        Window title (the source).
    span_s : float
        Seconds of total force shown.
    refresh_ms : int
        Redraw timer period, ms.
    """

    def __init__(self, buffer: LiveBuffer, *, title: str = "gaitpf live", span_s: float = 6.0,
                 refresh_ms: int = 30) -> None:
        super().__init__()
        pg.setConfigOptions(antialias=False, imageAxisOrder="row-major", background="w", foreground="k")
        self.buffer = buffer
        self.span_s = span_s
        self.setWindowTitle(title)
        self.resize(1280, 820)
        self._version = -1
        self._metrics_version = -1
        self._frames_seen: dict[str, int] = {}
        self._status_key: tuple | None = None
        self._level = 1.0
        self._pending: np.ndarray | None = None
        self.latencies_s: list[np.ndarray] = []
        self.n_draws = 0
        self.n_updates = 0
        self.n_paints = 0
        self.n_frames_drawn = 0
        self._dirty = False
        self.n_errors = 0
        self._t_start = time.monotonic()
        self.last_snapshot: LiveSnapshot | None = None

        central = QtWidgets.QWidget()
        self.setCentralWidget(central)
        outer = QtWidgets.QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 6)
        self.banner = QtWidgets.QLabel("")
        self.banner.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.banner.setStyleSheet("QLabel { background: #c62828; color: white; font-size: 20px; "
                                  "font-weight: bold; padding: 8px; border-radius: 4px; }")
        self.banner.setWordWrap(True)
        self.banner.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Minimum)
        self.banner.setVisible(False)
        outer.addWidget(self.banner)
        row = QtWidgets.QHBoxLayout()
        outer.addLayout(row, 1)
        self.plots = _PlotArea(self._painted)
        row.addWidget(self.plots, 3)
        side_panel = QtWidgets.QVBoxLayout()
        row.addLayout(side_panel, 1)
        self.metrics_label = QtWidgets.QLabel()
        self.metrics_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.metrics_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.metrics_label.setStyleSheet("QLabel { font-size: 13px; background: white; padding: 6px; }")
        self.metrics_label.setMinimumWidth(300)
        side_panel.addWidget(self.metrics_label, 3)
        self.status_label = QtWidgets.QLabel()
        self.status_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.status_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.status_label.setStyleSheet("QLabel { font-size: 12px; background: #f4f4f4; padding: 6px; }")
        side_panel.addWidget(self.status_label, 2)
        self.message_label = QtWidgets.QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.message_label.setAlignment(QtCore.Qt.AlignmentFlag.AlignTop)
        self.message_label.setStyleSheet("QLabel { font-size: 12px; padding: 6px; }")
        side_panel.addWidget(self.message_label, 1)

        self._build_feet()
        self._build_force()
        self._build_symmetry()
        self._cache_axes()
        self._force_ymax = 0.0
        self._hist_len = -1
        self._texts: dict[str, str] = {}
        self._clock: tuple[float, float] | None = None   # (wall, data time) of the newest frame
        self._rate = 1.0                                  # data seconds per wall second (EMA)
        self._display_now = -np.inf
        self._brushes = {s: (pg.mkBrush(*SIDE_COLORS[s]), pg.mkBrush(255, 255, 255)) for s in SIDES}

        self.buffer.snapshot(last_s=0.01)  # frames that arrived before the window existed are not latency
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.refresh)
        self.timer.start(refresh_ms)

    # ------------------------------------------------------------------ building
    def _build_feet(self) -> None:
        self.maps: dict[str, FootMap] = {}
        self.images: dict[str, pg.ImageItem] = {}
        self.cop: dict[str, pg.PlotCurveItem] = {}
        self.foot_plots: dict[str, pg.PlotItem] = {}
        feet = self.plots.addLayout(row=0, col=0)
        for col, side in enumerate(SIDES):
            layout = None
            if side in self.buffer.sides:
                layout = self.buffer._sides[side].layout  # noqa: SLF001 - read-only, set at construction
            p, fm, img, cop = add_foot_plot(feet, col, side, layout, side in self.buffer.sides)
            self.foot_plots[side] = p
            self.maps[side] = fm
            self.images[side] = img
            self.cop[side] = cop
        self.color_bar = add_color_bar(feet, len(SIDES), self.buffer.unit)
        self._bar_level = 0.0
        self.plots.ci.layout.setRowStretchFactor(0, 5)

    def _build_force(self) -> None:
        title = ("total force: <span style='color:rgb%s'>left</span>, <span style='color:rgb%s'>right</span>"
                 " (▲ initial contact, ▼ toe-off; hollow = provisional)" % (SIDE_COLORS["left"], SIDE_COLORS["right"]))
        p = self.plots.addPlot(row=1, col=0, title=title)
        p.setLabel("left", f"force ({self.buffer.unit})")
        p.setLabel("bottom", "time relative to the newest data (s)")
        p.showGrid(x=True, y=True, alpha=0.25)
        p.setMouseEnabled(False, False)
        p.hideButtons()
        p.disableAutoRange()
        # fixed axis: scrolling translates the items (setPos), the axes and grid stay cached
        p.setXRange(-self.span_s, 0.0, padding=0)
        p.setYRange(0, 1.0, padding=0)
        self.force_plot = p
        self.force_curves: dict[str, pg.PlotCurveItem] = {}
        # every event mark of both feet in one scatter item (one paint per frame, not four)
        self.marks = pg.ScatterPlotItem(size=12)
        self._marks_key: tuple | None = None
        self._pens = {s: pg.mkPen(SIDE_COLORS[s], width=1.5) for s in SIDES}
        for side in SIDES:
            c = SIDE_COLORS[side]
            # bare curve items (no PlotDataItem layer: setPos/setData do not re-derive datasets)
            self.force_curves[side] = pg.PlotCurveItem(pen=pg.mkPen(c, width=2), skipFiniteCheck=True)
            p.addItem(self.force_curves[side])
        p.addItem(self.marks)
        self.plots.ci.layout.setRowStretchFactor(1, 3)

    def _build_symmetry(self) -> None:
        p = self.plots.addPlot(row=2, col=0, title=(
            "running symmetry index of <span style='color:#5a2896'>stance</span> and "
            "<span style='color:#e68200'>swing</span> time (green: healthy band)"))
        p.setLabel("left", "SI (%)")
        p.setLabel("bottom", "time (s)")
        p.setMouseEnabled(False, False)
        p.hideButtons()
        band = HEALTHY_SI_PCT["stance_time_s"]
        region = pg.LinearRegionItem(values=(-band, band), orientation="horizontal", movable=False,
                                     brush=pg.mkBrush(76, 175, 80, 50), pen=pg.mkPen(None))
        p.addItem(region)
        self.si_curves = {
            "stance_time_s": p.plot([], [], pen=pg.mkPen((90, 40, 150), width=2), ),
            "swing_time_s": p.plot([], [], pen=pg.mkPen((230, 130, 0), width=2, style=QtCore.Qt.PenStyle.DashLine),
                                   ),
        }
        p.setYRange(-15, 15)
        self.si_plot = p
        self.plots.ci.layout.setRowStretchFactor(2, 2)

    def _cache_axes(self) -> None:
        """Axes are repainted from a pixmap unless their range changed (paint is the bottleneck)."""
        for plot in (self.force_plot, self.si_plot):
            for name in ("left", "bottom"):
                axis = plot.getAxis(name)
                axis.enableAutoSIPrefix(False)  # else every range change re-renders the label HTML
                axis.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)

    # ------------------------------------------------------------------ drawing
    def _painted(self) -> None:
        self.n_paints += 1
        if self._dirty:
            self.n_frames_drawn += 1
            self._dirty = False
        if self._pending is not None and len(self._pending):
            self.latencies_s.append(time.monotonic() - self._pending)
            self._pending = None

    def refresh(self) -> None:
        """Timer slot: redraw what changed and scroll the force plot smoothly (never raises)."""
        try:
            wall = time.monotonic()
            drew = False
            if self.buffer.version != self._version:
                self._version = self.buffer.version
                snap = self.buffer.snapshot(last_s=self.span_s + 0.5)
                self.last_snapshot = snap
                self._advance_clock(wall, snap.now_s)
                self._draw(snap)
                self.n_updates += 1
                drew = True
                arr = snap.new_arrivals
                if len(arr):
                    self._pending = arr if self._pending is None else np.concatenate([self._pending, arr])
            if self._scroll(wall) or drew:
                self.n_draws += 1
                self._dirty = True  # the items schedule their own (minimal) repaint
        except Exception:  # noqa: BLE001 - a drawing bug must not stop the view (or the recording)
            self.n_errors += 1
            if self.n_errors <= 3:
                log.exception("live view: redraw failed")

    def _advance_clock(self, wall: float, now_s: float) -> None:
        """Track data time against wall time (data arrives in packets; the axis should glide)."""
        if self._clock is not None:
            dw, dt = wall - self._clock[0], now_s - self._clock[1]
            if dw > 0.02 and dt >= 0:
                self._rate = float(np.clip(0.8 * self._rate + 0.2 * dt / dw, 0.0, 100.0))
        if self._clock is None or now_s != self._clock[1]:
            self._clock = (wall, now_s)

    def _scroll(self, wall: float) -> bool:
        """Move the time axis to the extrapolated data time (at most 0.25 s ahead of the data)."""
        if self._clock is None:
            return False
        w0, t0 = self._clock
        target = t0 + min(self._rate * (wall - w0), 0.25 * max(self._rate, 1.0))
        target = max(target, self._display_now)
        if target == self._display_now:
            return False
        self._display_now = target
        for item in (*self.force_curves.values(), self.marks):
            item.setPos(-target, 0.0)
        # the scatter culls its points against the cached view rect (item coordinates): drop it
        pg.GraphicsObject.viewTransformChanged(self.marks)
        return True

    def _draw(self, snap: LiveSnapshot) -> None:
        fresh = [s for s, v in snap.sides.items() if self._frames_seen.get(s) != v.frames]
        if fresh:  # new frames: heat-map level, maps, COP trails and force curves of those feet
            peak = max((float(np.nanmax(v.latest)) for v in snap.sides.values()
                        if v.latest is not None and v.latest.size and np.isfinite(v.latest).any()), default=0.0)
            self._level = max(self._level * 0.998, peak, 1e-6)
            full = 0.85 * self._level
            if abs(full - self._bar_level) > 0.05 * max(self._bar_level, 1e-9):  # repaint the scale rarely
                self._bar_level = full
                self.color_bar.setLevels((0.0, full))
        ymax = 1.0
        for side, view in snap.sides.items():
            t, tot = view.time_s, view.total
            if side in fresh:
                self._frames_seen[side] = view.frames
                fm = self.maps[side]
                self.images[side].setImage(fm.image(view.latest, 0.85 * self._level), autoLevels=False)
                self.cop[side].setData(view.cop_x_mm * fm.sign, view.cop_y_mm)
                self.force_curves[side].setData(t, tot)
            if len(tot):
                ymax = max(ymax, float(np.nanmax(tot)))
        self._marks(snap)
        if ymax > self._force_ymax or ymax < 0.6 * self._force_ymax:
            self._force_ymax = ymax * 1.1
            self.force_plot.setYRange(0, self._force_ymax, padding=0)
        hist = snap.metrics.get("history") or []
        if len(hist) != self._hist_len:
            self._hist_len = len(hist)
            if hist:
                h = np.asarray(hist, dtype=float)
                self.si_curves["stance_time_s"].setData(h[:, 0], h[:, 1])
                self.si_curves["swing_time_s"].setData(h[:, 0], h[:, 2])
                fin = np.isfinite(h[:, 1:])
                lim = max(15.0, float(np.abs(h[:, 1:][fin]).max()) * 1.1 if fin.any() else 15.0)
                self.si_plot.setYRange(-lim, lim, padding=0)
                self.si_plot.setXRange(max(h[0, 0], h[-1, 0] - 120.0) - 1.0, h[-1, 0] + 1.0, padding=0)
        if snap.metrics_version != self._metrics_version:
            self._metrics_version = snap.metrics_version
            self._set_text(self.metrics_label, metrics_html(snap))
        # status: at once when a link, loss or gap count changes, else at most twice a second
        key = (int(snap.elapsed_s * 2), tuple((v.link, v.lost_frames, v.gaps, v.battery_pct)
                                              for v in snap.sides.values()))
        if key != self._status_key:
            self._status_key = key
            self._set_text(self.status_label, status_html(snap))
        self._update_banner(snap)

    def _set_text(self, label: QtWidgets.QLabel, text: str) -> None:
        key = str(id(label))
        if self._texts.get(key) != text:
            self._texts[key] = text
            label.setText(text)

    def _marks(self, snap: LiveSnapshot) -> None:
        """IC (▲) and TO (▼) marks of both feet on their force curves (hollow = provisional)."""
        key = tuple((side, len(v.time_s), tuple(v.ic_s), tuple(v.provisional_ic_s), tuple(v.to_s),
                     tuple(v.provisional_to_s)) for side, v in snap.sides.items())
        if key == self._marks_key:
            return  # same events: the marks stay where they are
        self._marks_key = key
        xs, ys, symbols, brushes, pens = [], [], [], [], []
        for side, v in snap.sides.items():
            if len(v.time_s) == 0:
                continue
            solid, hollow = self._brushes[side]
            for symbol, conf, prov in (("t1", v.ic_s, v.provisional_ic_s), ("t", v.to_s, v.provisional_to_s)):
                times = np.concatenate([np.asarray(conf, float), np.asarray(prov, float)])
                if len(times) == 0:
                    continue
                j = np.clip(np.searchsorted(v.time_s, times), 0, len(v.time_s) - 1)
                xs.append(times)
                ys.append(v.total[j])
                symbols += [symbol] * len(times)
                brushes += [solid] * len(conf) + [hollow] * len(prov)
                pens += [self._pens[side]] * len(times)
        if not xs:
            self.marks.setData(x=[], y=[])
            return
        self.marks.setData(x=np.concatenate(xs), y=np.concatenate(ys), symbol=symbols, brush=brushes, pen=pens)

    def _update_banner(self, snap: LiveSnapshot) -> None:
        text = banner_text(snap)
        self._set_text(self.banner, text)
        if self.banner.isVisible() != bool(text):
            self.banner.setVisible(bool(text))
        self._set_text(self.message_label, messages_html(snap))

    # ------------------------------------------------------------------ measurements
    def stats(self) -> dict[str, Any]:
        """Frames drawn per second and notification-to-screen latency (ms)."""
        elapsed = max(time.monotonic() - self._t_start, 1e-9)
        lat = np.concatenate(self.latencies_s) * 1000.0 if self.latencies_s else np.zeros(0)
        return {
            "elapsed_s": elapsed,
            "updates": self.n_updates,
            "draws": self.n_draws,
            "paints": self.n_paints,
            "frames_drawn": self.n_frames_drawn,
            "fps_drawn": self.n_frames_drawn / elapsed,
            "latency_ms": {"n": int(lat.size),
                           "p50": float(np.percentile(lat, 50)) if lat.size else None,
                           "p99": float(np.percentile(lat, 99)) if lat.size else None,
                           "max": float(lat.max()) if lat.size else None},
            "redraw_errors": self.n_errors,
        }
