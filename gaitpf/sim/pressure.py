"""Per-sensor plantar force of one foot from its stance phase, vectorised over samples.

Model
-----
* **Vertical ground reaction force** of a stance, normalised to body weight (BW), as a
  function of the stance fraction ``u`` in [0, 1]: the classic double hump (M shape) —
  a steep loading rise from 0 (heel strike), a first peak of 1.15 BW at 25 % stance
  (weight acceptance), a 0.80 BW valley at mid-stance, a second peak of 1.12 BW at
  76 % (push-off) and a fast unloading to 0 at toe-off. Shape after Winter DA,
  *Biomechanics and Motor Control of Human Movement* (4th ed., 2009), fig. 5.23, and
  Perry J, Burnfield JM, *Gait Analysis* (2nd ed., 2010). The curve is a monotone cubic
  (PCHIP) through those control points, so it never overshoots.
* **Where the force sits**: four anatomical contact areas — heel, lateral midfoot,
  forefoot (metatarsal heads), toes (hallux) — each a Gaussian footprint in the insole
  frame. Their weights roll over the stance (heel → midfoot → forefoot → toes), so the
  centre of pressure, the weighted mean of the areas, rolls from the heel to the toes
  (heel-to-toe roll-over, Perry & Burnfield ch. 4). Each footprint is normalised over
  the sensors of the layout, so the sensors of a foot always sum exactly to the
  rendered total force, whatever the layout (8, 16 or ~1000 sensels).
* **Standing** blends to a still posture: each foot carries half the body weight
  (times its load-asymmetry factor) with 55 % of it on the heel.
* **Sensor model**: white noise per sensor, an optional slow baseline offset, clipping
  at 0 and a dead band of two noise SDs (FSR activation threshold: an unloaded sensor
  reads exactly 0), optional ADC quantisation.

All functions are pure and vectorised; the rendering of a block of samples is one
matrix product ``(samples x 4 areas) @ (4 areas x sensors)``.

Pressure per sensor (known limitation)
--------------------------------------
Because the sensors of a foot share the whole force, each sensor reads the load of the
part of the sole nearest to it. That is a pressure × area only where the sensors tile the
sole: on a ``grid-<n>`` layout (sensel area = pitch²) the peak pressures come out at about
400 kPa under the heel and 240–260 kPa under the forefoot and toes (grid-64 and grid-99,
30 s, seed 1), within the in-shoe ranges of healthy adults walking (roughly 200–500 kPa,
e.g. Putti AB et al., *Gait Posture* 2007;25:401, Pedar in-shoe normal values). The
``gaitpf-16`` layout declares 12 mm discs (113 mm², together 10 % of the 18 200 mm²
sole), so ``force / disc area`` gives 1500–2800 kPa under the heel discs: at heel strike
the whole heel load (≈ 1 BW) sits on three discs. No per-sensor force can be realistic
for those discs *and* sum to the ground reaction force, which the event detection (load
thresholds in body weights) and the kinetic metrics (%BW) rely on. A faithful disc model
needs the analysis to estimate the total force from the disc pressures and each sensor's
share of the sole (Σ pᵢ·Tᵢ) instead of summing the readings.
"""
from __future__ import annotations

import numpy as np
from scipy.interpolate import PchipInterpolator

from ..model import SensorLayout

__all__ = [
    "grf_bw",
    "contact_weights",
    "STANDING_WEIGHTS",
    "AREA_NAMES",
    "footprints",
    "render_force",
    "apply_sensor_model",
]

# --- vertical ground reaction force (fraction of body weight) vs stance fraction -----
_GRF_U = np.array([0.0, 0.03, 0.08, 0.16, 0.25, 0.38, 0.50, 0.62, 0.76, 0.86, 0.94, 1.0])
_GRF_BW = np.array([0.0, 0.42, 0.85, 1.08, 1.15, 0.95, 0.80, 0.92, 1.12, 0.92, 0.42, 0.0])
_GRF = PchipInterpolator(_GRF_U, _GRF_BW, extrapolate=True)

