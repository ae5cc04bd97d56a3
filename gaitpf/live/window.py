"""The live gait window (pyqtgraph): pressure maps, force with events, metrics, status.

The window never receives data: a ``QTimer`` pulls :meth:`LiveBuffer.snapshot` and redraws
when the buffer changed. Per foot, a pressure map on the insole outline: the sensor
readings are spread onto a 2.5 mm grid masked by :func:`gaitpf.layouts.foot_outline_mm`
with a precomputed sparse matrix (Gaussian blobs, σ = 0.6 × sensor spacing, around each sensor for up to 64 sensors,
inverse-distance interpolation of the 4 nearest sensels for dense insoles), coloured
through a lookup table into an RGBA ``ImageItem``; the centre-of-pressure trail of the
current step is drawn on top. Below: total force of both feet over the last seconds with
initial contact (▲) and toe-off (▼) marks as detected online (hollow = provisional), and
the running stance/swing symmetry index against the healthy band.

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

from ..layouts import INSOLE_LENGTH_MM, foot_outline_mm
from ..model import SIDES, SensorLayout
from .buffer import HEALTHY_SI_PCT, LiveBuffer, LiveSnapshot

__all__ = ["LiveWindow", "FootMap", "SIDE_COLORS"]

log = logging.getLogger(__name__)

SIDE_COLORS = {"left": (31, 119, 180), "right": (214, 39, 40)}
_PITCH_MM = 2.5


def _inside_polygon(x: np.ndarray, y: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule, vectorized over points and edges."""
    px, py = poly[:-1, 0], poly[:-1, 1]
    qx, qy = poly[1:, 0], poly[1:, 1]
    xs, ys = x[:, None], y[:, None]
    crosses = ((py <= ys) != (qy <= ys))
    with np.errstate(divide="ignore", invalid="ignore"):
        xint = px + (ys - py) * (qx - px) / np.where(qy != py, qy - py, np.inf)
    return (crosses & (xs < xint)).sum(axis=1) % 2 == 1


def _lut() -> np.ndarray:
    """256 × 4 uint8 colour table (white → yellow → red → dark red; 'pressure' style)."""
    cmap = pg.ColorMap(pos=[0.0, 0.15, 0.45, 0.75, 1.0],
                       color=[(250, 250, 250), (255, 237, 160), (254, 153, 41), (217, 48, 31), (120, 0, 30)])
    return cmap.getLookupTable(0.0, 1.0, 256, alpha=True)


