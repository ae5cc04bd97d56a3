"""A parametric, vectorised gait model with exact ground truth (the virtual insoles).

1. **Events first** (:mod:`gaitpf.sim.gait_events`). Per walking bout, stride times
   follow a serially correlated AR(1) series with the requested coefficient of
   variation; the right initial contact (IC) sits half a stride after the left one;
   each stance lasts ``stance_pct`` of its stride, shortened on the affected
   (antalgic) side and lengthened on the other so that the stance-time symmetry index
   ``SI = 100·(unaffected − affected)/mean`` equals ``step_time_asymmetry_pct``.
   A trial is standing – walking – pause/turn – walking … – standing
   (:class:`WalkingBouts`).
2. **Then force**, for every sample at once (:mod:`gaitpf.sim.pressure`): each sample
   gets its stance fraction ``u`` and a standing weight by linear interpolation between
   per-stance knots, then the double-hump force curve distributed over the sensors.
   Rendering runs in fixed blocks of :data:`BLOCK_SAMPLES` samples with a random stream
   seeded per block, so the data are identical whatever chunk size a caller streams
   with, and memory stays bounded for hour-long 1000-sensel trials.

Sample convention (as :func:`gaitpf.analysis.events.detect_stance_phases`): ``ic_idx``
is the first loaded sample, ``to_idx`` the first unloaded sample after the stance.
"""
from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import pandas as pd

from ..errors import InputError
from ..layouts import gaitpdb_layout, gaitpf16_layout, grid_layout
from ..model import SIDES, FootSignals, Recording, SensorLayout
from . import pressure
from .gait_events import EventTimeline

__all__ = [
    "WalkingBouts",
    "GaitParams",
    "GaitSimulator",
    "SimChunk",
    "simulate_trial",
    "iter_frames",
    "expected_metrics",
    "layout_for",
    "BLOCK_SAMPLES",
]

log = logging.getLogger(__name__)

G_MPS2 = 9.80665
#: Samples per rendering block (fixed: the random stream is seeded per block).
BLOCK_SAMPLES = 4096


@dataclass(frozen=True)
class WalkingBouts:
    """When the virtual subject stands, walks, and pauses (turns).

    Parameters
    ----------
    standing_start_s, standing_end_s : float
        Quiet standing at the start / end of the trial, s (start ≥ 0.5 s).
    n_bouts : int
        Walking bouts in a trial of fixed duration; consecutive bouts are separated by a
        pause of ``pause_s`` (a turn at the end of a walkway). Default 2 (one pause
        halfway).
    pause_s : float
        Standing pause between bouts, s (≥ 1).
    bout_s : float
        Walking time of each bout when streaming without an end (``duration_s=None``), s.
    """

    standing_start_s: float = 3.0
    standing_end_s: float = 3.0
    n_bouts: int = 2
    pause_s: float = 2.0
    bout_s: float = 60.0


