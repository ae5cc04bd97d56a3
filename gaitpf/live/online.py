"""Online stance detection and running stride metrics of the live buffer.

:class:`OnlineAnalysis` is the analysis half of :class:`gaitpf.live.buffer.LiveBuffer`
(which inherits it): it reads the buffered frames and the per-foot state under the
buffer's lock and writes back confirmed stances and metrics.

Online event detection reuses the *offline* code on a sliding window
(:func:`gaitpf.analysis.preprocess.prepare_load` then
:func:`gaitpf.analysis.events.detect_stance_phases` on the last ``window_s`` seconds,
re-run every ``detect_every_s`` of new data). A stance phase is confirmed once
``confirm_s`` seconds of data follow its toe-off (so its edge searches see the same
samples as offline) and is never revised. ``tests/test_live_buffer.py`` shows that the
confirmed events equal the offline events within one sample on the same data.

Channel health (dead/flat channels, the ``channel_ok`` of ``prepare_load``) is re-estimated
every ``channel_check_s`` from the window; detection then sums the usable channels (NaN
propagates) and runs ``prepare_load`` on that one-column total, which is what the offline
path computes (baseline removal acts on the total).

Running metrics come from :func:`gaitpf.analysis.strides.build_stride_table` on the
recent confirmed stances (same stride definition, same steady-stride labels) and
symmetry from :func:`gaitpf.analysis.symmetry.symmetry_index_pct` /
:func:`~gaitpf.analysis.symmetry.symmetry_angle_pct` of the mean stance and swing times
of the last ``n_symmetry_strides`` steady strides per side.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ..analysis.events import detect_stance_phases
from ..analysis.preprocess import prepare_load
from ..analysis.strides import build_stride_table
from ..analysis.symmetry import symmetry_angle_pct, symmetry_index_pct
from ..errors import SignalError

__all__ = ["OnlineAnalysis", "HEALTHY_SI_PCT", "HEALTHY_SA_PCT", "healthy_band"]

log = logging.getLogger(__name__)


def _si_of_ratio(ratio: float) -> float:
    return float(symmetry_index_pct(1.0, ratio))


#: Healthy upper limits of |SI| (%) for stance and swing time: Patterson et al. (2010,
#: Gait Posture 31:241) give symmetry-ratio limits of 1.05 (stance) and 1.06 (swing);
#: ``SI = 200·(SR − 1)/(SR + 1)`` converts them (4.9 % and 5.8 %).
HEALTHY_SI_PCT: dict[str, float] = {"stance_time_s": _si_of_ratio(1.05), "swing_time_s": _si_of_ratio(1.06)}
#: The same limits as symmetry angles (Zifchock et al. 2008), %.
HEALTHY_SA_PCT: dict[str, float] = {
    "stance_time_s": float(symmetry_angle_pct(1.0, 1.05)),
    "swing_time_s": float(symmetry_angle_pct(1.0, 1.06)),
}


def healthy_band(metric: str, index: str = "si") -> float:
    """Healthy upper limit of |SI| or |SA| (%) for ``stance_time_s`` / ``swing_time_s``."""
    table = HEALTHY_SI_PCT if index == "si" else HEALTHY_SA_PCT
    return table[metric]


class OnlineAnalysis:
    """Online stance detection and running metrics; mixed into :class:`~gaitpf.live.buffer.LiveBuffer`.

    Uses the host's ``fs``, ``unit``, ``params``, ``body_weight_n``, ``window_n``,
    ``confirm_n``, ``guard_start_n``, ``channel_check_n``, ``block_n``, ``warmup_n``, ``early_n``,
    ``n_symmetry_strides``, ``_sides``, ``_lock``, ``_metrics``, ``version`` and
    ``metrics_version`` (all set by ``LiveBuffer.__init__``).
    """

    # ----------------------------------------------------------------- detection
    def _detect(self, side: str) -> None:
        st = self._sides[side]
        ring = st.ring
        with self._lock:
            sl = ring.last(self.window_n)
            # start the window on a block boundary of the offline block grid (block maxima /
            # minima of the load scale and the swing floor then cover the same samples)
            a0 = ring.n_total - (sl.stop - sl.start)
            shift = (-a0) % self.block_n
            sl = slice(sl.start + shift, sl.stop)
            n = sl.stop - sl.start
            a0 += shift
            need_check = st.channel_ok is None or ring.n_total - st.channel_checked_at >= self.channel_check_n
            values = ring.values[sl].copy()
            times = ring.time_s[sl].copy()
            gcum = ring.gap_cum[sl].copy()
            st.detected_at = ring.n_total
        # before one baseline window of data ("early"), events are found on what there is
        # but only shown as provisional: nothing is confirmed and the channel health is
        # not kept, so the confirmed events stay those of the offline detector
        early = n < self.warmup_n
        if n < max(self.guard_start_n + self.confirm_n, 3) or (early and n < self.early_n):
            return
        channel_ok = st.channel_ok
        if need_check or early:
            sub = values
            if values.size > 250_000:  # large insoles: a decimated window is plenty for health
                sub = values[:: int(np.ceil(values.size / 250_000))]
            try:
                channel_ok = prepare_load(sub, sampling_rate_hz=self.fs, unit=self.unit,
                                          params=self.params.preprocess).channel_ok
            except SignalError:
                return  # nothing loaded yet (all flat): try again with more data
            if not early:
                st.channel_ok, st.channel_checked_at = channel_ok, a0 + n
        total = values[:, channel_ok].sum(axis=1, dtype=np.float64)
        try:
            prep = prepare_load(total, sampling_rate_hz=self.fs, unit=self.unit, params=self.params.preprocess)
        except SignalError:
            return
        found = detect_stance_phases(prep.load, sampling_rate_hz=self.fs, params=self.params.events,
                                     body_weight_n=self.body_weight_n, invalid=prep.invalid)
        ic = found["ic_idx"].to_numpy()
        to = found["to_idx"].to_numpy()
        last_to = st.stances[-1][1] if st.stances else -1
        fresh = (ic + a0) > last_to
        ok = fresh & (to <= n - 1 - self.confirm_n) & ((ic >= self.guard_start_n) | (a0 == 0))
        if early:
            ok = np.zeros_like(ok)
        new = [(int(i + a0), int(o + a0), float(times[i]), float(times[o]), int(gcum[i]), int(gcum[o]))
               for i, o in zip(ic[ok], to[ok])]
        prov = [(float(times[i]), float(times[o])) for i, o in zip(ic[fresh & ~ok], to[fresh & ~ok])]
        with self._lock:
            st.provisional = prov
            if new:
                st.stances.extend(new)
                del st.stances[:-500]
                self._metrics = self._compute_metrics()
                self.metrics_version += 1
            if not self._metrics["si_pct"] and len(self._sides) == 2:
                first = self._early_symmetry()
                if first != self._metrics.get("early"):
                    self._metrics["early"] = first
                    self.metrics_version += 1
            self.version += 1

    def _early_symmetry(self) -> dict[str, Any] | None:
        """Symmetry of the first strides, before steady strides exist. Lock held.

        Every stance found so far (confirmed and provisional) counts, acceleration strides
        included (the steady-stride rule excludes them later): stance = TO − IC, swing =
        next IC − TO, s; mean per side; SI and SA of the means as for the running symmetry.
        None until each foot has one complete stride (two contacts).
        """
        means: dict[str, dict[str, float]] = {"stance_time_s": {}, "swing_time_s": {}}
        n: dict[str, int] = {}
        for side, st in self._sides.items():
            ev = sorted({(round(r[2], 4), round(r[3], 4)) for r in st.stances[-20:]} | set(st.provisional))
            if len(ev) < 2:
                return None
            ic = np.array([e[0] for e in ev])
            to = np.array([e[1] for e in ev])
            stance, swing = to[:-1] - ic[:-1], ic[1:] - to[:-1]
            ok = (stance > 0) & (swing > 0)
            if not ok.any():
                return None
            n[side] = int(ok.sum())
            means["stance_time_s"][side] = float(stance[ok].mean())
            means["swing_time_s"][side] = float(swing[ok].mean())
        return {"n_strides": n,
                "si_pct": {m: float(symmetry_index_pct(v["left"], v["right"])) for m, v in means.items()},
                "sa_pct": {m: float(symmetry_angle_pct(v["left"], v["right"])) for m, v in means.items()}}

    def stances(self, side: str) -> pd.DataFrame:
        """All confirmed stance phases of ``side`` (absolute frame indices)."""
        with self._lock:
            rows = list(self._sides[side].stances)
        return pd.DataFrame({"ic_idx": np.array([r[0] for r in rows], np.int64),
                             "to_idx": np.array([r[1] for r in rows], np.int64)})

    # ----------------------------------------------------------------- metrics
    def _empty_metrics(self) -> dict[str, Any]:
        return {"n_strides": {s: 0 for s in self._sides}, "n_steady": {s: 0 for s in self._sides},
                "cadence_spm": None, "stance_time_s": {}, "swing_time_s": {}, "stance_pct": {},
                "swing_pct": {}, "si_pct": {}, "sa_pct": {}, "n_symmetry_strides": self.n_symmetry_strides,
                "history": [], "early": None}

    def _compute_metrics(self) -> dict[str, Any]:
        """Stride table of the recent stances (compact indices) → running metrics. Lock held."""
        keep = self.n_symmetry_strides + self.params.strides.median_window + 4
        stances, times, gaps = {}, {}, {}
        n_strides = {}
        for side, st in self._sides.items():
            rows = st.stances[-keep:]
            n_strides[side] = max(len(st.stances) - 1, 0)
            if not rows:
                continue
            # compact index space: events 2j (IC) and 2j+1 (TO) of the kept stances
            t = np.array([[r[2], r[3]] for r in rows]).ravel()
            g = np.array([[r[4], r[5]] for r in rows]).ravel()
            gap_before = np.diff(np.concatenate([[g[0]], g])) > 0
            stances[side] = pd.DataFrame({"ic_idx": np.arange(0, 2 * len(rows), 2, dtype=np.int64),
                                          "to_idx": np.arange(1, 2 * len(rows), 2, dtype=np.int64)})
            times[side], gaps[side] = t, gap_before
        out = self._empty_metrics()
        out["n_strides"] = n_strides
        out["history"] = self._metrics.get("history", [])
        if not stances:
            return out
        table = build_stride_table(stances, times_s=times, sampling_rate_hz=self.fs, params=self.params.strides,
                                   gap_before=gaps)
        steady = table[table["steady"]]
        means: dict[str, dict[str, float]] = {"stance_time_s": {}, "swing_time_s": {}}
        for side in self._sides:
            rows = steady[steady["side"] == side].tail(self.n_symmetry_strides)
            out["n_steady"][side] = int(len(rows))
            if len(rows):
                for col in ("stance_time_s", "swing_time_s", "stance_pct", "swing_pct"):
                    out[col][side] = float(rows[col].mean())
                for col in means:
                    means[col][side] = float(rows[col].mean())
        recent = steady.sort_values("ic_s").tail(2 * self.n_symmetry_strides)
        out["cadence_spm"] = float(recent["cadence_spm"].median()) if len(recent) else None
        if len(self._sides) == 2:
            for col, m in means.items():
                if "left" in m and "right" in m:
                    out["si_pct"][col] = float(symmetry_index_pct(m["left"], m["right"]))
                    out["sa_pct"][col] = float(symmetry_angle_pct(m["left"], m["right"]))
            if out["si_pct"]:
                t_now = float(table["next_ic_s"].max())
                hist = out["history"] + [(t_now, out["si_pct"].get("stance_time_s", np.nan),
                                          out["si_pct"].get("swing_time_s", np.nan))]
                out["history"] = hist[-300:]
        return out