class FootMap:
    """Pressure map of one foot: sensor readings → RGBA image on the insole outline.

    Parameters
    ----------
    layout : SensorLayout or None
        Sensor positions in the insole frame (None: the whole insole shows the total).
    side : {"left", "right"}
        The left foot is mirrored (``x_lab = −x_mm``) so both feet look as seen from above.
    pitch_mm : float
        Grid pitch of the image, mm.
    """

    def __init__(self, layout: SensorLayout | None, side: str, pitch_mm: float = _PITCH_MM) -> None:
        from scipy import sparse

        self.side = side
        self.sign = -1.0 if side == "left" else 1.0
        outline = foot_outline_mm()
        self.outline = np.column_stack([outline[:, 0] * self.sign, outline[:, 1]])
        x0, x1 = self.outline[:, 0].min() - pitch_mm, self.outline[:, 0].max() + pitch_mm
        xs = np.arange(x0, x1, pitch_mm) + pitch_mm / 2
        ys = np.arange(-pitch_mm, INSOLE_LENGTH_MM + pitch_mm, pitch_mm) + pitch_mm / 2
        self.rect = (float(x0), float(-pitch_mm), float(len(xs) * pitch_mm), float(len(ys) * pitch_mm))
        gx, gy = np.meshgrid(xs, ys)
        self.shape = gx.shape
        inside = _inside_polygon(gx.ravel(), gy.ravel(), self.outline)
        self.mask = inside.reshape(self.shape)
        pix = np.flatnonzero(inside)
        px, py = gx.ravel()[pix], gy.ravel()[pix]
        if layout is None:
            self.sx = self.sy = np.zeros(0)
            w = sparse.csr_matrix(np.ones((len(pix), 1)))
        else:
            self.sx, self.sy = layout.x_mm * self.sign, layout.y_mm
            k = layout.n_sensors
            d2 = (px[:, None] - self.sx[None, :]) ** 2 + (py[:, None] - self.sy[None, :]) ** 2
            if k <= 64:
                # few sensors: a Gaussian blob around each (σ = 0.6 × nearest-neighbour spacing)
                dd = (self.sx[:, None] - self.sx[None, :]) ** 2 + (self.sy[:, None] - self.sy[None, :]) ** 2
                np.fill_diagonal(dd, np.inf)
                nn = np.sqrt(np.median(dd.min(axis=1))) if k > 1 else 30.0
                sigma = max(10.0, 0.6 * nn)
                dense = np.exp(-d2 / (2 * sigma**2))
                dense[dense < 0.02] = 0.0
                w = sparse.csr_matrix(dense)
            else:
                # dense insoles: inverse-distance weights of the 4 nearest sensels (interpolation)
                nk = 4
                idx = np.argpartition(d2, nk, axis=1)[:, :nk]
                dsel = np.sqrt(np.take_along_axis(d2, idx, axis=1)) + 0.5
                wsel = 1.0 / dsel**2
                wsel /= wsel.sum(axis=1, keepdims=True)
                rows = np.repeat(np.arange(len(pix)), nk)
                w = sparse.csr_matrix((wsel.ravel(), (rows, idx.ravel())), shape=(len(pix), k))
        self.weights = w
        self.pix = pix
        self.lut = _lut()
        self.rgba = np.zeros(self.shape + (4,), np.uint8)

    def image(self, values: np.ndarray | None, level: float) -> np.ndarray:
        """RGBA image (rows = y heel→toe, columns = x) of ``values`` scaled by ``level``."""
        flat = self.rgba.reshape(-1, 4)
        flat[:] = 0
        if values is None:
            flat[self.pix] = self.lut[0]
            return self.rgba
        v = np.nan_to_num(np.asarray(values, dtype=np.float64), nan=0.0)
        if self.weights.shape[1] == 1 and v.size > 1:
            v = np.array([v.sum()])
        field = self.weights @ np.clip(v, 0, None)
        i = np.clip((field / max(level, 1e-9)) * 255.0, 0, 255).astype(np.intp)
        flat[self.pix] = self.lut[i]
        return self.rgba


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
            p = feet.addPlot(row=0, col=col, title=f"{side} foot")
            p.setAspectLocked(True)
            p.hideAxis("left")
            p.hideAxis("bottom")
            p.setMouseEnabled(False, False)
            p.hideButtons()
            self.foot_plots[side] = p
            layout = None
            if side in self.buffer.sides:
                layout = self.buffer._sides[side].layout  # noqa: SLF001 - read-only, set at construction
            fm = FootMap(layout, side)
            self.maps[side] = fm
            img = pg.ImageItem()
            img.setImage(fm.image(None, 1.0), autoLevels=False)
            img.setRect(QtCore.QRectF(*fm.rect))
            p.addItem(img)
            self.images[side] = img
            static = [p.plot(fm.outline[:, 0], fm.outline[:, 1], pen=pg.mkPen((60, 60, 60), width=2))]
            if 0 < len(fm.sx) <= 64:
                static.append(pg.ScatterPlotItem(fm.sx, fm.sy, size=4, pen=None, brush=pg.mkBrush(90, 90, 90, 160)))
                p.addItem(static[-1])
            for item in static:  # repainted above every new heat map: blit a cached pixmap
                for part in (item, getattr(item, "curve", None), getattr(item, "scatter", None)):
                    if part is not None:
                        part.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
            cop = pg.PlotCurveItem(pen=pg.mkPen((20, 20, 20), width=3), skipFiniteCheck=True)
            p.addItem(cop)
            self.cop[side] = cop
            if side not in self.buffer.sides:
                text = pg.TextItem("no data for this foot", color=(150, 0, 0), anchor=(0.5, 0.5))
                text.setPos(0, INSOLE_LENGTH_MM / 2)
                p.addItem(text)
            p.setRange(xRange=(fm.rect[0], fm.rect[0] + fm.rect[2]), yRange=(-5, INSOLE_LENGTH_MM + 5), padding=0.02)
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
            self._set_text(self.metrics_label, self._metrics_html(snap))
        # status: at once when a link, loss or gap count changes, else at most twice a second
        key = (int(snap.elapsed_s * 2), tuple((v.link, v.lost_frames, v.gaps, v.battery_pct)
                                              for v in snap.sides.values()))
        if key != self._status_key:
            self._status_key = key
            self._set_text(self.status_label, self._status_html(snap))
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

    def _metrics_html(self, snap: LiveSnapshot) -> str:
        m = snap.metrics
        sides = list(snap.sides)

        def fmt(v: Any, spec: str = ".2f", unit: str = "") -> str:
            return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:{spec}}{unit}"

        rows = [f"<tr><td></td>" + "".join(f"<td><b style='color:rgb{SIDE_COLORS[s]}'>{s}</b></td>" for s in sides)
                + "</tr>",
                "<tr><td>strides</td>" + "".join(f"<td>{m['n_strides'].get(s, 0)}</td>" for s in sides) + "</tr>",
                "<tr><td>stance</td>" + "".join(
                    f"<td>{fmt(m['stance_time_s'].get(s), '.2f', ' s')} ({fmt(m['stance_pct'].get(s), '.0f', '%')})</td>"
                    for s in sides) + "</tr>",
                "<tr><td>swing</td>" + "".join(
                    f"<td>{fmt(m['swing_time_s'].get(s), '.2f', ' s')} ({fmt(m['swing_pct'].get(s), '.0f', '%')})</td>"
                    for s in sides) + "</tr>"]
        html = (f"<div style='font-size:15px'><b>cadence</b> {fmt(m.get('cadence_spm'), '.0f', ' steps/min')}</div>"
                f"<table cellspacing='6'>{''.join(rows)}</table>")
        html += f"<div><b>symmetry</b> (last {m.get('n_symmetry_strides')} steady strides per side)</div><table cellspacing='6'>"
        if len(sides) < 2:
            html += "<tr><td colspan=3>one foot only: not available</td></tr>"
        for metric, label in (("stance_time_s", "stance"), ("swing_time_s", "swing")):
            si = m["si_pct"].get(metric)
            sa = m["sa_pct"].get(metric)
            if si is None:
                if len(sides) == 2:
                    html += f"<tr><td>{label}</td><td colspan=2>waiting for steady strides…</td></tr>"
                continue
            band = HEALTHY_SI_PCT[metric]
            ok = abs(si) <= band
            color = "#2e7d32" if ok else "#c62828"
            html += (f"<tr><td>{label}</td><td><b style='color:{color}'>SI {si:+.1f}%</b></td>"
                     f"<td>SA {sa:+.1f}%</td><td style='color:#666'>healthy |SI| ≤ {band:.1f}%</td></tr>")
        html += "</table><div style='color:#666'>SI &gt; 0: right longer</div>"
        return html

    def _status_html(self, snap: LiveSnapshot) -> str:
        e = snap.elapsed_s
        rows = [f"<b>elapsed</b> {int(e // 60):02d}:{int(e % 60):02d}"]
        for side, v in snap.sides.items():
            link_ok = v.link in ("connected", "finished")
            col = "#2e7d32" if link_ok else "#c62828"
            bat = "–" if v.battery_pct is None else f"{v.battery_pct:.0f}%"
            rows.append(f"<b style='color:rgb{SIDE_COLORS[side]}'>{side}</b>: {v.frames} frames, lost "
                        f"{v.lost_frames}, gaps {v.gaps}, link <b style='color:{col}'>{v.link}</b>, battery {bat}")
        return "<br>".join(rows)

    def _update_banner(self, snap: LiveSnapshot) -> None:
        errors = [t for lvl, t in snap.messages if lvl == "error"]
        if snap.link_down:
            text = "⚠ LINK LOST: " + ", ".join(f"{s} insole ({snap.sides[s].link})" for s in snap.link_down)
        elif errors and any(v.link == "stalled" for v in snap.sides.values()):
            text = "⚠ " + errors[-1]
        else:
            text = ""
        self._set_text(self.banner, text)
        if self.banner.isVisible() != bool(text):
            self.banner.setVisible(bool(text))
        colors = {"error": "#c62828", "warning": "#e65100", "info": "#555"}
        msgs = snap.messages[-5:]
        self._set_text(self.message_label, "<br>".join(f"<span style='color:{colors.get(l, '#555')}'>{t}</span>"
                                               for l, t in msgs))

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
