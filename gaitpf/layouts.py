"""Standard sensor layouts and the insole outline.

The insole frame (same for both feet, so layouts are mirror-safe): ``x_mm`` grows from
the medial to the lateral edge of *that* foot, with 0 on the insole's long axis;
``y_mm`` grows from the back of the heel (0) to the tip of the toes
(:data:`INSOLE_LENGTH_MM`). A left and a right insole with the same layout therefore
have identical coordinates here and are mirror images in lab coordinates.

Regions are assigned by the fraction of insole length (heel < 30 %, midfoot < 55 %,
forefoot < 80 %, toes above) and medial/central/lateral zones by thirds of the local
insole width, following the usual plantar-pressure masks (Cavanagh & Ulbrecht 1994,
Clin Biomech; metatarsal heads at about 65–75 % of foot length).
"""
from __future__ import annotations

import numpy as np

from .errors import SignalError
from .model import SensorLayout

__all__ = [
    "INSOLE_LENGTH_MM",
    "GAITPDB_UNIT_TO_MM",
    "foot_outline_mm",
    "region_of",
    "ml_zone_of",
    "gaitpdb_layout",
    "gaitpf16_layout",
    "grid_layout",
    "standard_layout",
    "STANDARD_LAYOUTS",
]

#: Length of the reference insole (EU size ~41), mm.
INSOLE_LENGTH_MM = 260.0

#: Region boundaries as fractions of insole length (heel | midfoot | forefoot | toes).
_REGION_EDGES = (0.30, 0.55, 0.80)

# Medial and lateral edge of the reference insole, (y fraction, x_mm) pairs, heel → toe.
# The medial edge is concave at the arch; the lateral edge is nearly straight.
_Y_FRAC = np.array([0.0, 0.03, 0.08, 0.15, 0.25, 0.35, 0.45, 0.55, 0.62, 0.70, 0.78, 0.85, 0.92, 0.97, 1.0])
_MEDIAL = np.array([-5.0, -22.0, -30.0, -32.0, -30.0, -27.0, -27.0, -33.0, -40.0, -46.0, -47.0, -44.0, -36.0, -24.0, -8.0])
_LATERAL = np.array([5.0, 22.0, 30.0, 33.0, 35.0, 37.0, 40.0, 44.0, 48.0, 50.0, 47.0, 40.0, 28.0, 14.0, 2.0])

#: Scale of format.txt's arbitrary units to mm (see :func:`gaitpdb_layout`).
GAITPDB_UNIT_TO_MM = 0.13