@dataclass(frozen=True)
class GaitParams:
    """Parameters of the virtual subject, gait and insoles.

    Parameters
    ----------
    cadence_spm : float
        Steps per minute (stride time = 120 / cadence s). Default 108.
    stance_pct : float
        Mean stance time, % of stride time. Default 61.
    step_time_asymmetry_pct : float
        Stance-time symmetry index, %: the affected side's stance is shorter,
        ``100·(unaffected − affected)/((unaffected + affected)/2)`` (swing times differ
        accordingly; the step phase stays 50 %). Needs ``affected_side`` when non-zero.
    load_asymmetry_pct : float
        Symmetry index of the force amplitude, %: the affected foot is unloaded.
    affected_side : {"left", "right", None}
        Painful side (plantar fasciitis), None for a symmetric subject.
    heel_offload_pct : float
        The affected foot's heel carries this much less force, % (relative); the load
        moves forward to the midfoot (1/3) and forefoot (2/3), total unchanged.
    stride_cv_pct : float
        Coefficient of variation of stride time, %. Default 2 (healthy adults).
    stride_ar1_coef : float
        Lag-1 autocorrelation of the stride-time series (0 = white). Default 0.6.
    peak_cv_pct : float
        Stride-to-stride variation of the force amplitude, %. Default 3.
    region_cv_pct : float
        Stride-to-stride variation of where the force sits: each stance multiplies the
        weights of the four contact areas (heel, midfoot, forefoot, toes) by independent
        log-normal factors with this CV, % (total force unchanged). Default 0; real
        regional load shares vary by a few percentage points per stride (``gaitpf demo``
        uses 20). Drawn from their own random stream: the events of a seed do not change.
    region_scale_left, region_scale_right : tuple of 4 floats
        Fixed factors of the four contact-area weights of each foot (foot-to-foot and
        session-to-session differences such as insole placement); default all 1.
    noise_pct : float
        SD of each sensor's white noise, % of (body weight / number of sensors).
    baseline_drift_n : float
        Amplitude of a slow (minutes) baseline offset of a foot's total reading, N.
    adc_step_n : float
        Quantisation step of each sensor, N (0 = none).
    body_mass_kg : float
        Body mass, kg. Default 70.
    n_sensors : int
        16 = ``gaitpf-16`` layout, 8 = ``gaitpdb-8``, otherwise a ``grid-<n>`` layout.
    sampling_rate_hz : float
        Default 100.
    walking_bouts : WalkingBouts
        Standing / walking / pause plan.
    seed : int
        Random seed: same seed and parameters → identical data.
    """

    cadence_spm: float = 108.0
    stance_pct: float = 61.0
    step_time_asymmetry_pct: float = 0.0
    load_asymmetry_pct: float = 0.0
    affected_side: str | None = None
    heel_offload_pct: float = 0.0
    stride_cv_pct: float = 2.0
    stride_ar1_coef: float = 0.6
    peak_cv_pct: float = 3.0
    region_cv_pct: float = 0.0
    region_scale_left: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    region_scale_right: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    noise_pct: float = 1.0
    baseline_drift_n: float = 0.0
    adc_step_n: float = 0.0
    body_mass_kg: float = 70.0
    n_sensors: int = 16
    sampling_rate_hz: float = 100.0
    walking_bouts: WalkingBouts = field(default_factory=WalkingBouts)
    seed: int = 0

    def __post_init__(self) -> None:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise InputError(f"gait model: {what}")

        need(40 <= self.cadence_spm <= 200, f"cadence_spm={self.cadence_spm} must be within 40–200 steps/min")
        need(self.affected_side in (None, "left", "right"),
             f"affected_side={self.affected_side!r} must be 'left', 'right' or None")
        need(self.affected_side is not None or (self.step_time_asymmetry_pct == 0 and self.load_asymmetry_pct == 0
                                                and self.heel_offload_pct == 0),
             "asymmetry and heel offload need affected_side ('left' or 'right')")
        a = self.step_time_asymmetry_pct
        need(0 <= a <= 40, f"step_time_asymmetry_pct={a} must be within 0–40")
        lo, hi = self.stance_pct * (1 - a / 200), self.stance_pct * (1 + a / 200)
        need(52 <= lo and hi <= 80,
             f"stance_pct={self.stance_pct} with asymmetry {a}% gives stance {lo:.1f}–{hi:.1f}% of stride; "
             "keep both within 52–80 %")
        need(0 <= self.load_asymmetry_pct <= 60, f"load_asymmetry_pct={self.load_asymmetry_pct} must be within 0–60")
        need(0 <= self.heel_offload_pct <= 90, f"heel_offload_pct={self.heel_offload_pct} must be within 0–90")
        need(0 <= self.stride_cv_pct <= 10, f"stride_cv_pct={self.stride_cv_pct} must be within 0–10")
        need(0 <= self.stride_ar1_coef < 1, f"stride_ar1_coef={self.stride_ar1_coef} must be within [0, 1)")
        need(0 <= self.peak_cv_pct <= 15, f"peak_cv_pct={self.peak_cv_pct} must be within 0–15")
        need(0 <= self.region_cv_pct <= 40, f"region_cv_pct={self.region_cv_pct} must be within 0–40")
        for name in ("region_scale_left", "region_scale_right"):
            v = getattr(self, name)
            need(len(tuple(v)) == 4 and all(0.2 <= float(x) <= 5 for x in v),
                 f"{name}={v!r} must be 4 factors within 0.2–5 (heel, midfoot, forefoot, toes)")
        need(0 <= self.noise_pct <= 20, f"noise_pct={self.noise_pct} must be within 0–20")
        need(self.baseline_drift_n >= 0 and self.adc_step_n >= 0, "baseline_drift_n and adc_step_n must be ≥ 0")
        need(20 <= self.body_mass_kg <= 250, f"body_mass_kg={self.body_mass_kg} must be within 20–250")
        need(isinstance(self.n_sensors, (int, np.integer)) and 1 <= self.n_sensors <= 5000,
             f"n_sensors={self.n_sensors!r} must be an integer within 1–5000")
        need(20 <= self.sampling_rate_hz <= 2000, f"sampling_rate_hz={self.sampling_rate_hz} must be within 20–2000")
        wb = self.walking_bouts
        need(isinstance(wb, WalkingBouts), "walking_bouts must be a WalkingBouts")
        need(wb.standing_start_s >= 0.5 and wb.standing_end_s >= 0 and wb.pause_s >= 1.0 and wb.n_bouts >= 1
             and wb.bout_s >= 5, f"walking_bouts {wb} needs standing_start_s ≥ 0.5, pause_s ≥ 1, n_bouts ≥ 1, "
                                 "bout_s ≥ 5")

    @property
    def stride_time_s(self) -> float:
        """Mean stride time, s (120 / cadence)."""
        return 120.0 / self.cadence_spm

    @property
    def body_weight_n(self) -> float:
        return self.body_mass_kg * G_MPS2

    def side_factors(self, side: str) -> tuple[float, float, float]:
        """(stance fraction, load factor, heel scale) of ``side``."""
        sign = 0 if self.affected_side is None else (-1 if side == self.affected_side else 1)
        stance = self.stance_pct / 100.0 * (1 + sign * self.step_time_asymmetry_pct / 200.0)
        load = 1 + sign * self.load_asymmetry_pct / 200.0
        heel = 1 - self.heel_offload_pct / 100.0 if side == self.affected_side else 1.0
        return stance, load, heel

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def layout_for(n_sensors: int, side: str) -> SensorLayout:
    """The standard layout for ``n_sensors``: gaitpf-16, gaitpdb-8 or grid-<n>."""
    if n_sensors == 16:
        return gaitpf16_layout()
    if n_sensors == 8:
        return gaitpdb_layout(side)
    return grid_layout(int(n_sensors))


