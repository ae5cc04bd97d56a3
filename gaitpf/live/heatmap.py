"""Foot heat-map item of the live window: sensor readings → RGBA image on the insole outline.

:class:`FootMap` spreads the sensor readings of one foot onto a 2.5 mm grid masked by
:func:`gaitpf.layouts.foot_outline_mm` with a precomputed sparse matrix (Gaussian blobs,
σ = 0.6 × sensor spacing, around each sensor for up to 64 sensors, inverse-distance
interpolation of the 4 nearest sensels for dense insoles), coloured through a lookup table.
:func:`add_foot_plot` builds the plot of one foot: the image, the cached outline and sensor
dots, and the (empty) centre-of-pressure trail curve drawn on top.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from ..layouts import INSOLE_LENGTH_MM, foot_outline_mm
from ..model import SensorLayout

__all__ = ["FootMap", "add_foot_plot", "add_color_bar"]

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


def _colormap() -> pg.ColorMap:
    """White → yellow → red → dark red ('pressure' style)."""
    return pg.ColorMap(pos=[0.0, 0.15, 0.45, 0.75, 1.0],
                       color=[(250, 250, 250), (255, 237, 160), (254, 153, 41), (217, 48, 31), (120, 0, 30)])


def _lut() -> np.ndarray:
    """256 × 4 uint8 colour table of :func:`_colormap`."""
    return _colormap().getLookupTable(0.0, 1.0, 256, alpha=True)


def add_color_bar(feet: pg.GraphicsLayout, col: int, unit: str) -> pg.ColorBarItem:
    """The colour scale of the maps (0 to the current full-scale level, in the readings' unit).

    The maps are coloured by the window (RGBA images), so the bar is display-only: the
    window calls ``setLevels((0, level))`` when the full-scale level moves.
    """
    bar = pg.ColorBarItem(values=(0.0, 1.0), colorMap=_colormap(), interactive=False, width=14, rounding=0.1,
                          label=f"sensor reading ({unit})")
    feet.addItem(bar, row=0, col=col)
    return bar


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


def add_foot_plot(feet: pg.GraphicsLayout, col: int, side: str, layout: SensorLayout | None,
                  has_data: bool) -> tuple[pg.PlotItem, FootMap, pg.ImageItem, pg.PlotCurveItem]:
    """Add the heat-map plot of one foot to ``feet`` at column ``col``.

    Parameters
    ----------
    feet : pyqtgraph.GraphicsLayout
        Layout holding the foot plots.
    col : int
        Column of this foot.
    side : {"left", "right"}
    layout : SensorLayout or None
        Sensor positions (None: the whole insole shows the total).
    has_data : bool
        False marks the plot "no data for this foot".

    Returns
    -------
    plot, foot_map, image, cop
        The plot, its :class:`FootMap`, the heat-map image item and the COP trail curve
        (mm, mirrored like the map).
    """
    p = feet.addPlot(row=0, col=col, title=f"{side} foot")
    p.setAspectLocked(True)
    p.hideAxis("left")
    p.hideAxis("bottom")
    p.setMouseEnabled(False, False)
    p.hideButtons()
    fm = FootMap(layout, side)
    img = pg.ImageItem()
    img.setImage(fm.image(None, 1.0), autoLevels=False)
    img.setRect(QtCore.QRectF(*fm.rect))
    p.addItem(img)
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
    if not has_data:
        text = pg.TextItem("no data for this foot", color=(150, 0, 0), anchor=(0.5, 0.5))
        text.setPos(0, INSOLE_LENGTH_MM / 2)
        p.addItem(text)
    p.setRange(xRange=(fm.rect[0], fm.rect[0] + fm.rect[2]), yRange=(-5, INSOLE_LENGTH_MM + 5), padding=0.02)
    return p, fm, img, cop