def _edges(y_mm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    frac = np.asarray(y_mm, dtype=float) / INSOLE_LENGTH_MM
    return np.interp(frac, _Y_FRAC, _MEDIAL), np.interp(frac, _Y_FRAC, _LATERAL)


def foot_outline_mm() -> np.ndarray:
    """Closed outline of the reference insole in the insole frame.

    Returns
    -------
    ndarray, shape (n, 2)
        ``(x_mm, y_mm)`` vertices going up the lateral edge and back down the medial
        edge; the first vertex is repeated at the end.
    """
    y = _Y_FRAC * INSOLE_LENGTH_MM
    lateral = np.column_stack([_LATERAL, y])
    medial = np.column_stack([_MEDIAL, y])[::-1]
    pts = np.vstack([lateral, medial])
    return np.vstack([pts, pts[:1]])


def region_of(y_mm: np.ndarray) -> tuple[str, ...]:
    """Anatomical region ("heel", "midfoot", "forefoot", "toes") of each ``y_mm``."""
    frac = np.asarray(y_mm, dtype=float) / INSOLE_LENGTH_MM
    idx = np.searchsorted(np.array(_REGION_EDGES), frac, side="right")
    names = np.array(["heel", "midfoot", "forefoot", "toes"])
    return tuple(str(s) for s in names[idx])


def ml_zone_of(x_mm: np.ndarray, y_mm: np.ndarray) -> tuple[str, ...]:
    """Medial/central/lateral zone by thirds of the local insole width."""
    med, lat = _edges(y_mm)
    t = (np.asarray(x_mm, dtype=float) - med) / np.maximum(lat - med, 1e-9)
    idx = np.digitize(t, [1 / 3, 2 / 3])
    names = np.array(["medial", "central", "lateral"])
    return tuple(str(s) for s in names[idx])


def gaitpdb_layout(side: str = "left") -> SensorLayout:
    """The 8-sensor Ultraflex layout of PhysioNet gaitpdb, in the insole frame.

    format.txt gives (X, Y) in arbitrary units with the origin between the feet, the
    left foot at negative X: each foot's sensors lie at |X| = 300 (medial), 500
    (centre) and 700 (lateral) and Y = -800 (heel) … 800 (toes). Mapping: ``x_mm =
    (|X| - 500) * s`` (medial negative), ``y_mm = 130 + Y * s`` with ``s =``
    :data:`GAITPDB_UNIT_TO_MM` = 0.13 mm/unit, an *assumption* that the sensors span
    80 % of a 260 mm insole (heel sensor at 26 mm, toe sensor at 234 mm). Only the
    relative positions are given by the database. Regions: L1 heel; L2/L3 rear of the
    heel pad's front edge (counted as heel, 30 % of length); L4/L5 midfoot; L6/L7
    forefoot (metatarsal heads); L8 toes (hallux).
    """
    if side not in ("left", "right"):
        raise SignalError(f"side must be 'left' or 'right', got {side!r}")
    abs_x = np.array([500, 700, 300, 700, 300, 700, 300, 500], dtype=float)
    y_units = np.array([-800, -400, -400, 0, 0, 400, 400, 800], dtype=float)
    x_mm = (abs_x - 500.0) * GAITPDB_UNIT_TO_MM
    y_mm = 130.0 + y_units * GAITPDB_UNIT_TO_MM
    region = ("heel", "heel", "heel", "midfoot", "midfoot", "forefoot", "forefoot", "toes")
    zone = ("central", "lateral", "medial", "lateral", "medial", "lateral", "medial", "central")
    prefix = "L" if side == "left" else "R"
    return SensorLayout(
        x_mm=x_mm, y_mm=y_mm, region=region, ml_zone=zone,
        names=tuple(f"{prefix}{i}" for i in range(1, 9)), layout_id="gaitpdb-8",
    )


def gaitpf16_layout() -> SensorLayout:
    """The standard 16-sensor gaitpf insole (260 mm), 12 mm round FSRs (113 mm²).

    Heel 3 (medial/central/lateral), midfoot 3 (lateral arch ×2, central), forefoot 6
    (metatarsal heads 1, 2, 3, 4, 5 and a central pad behind heads 2–3), toes 4
    (hallux, toe 2, toes 3–4, toe 5).
    """
    pts = [
        ("heel_med", -14.0, 30.0), ("heel_cen", 0.0, 45.0), ("heel_lat", 15.0, 30.0),
        ("mid_cen", 3.0, 100.0), ("mid_lat1", 24.0, 95.0), ("mid_lat2", 28.0, 125.0),
        ("mth1", -30.0, 178.0), ("mth2", -14.0, 185.0), ("mth3", 2.0, 184.0),
        ("mth4", 20.0, 179.0), ("mth5", 34.0, 170.0), ("fore_cen", -6.0, 160.0),
        ("hallux", -26.0, 238.0), ("toe2", -7.0, 236.0), ("toe34", 9.0, 228.0), ("toe5", 22.0, 215.0),
    ]
    names, x, y = zip(*pts)
    x_mm, y_mm = np.array(x), np.array(y)
    return SensorLayout(
        x_mm=x_mm, y_mm=y_mm, region=region_of(y_mm), ml_zone=ml_zone_of(x_mm, y_mm),
        names=tuple(names), layout_id="gaitpf-16", area_mm2=np.full(16, np.pi * 6.0**2),
    )


def _inside(x: np.ndarray, y: np.ndarray, margin_mm: float = 0.0) -> np.ndarray:
    med, lat = _edges(y)
    # the margin is measured along x and y; where the edge slants, shrink it by the slope
    dy = 1.0
    med2, lat2 = _edges(y + dy)
    k_med = np.sqrt(1.0 + ((med2 - med) / dy) ** 2)
    k_lat = np.sqrt(1.0 + ((lat2 - lat) / dy) ** 2)
    return ((y > margin_mm) & (y < INSOLE_LENGTH_MM - margin_mm)
            & (x > med + margin_mm * k_med) & (x < lat - margin_mm * k_lat))


def _grid(pitch: float) -> tuple[np.ndarray, np.ndarray]:
    xs = np.arange(_MEDIAL.min() + pitch / 2, _LATERAL.max(), pitch)
    ys = np.arange(pitch / 2, INSOLE_LENGTH_MM, pitch)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    keep = _inside(gx, gy, margin_mm=0.5)  # strictly inside, even at the bisection boundary
    return gx[keep], gy[keep]


def grid_layout(n_sensels: int) -> SensorLayout:
    """A dense square grid of exactly ``n_sensels`` sensels inside :func:`foot_outline_mm`.

    The pitch is the largest one whose grid holds at least ``n_sensels`` points inside
    the outline; surplus points closest to the outline edge are dropped. Sensel area is
    pitch². Layout id ``"grid-<n>"``; names ``"s0000"``… row by row from the heel.
    """
    if not isinstance(n_sensels, (int, np.integer)) or n_sensels < 1:
        raise SignalError(f"grid_layout needs a positive number of sensels, got {n_sensels!r}")
    area_mm2 = 0.5 * INSOLE_LENGTH_MM * float(np.mean(_LATERAL - _MEDIAL)) * 2.0
    lo, hi = np.sqrt(area_mm2 / (8.0 * n_sensels)), 300.0  # lo holds >= n points, hi holds none
    if n_sensels > 100_000 or len(_grid(lo)[0]) < n_sensels:
        raise SignalError(f"grid_layout: {n_sensels} sensels do not fit a {INSOLE_LENGTH_MM:.0f} mm insole")
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if len(_grid(mid)[0]) >= n_sensels:
            lo = mid
        else:
            hi = mid
    x, y = _grid(lo)
    if len(x) > n_sensels:
        med, lat = _edges(y)
        clearance = np.minimum.reduce([x - med, lat - x, y, INSOLE_LENGTH_MM - y])
        keep = np.sort(np.argsort(-clearance, kind="stable")[:n_sensels])
        x, y = x[keep], y[keep]
    order = np.lexsort((x, y))
    x, y = x[order], y[order]
    return SensorLayout(
        x_mm=x, y_mm=y, region=region_of(y), ml_zone=ml_zone_of(x, y),
        names=tuple(f"s{i:04d}" for i in range(n_sensels)), layout_id=f"grid-{n_sensels}",
        area_mm2=np.full(n_sensels, lo * lo),
    )


#: Layout ids accepted by name (CSV headers, simulator).
STANDARD_LAYOUTS: tuple[str, ...] = ("gaitpdb-8", "gaitpf-16", "grid-<n>")


def standard_layout(layout_id: str, side: str = "left") -> SensorLayout:
    """Return a standard layout by id (``gaitpdb-8``, ``gaitpf-16``, ``grid-<n>``)."""
    if layout_id == "gaitpdb-8":
        return gaitpdb_layout(side)
    if layout_id == "gaitpf-16":
        return gaitpf16_layout()
    if layout_id.startswith("grid-") and layout_id[5:].isdigit():
        return grid_layout(int(layout_id[5:]))
    raise SignalError(f"unknown sensor layout {layout_id!r}; use one of {', '.join(STANDARD_LAYOUTS)}")