def expected_metrics(params: GaitParams) -> dict[str, Any]:
    """Nominal (noise-free) metrics the model was asked for, per side (JSON-able)."""
    stride = params.stride_time_s
    out: dict[str, Any] = {"stride_time_s": stride, "cadence_spm": params.cadence_spm}
    for side in SIDES:
        frac, load, heel = params.side_factors(side)
        out[side] = {"stance_time_s": frac * stride, "swing_time_s": (1 - frac) * stride,
                     "stance_pct": 100 * frac, "load_factor": load, "heel_scale": heel}
    sl, sr = out["left"]["stance_time_s"], out["right"]["stance_time_s"]
    out["stance_time_si_pct"] = 100.0 * (sr - sl) / (0.5 * (sr + sl))  # (right − left), %
    return out


@dataclass
class SimChunk:
    """A block of virtual-insole frames.

    Attributes
    ----------
    start_idx : int
        Sample index of the first frame.
    time_s : ndarray, shape (m,)
        Time of each frame from the start of the trial, s.
    values : dict {"left", "right": ndarray of float32, shape (m, n_sensors)}
        Force per sensor, N.
    events : dict {"left", "right": DataFrame(ic_idx, to_idx)}
        True stance phases ending in this chunk, ``start_idx < to_idx <= start_idx + m``
        (each stance is reported once).
    """

    start_idx: int
    time_s: np.ndarray
    values: dict[str, np.ndarray]
    events: dict[str, pd.DataFrame]


