"""Sensel-grid insoles (Tekscan, XSENSOR): the grid cells inside the insole as a :class:`SensorLayout`.

Method
------
A frame is a ``rows × cols`` matrix; cells outside the insole are marked by the vendor
(Tekscan ``B``) or never loaded. The sensors are the cells inside the insole, in
row-major order, named ``r<row>c<col>`` (1-based). Positions in the insole frame of
that foot: ``y_mm`` heel (0) → toe from the row (row 1 is the toe end, the vendors'
display orientation), ``x_mm`` medial → lateral from the column, 0 at the middle of the
occupied columns; the image is the sole seen from above, so for a **left** foot the
medial side is at the high column numbers and for a right foot at the low ones (a
vendor ``MIRROR_COL`` flag flips this, ``MIRROR_ROW`` puts the heel at row 1). Regions (heel/midfoot/forefoot/toes) and
medial/central/lateral zones follow :mod:`gaitpf.layouts`, judged on the grid's own
length (heel < 30 %, midfoot < 55 %, forefoot < 80 % of the occupied rows).
"""
from __future__ import annotations

import numpy as np

from ..layouts import INSOLE_LENGTH_MM, ml_zone_of, region_of
from ..model import SensorLayout

__all__ = ["grid_layout_from_mask"]


def grid_layout_from_mask(inside: np.ndarray, *, row_mm: float, col_mm: float, side: str,
                          area_mm2: float | None, layout_id: str, mirror_col: bool = False,
                          mirror_row: bool = False) -> SensorLayout:
    """Layout of the ``True`` cells of ``inside`` (rows × cols; row 0 at the toe end unless ``mirror_row``)."""
    rows, cols = np.nonzero(inside)
    r0, r1 = rows.min(), rows.max()
    c_mid = (cols.min() + cols.max()) / 2.0
    y_mm = ((rows - r0) if mirror_row else (r1 - rows)) * row_mm + 0.5 * row_mm
    medial_high = (side == "left") != bool(mirror_col)
    x_mm = (c_mid - cols if medial_high else cols - c_mid) * col_mm
    length = (r1 - r0 + 1) * row_mm
    scale = length / INSOLE_LENGTH_MM
    return SensorLayout(
        x_mm=x_mm, y_mm=y_mm, region=region_of(y_mm / scale), ml_zone=ml_zone_of(x_mm / scale, y_mm / scale),
        names=tuple(f"r{r + 1}c{c + 1}" for r, c in zip(rows, cols)), layout_id=layout_id,
        area_mm2=None if area_mm2 is None else np.full(rows.size, float(area_mm2)),
    )