#: Contact areas, heel to toe.
AREA_NAMES: tuple[str, ...] = ("heel", "midfoot", "forefoot", "toes")

# Weight of each area vs stance fraction (unnormalised; rows normalised at use).
_AREA_U = np.array([0.0, 0.10, 0.20, 0.35, 0.50, 0.62, 0.72, 0.82, 0.90, 0.96, 1.0])
_AREA_W = np.array(
    [
        # heel   midfoot forefoot toes
        [1.00, 0.00, 0.00, 0.00],
        [1.00, 0.06, 0.02, 0.00],
        [0.90, 0.15, 0.10, 0.00],
        [0.60, 0.25, 0.30, 0.00],
        [0.30, 0.25, 0.55, 0.02],
        [0.08, 0.16, 0.80, 0.08],
        [0.00, 0.08, 0.85, 0.20],
        [0.00, 0.02, 0.70, 0.40],
        [0.00, 0.00, 0.45, 0.65],
        [0.00, 0.00, 0.22, 0.85],
        [0.00, 0.00, 0.10, 0.95],
    ]
)
_AREAS = PchipInterpolator(_AREA_U, _AREA_W, axis=0, extrapolate=True)

#: Area weights of quiet standing (heel, midfoot, forefoot, toes).
STANDING_WEIGHTS = np.array([0.55, 0.10, 0.30, 0.05])

# Centre (x_mm medial→lateral, y_mm heel→toe) and SD (mm) of each contact area on the
# 260 mm reference insole of gaitpf.layouts.
_AREA_CENTRE_MM = np.array([[1.0, 38.0], [22.0, 110.0], [-4.0, 180.0], [-18.0, 230.0]])
_AREA_SD_MM = np.array([[14.0, 18.0], [12.0, 28.0], [24.0, 16.0], [15.0, 14.0]])
_REFERENCE_LENGTH_MM = 260.0


def grf_bw(u: np.ndarray) -> np.ndarray:
    """Vertical ground reaction force of a stance, in body weights.

    Parameters
    ----------
    u : ndarray
        Stance fraction, 0 at initial contact, 1 at toe-off (clipped to [0, 1]).

    Returns
    -------
    ndarray
        Force / body weight (0 at ``u`` = 0 and 1, peaks 1.15 and 1.12, valley 0.80).
    """
    return np.clip(_GRF(np.clip(u, 0.0, 1.0)), 0.0, None)


def contact_weights(u: np.ndarray) -> np.ndarray:
    """Share of the force on each contact area (heel, midfoot, forefoot, toes).

    Parameters
    ----------
    u : ndarray, shape (n,)
        Stance fraction in [0, 1].

    Returns
    -------
    ndarray, shape (n, 4)
        Non-negative weights, each row summing to 1.
    """
    w = np.clip(_AREAS(np.clip(u, 0.0, 1.0)), 0.0, None)
    return w / w.sum(axis=1, keepdims=True)


def footprints(layout: SensorLayout) -> np.ndarray:
    """Distribution of each contact area over the sensors of ``layout``.

    Each area is a Gaussian footprint (centre and SD in mm on the 260 mm reference
    insole, scaled to the layout's length if its sensors extend beyond it) evaluated at
    the sensor centres and normalised to sum to 1 over the sensors, so no force is lost
    on sparse layouts (an area far from every sensor goes to the nearest ones).

    Returns
    -------
    ndarray of float32, shape (4, n_sensors)
    """
    x = np.asarray(layout.x_mm, dtype=float)
    y = np.asarray(layout.y_mm, dtype=float)
    scale = max(1.0, float(np.max(y)) / (0.95 * _REFERENCE_LENGTH_MM)) if len(y) else 1.0
    centre = _AREA_CENTRE_MM * scale
    sd = _AREA_SD_MM * scale
    d2 = ((x[None, :] - centre[:, :1]) / sd[:, :1]) ** 2 + ((y[None, :] - centre[:, 1:]) / sd[:, 1:]) ** 2
    d2 -= d2.min(axis=1, keepdims=True)  # nearest sensor gets weight 1: never all zero
    g = np.exp(-0.5 * d2)
    return (g / g.sum(axis=1, keepdims=True)).astype(np.float32)