class GaitSimulator:
    """Deterministic virtual trial; render any sample range on demand.

    Parameters
    ----------
    params : GaitParams
    duration_s : float or None
        Trial duration (standing start, ``n_bouts`` bouts, standing end), or ``None``
        for an endless stream of ``bout_s`` bouts separated by pauses.
    """

    def __init__(self, params: GaitParams, duration_s: float | None = None) -> None:
        self.params = params
        self.fs = float(params.sampling_rate_hz)
        self.duration_s = duration_s
        self.n_samples = None if duration_s is None else int(round(duration_s * self.fs))
        self.layouts = {s: layout_for(params.n_sensors, s) for s in SIDES}
        self._area_to_sensor = {s: pressure.footprints(self.layouts[s]) for s in SIDES}
        ss = np.random.SeedSequence(int(params.seed))
        self._entropy = ss.entropy
        self._events = EventTimeline(params, duration_s, np.random.default_rng(ss.spawn(1)[0]))
        self._drift = self._drift_params()
        self._region: dict[str, np.ndarray] = {s: np.ones((0, 4)) for s in SIDES}
        self._cache: dict[str, tuple[int, np.ndarray]] = {}

    # -- events ------------------------------------------------------------------------
    def truth(self, side: str, upto_idx: int | None = None) -> pd.DataFrame:
        """True stance phases (``ic_idx``, ``to_idx``, int64) with a real IC and TO.

        Includes the stances that span a pause (IC of a bout's last step, TO of the next
        bout's first step); excludes the loaded stretches cut by the trial's start/end.
        ``upto_idx`` limits to stances with ``to_idx <= upto_idx`` (needed when endless).
        """
        return self._events.truth(side, upto_idx)

    def standing_periods(self) -> pd.DataFrame:
        """Annotations (kind ``"standing"``) of the periods with both feet still."""
        return self._events.standing_periods()

    # -- rendering -----------------------------------------------------------------------
    def _drift_params(self) -> dict[str, np.ndarray]:
        rng = np.random.default_rng([self._entropy, 7])
        return {s: np.column_stack([rng.uniform(60, 300, 3), rng.uniform(0, 2 * np.pi, 3)]) for s in SIDES}

    def _region_factors(self, side: str, n_intervals: int) -> np.ndarray | None:
        """Per-stance contact-area factors (n_intervals, 4): fixed foot scale × log-normal stride factors.

        From a stream of their own (seeded by the trial seed and the side) and prefix-stable,
        so the same stance gets the same factors however far the timeline has grown.
        """
        p = self.params
        scale = np.asarray(p.region_scale_left if side == "left" else p.region_scale_right, float)
        if p.region_cv_pct <= 0 and np.all(scale == 1.0):
            return None
        have = self._region[side]
        if have.shape[0] < n_intervals:
            rng = np.random.Generator(np.random.SFC64(np.random.SeedSequence([self._entropy, 20 + SIDES.index(side)])))
            sd = math.sqrt(math.log1p((p.region_cv_pct / 100.0) ** 2))
            z = rng.standard_normal((max(n_intervals, 2 * have.shape[0], 64), 4))
            self._region[side] = np.exp(sd * z - 0.5 * sd * sd)
        return self._region[side][:n_intervals] * scale[None, :]

    def _render_block(self, block_no: int, side: str) -> np.ndarray:
        """One foot's frames of rendering block ``block_no`` (cached: the latest block per foot)."""
        cached = self._cache.get(side)
        if cached is not None and cached[0] == block_no:
            return cached[1]
        p = self.params
        n0 = block_no * BLOCK_SAMPLES
        n = np.arange(n0, n0 + BLOCK_SAMPLES, dtype=np.int64)
        t = n / self.fs
        self._events.extend_to(t[-1])
        a = self._events.arrays(side)
        k = np.searchsorted(a["start_idx"], n, side="right") - 1
        kc = np.clip(k, 0, None)
        loaded = (k >= 0) & (n < a["end_idx"][kc])
        u = np.interp(t, a["u_t"], a["u_v"])
        w = np.interp(t, a["w_t"], a["w_v"])
        _, load, heel = p.side_factors(side)
        region = self._region_factors(side, len(a["amp"]))
        clean = pressure.render_force(
            u, w, loaded, a["amp"][kc], body_weight_n=p.body_weight_n, load_factor=load,
            heel_scale=heel, area_to_sensor=self._area_to_sensor[side],
            area_scale=None if region is None else region[kc],
        )
        offset = None
        if p.baseline_drift_n > 0:
            per, ph = self._drift[side][:, 0], self._drift[side][:, 1]
            wave = np.sin(2 * np.pi * t[:, None] / per[None, :] + ph[None, :]) @ np.array([0.5, 0.3, 0.2])
            offset = p.baseline_drift_n * 0.5 * (1 + wave) / p.n_sensors
        seed = np.random.SeedSequence([self._entropy, 1 + SIDES.index(side), block_no])
        out = pressure.apply_sensor_model(
            clean, rng=np.random.Generator(np.random.SFC64(seed)),
            noise_sd_n=p.noise_pct / 100.0 * p.body_weight_n / p.n_sensors, offset_n=offset,
            adc_step_n=p.adc_step_n,
        )
        self._cache[side] = (block_no, out)
        return out

    def render(self, start_idx: int, stop_idx: int, sides: tuple[str, ...] = SIDES) -> dict[str, np.ndarray]:
        """Force per sensor (N, float32, a fresh array) of samples ``start_idx`` … ``stop_idx − 1``.

        Parameters
        ----------
        start_idx, stop_idx : int
            Sample range (any range; endless simulators extend their events as needed).
        sides : tuple of str
            Feet to render (a single virtual insole renders only its own).
        """
        if not 0 <= start_idx <= stop_idx:
            raise InputError(f"render range [{start_idx}, {stop_idx}) is not a valid sample range")
        out = {}
        for s in sides:
            parts = []
            b = start_idx // BLOCK_SAMPLES
            while b * BLOCK_SAMPLES < stop_idx:
                lo = max(start_idx - b * BLOCK_SAMPLES, 0)
                hi = min(stop_idx - b * BLOCK_SAMPLES, BLOCK_SAMPLES)
                parts.append(self._render_block(b, s)[lo:hi])
                b += 1
            if not parts:
                out[s] = np.zeros((0, self.params.n_sensors), np.float32)
            else:
                out[s] = np.concatenate(parts) if len(parts) > 1 else parts[0].copy()
        return out

    def chunks(self, chunk_samples: int) -> Iterator[SimChunk]:
        """Consecutive :class:`SimChunk` of ``chunk_samples`` frames (to the end, or forever)."""
        if chunk_samples < 1:
            raise InputError(f"chunk size must be ≥ 1 sample, got {chunk_samples}")
        start = 0
        while self.n_samples is None or start < self.n_samples:
            stop = start + chunk_samples if self.n_samples is None else min(start + chunk_samples, self.n_samples)
            values = self.render(start, stop)
            events = {s: self._events.events_between(s, start, stop) for s in SIDES}
            yield SimChunk(start, np.arange(start, stop) / self.fs, values, events)
            start = stop

    def recording_metadata(self) -> dict[str, Any]:
        return {"importer": "simulate", "name": "simulated trial", "params": self.params.as_dict(),
                "expected": expected_metrics(self.params), "duration_s": self.duration_s}

    def device(self, side: str) -> dict[str, Any]:
        return {"model": "gaitpf virtual insole", "serial": f"sim-{side}", "importer": "simulate",
                "layout_id": self.layouts[side].layout_id}


def simulate_trial(params: GaitParams, *, duration_s: float) -> tuple[Recording, dict[str, pd.DataFrame]]:
    """Simulate one trial of ``duration_s`` seconds with exact ground truth.

    Parameters
    ----------
    params : GaitParams
    duration_s : float
        Trial duration, s (must hold the standing periods, pauses and ≥ 2.5 strides per bout).

    Returns
    -------
    recording : Recording
        Both feet, unit ``"N"``, standard layouts, ``subject_id="sim"``,
        ``source={"importer": "simulate", "params": ..., "expected": ...}``, standing
        periods as annotations, ``truth`` set.
    truth : dict {"left", "right": DataFrame(ic_idx, to_idx)}
        True stance phases (same object as ``recording.truth``).
    """
    sim = GaitSimulator(params, duration_s)
    n = sim.n_samples
    values = {s: np.empty((n, params.n_sensors), np.float32) for s in SIDES}
    for b in range(math.ceil(n / BLOCK_SAMPLES)):
        lo, hi = b * BLOCK_SAMPLES, min((b + 1) * BLOCK_SAMPLES, n)
        blk = sim.render(lo, hi)
        for s in SIDES:
            values[s][lo:hi] = blk[s]
    truth = {s: sim.truth(s) for s in SIDES}
    feet = {
        s: FootSignals(side=s, values=values[s], unit="N", sampling_rate_hz=sim.fs, layout=sim.layouts[s],
                       device=sim.device(s))
        for s in SIDES
    }
    rec = Recording(feet=feet, subject_id="sim", body_mass_kg=params.body_mass_kg,
                    source=sim.recording_metadata(), annotations=sim.standing_periods(), truth=truth)
    log.debug("simulated %.1f s, %s strides", duration_s, {s: len(truth[s]) for s in SIDES})
    return rec, truth


def iter_frames(params: GaitParams, *, chunk_s: float, duration_s: float | None = None) -> Iterator[SimChunk]:
    """Stream a virtual trial in chunks (forever when ``duration_s`` is None).

    The frames are identical to :func:`simulate_trial`'s for the same parameters and
    duration, whatever ``chunk_s``. Memory stays bounded (one rendering block).

    Parameters
    ----------
    params : GaitParams
    chunk_s : float
        Chunk length, s (rounded to whole samples, at least one).
    duration_s : float, optional
        Trial duration, s; ``None`` streams standing then endless bouts of
        ``walking_bouts.bout_s`` with pauses.
    """
    sim = GaitSimulator(params, duration_s)
    yield from sim.chunks(max(1, int(round(chunk_s * sim.fs))))