def render_force(
    u: np.ndarray,
    standing_weight: np.ndarray,
    loaded: np.ndarray,
    amplitude: np.ndarray,
    *,
    body_weight_n: float,
    load_factor: float,
    heel_scale: float,
    area_to_sensor: np.ndarray,
    area_scale: np.ndarray | None = None,
) -> np.ndarray:
    """Noise-free per-sensor force of one foot for a block of samples.

    Parameters
    ----------
    u : ndarray, shape (n,)
        Stance fraction of each sample (ignored where not ``loaded``).
    standing_weight : ndarray, shape (n,)
        0 = walking stance, 1 = quiet standing; values between blend the two.
    loaded : ndarray of bool, shape (n,)
        Foot on the ground. Swing samples are exactly 0.
    amplitude : ndarray, shape (n,)
        Stride-to-stride amplitude factor of the stance (≈ 1).
    body_weight_n : float
        Body weight, N.
    load_factor : float
        Load-asymmetry factor of this foot (1 = symmetric).
    heel_scale : float
        Fraction of its force the heel area keeps (1 − heel offload); the rest moves to
        the midfoot (1/3) and forefoot (2/3) areas, so the total is unchanged.
    area_to_sensor : ndarray, shape (4, n_sensors)
        From :func:`footprints`.
    area_scale : ndarray, shape (n, 4), optional
        Factors of the four area weights per sample (stride-to-stride and foot-to-foot
        variation of where the force sits); rows are renormalised, so the total force is
        unchanged.

    Returns
    -------
    ndarray of float32, shape (n, n_sensors)
        Force per sensor, N. Row sums equal
        ``load_factor · BW · ((1 − s)·amplitude·grf_bw(u) + s·0.5)`` on loaded samples.
    """
    s = np.clip(standing_weight, 0.0, 1.0)
    total = body_weight_n * load_factor * ((1.0 - s) * amplitude * grf_bw(u) + s * 0.5)
    total = np.where(loaded, total, 0.0)
    areas = (1.0 - s)[:, None] * contact_weights(u) + s[:, None] * STANDING_WEIGHTS[None, :]
    if area_scale is not None:
        scaled = areas * area_scale
        areas = scaled / np.maximum(scaled.sum(axis=1, keepdims=True), 1e-12)
    if heel_scale != 1.0:  # offloaded heel force moves forward: 1/3 midfoot, 2/3 forefoot
        moved = areas[:, 0] * (1.0 - heel_scale)
        areas[:, 0] -= moved
        areas[:, 1] += moved / 3.0
        areas[:, 2] += moved * (2.0 / 3.0)
    areas *= total[:, None]
    return areas.astype(np.float32) @ area_to_sensor


def apply_sensor_model(
    clean: np.ndarray,
    *,
    rng: np.random.Generator,
    noise_sd_n: float,
    offset_n: np.ndarray | None,
    adc_step_n: float,
) -> np.ndarray:
    """Add sensor noise and offset, clip at 0, dead band, quantise (in place, returned).

    Parameters
    ----------
    clean : ndarray of float32, shape (n, n_sensors)
        Noise-free force per sensor, N. Modified in place.
    rng : numpy Generator
    noise_sd_n : float
        SD of the white noise of each sensor, N. Readings below twice this value become
        exactly 0 (activation threshold).
    offset_n : ndarray, shape (n,), optional
        Slow baseline offset added to every sensor, N.
    adc_step_n : float
        Quantisation step, N (0 = none).
    """
    out = clean
    if offset_n is not None:
        out += offset_n.astype(np.float32)[:, None]
    if noise_sd_n > 0:
        out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(noise_sd_n)
        out[out < 2.0 * noise_sd_n] = 0.0
    np.maximum(out, 0.0, out=out)
    if adc_step_n > 0:
        np.round(out / np.float32(adc_step_n), out=out)
        out *= np.float32(adc_step_n)
    return out
