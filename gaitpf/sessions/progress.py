"""Sessions versus baseline: per-session estimates with CIs, change, MDC and trend.

Input: :class:`~gaitpf.sessions.compare.SessionData` in session order (the first usable
one is the baseline). Output: a :class:`Progress` with

* ``table`` — one row per session × metric: left/right means with 95 % CIs, the
  asymmetry magnitude of the chosen index (|SI|, |SA|, GA or max(SR, 1/SR)) with its CI,
  the signed index, and the change versus baseline in absolute units (percentage
  *points* for % indices) and relative (%), each with its CI, and whether the absolute
  change exceeds the MDC95;
* ``sessions`` — one row per session: metadata (date, treatment, pain), cadence and
  walking speed (they confound symmetry), steady strides, inclusion and notes;
* ``mdc`` and ``trend`` per metric, a ``headline`` sentence and ``left_out`` notes.

No file I/O here (the trials were read by :mod:`gaitpf.sessions.compare`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import reliability, stats
from .compare import KINETIC_METRICS, SessionData
from .metadata import missing_fields

__all__ = ["Progress", "compute_progress", "describe_change", "metric_label", "CADENCE_CHANGE_PCT"]

log = logging.getLogger(__name__)

#: Cadence change versus baseline (%) above which the report warns of a speed confound.
CADENCE_CHANGE_PCT = 5.0

_METRIC_LABELS = {
    "stance_time_s": "stance-time", "swing_time_s": "swing-time", "stride_time_s": "stride-time",
    "step_time_s": "step-time", "single_support_s": "single-support", "stance_pct": "stance-%",
    "peak_force_1_pct_bw": "first-peak-force", "peak_force_2_pct_bw": "second-peak-force",
    "impulse_pct_bw_s": "impulse", "heel_load_pct": "heel-load", "midfoot_load_pct": "midfoot-load",
    "forefoot_load_pct": "forefoot-load", "toes_load_pct": "toe-load",
}


def metric_label(metric: str) -> str:
    """Reader-facing name of a metric ("stance-time")."""
    return _METRIC_LABELS.get(metric, metric.replace("_", " "))


@dataclass
class Progress:
    """Result of :func:`compute_progress` (see the module docstring)."""

    subject_id: str
    metric: str
    index: str
    sessions: list[SessionData]
    baseline: str | None
    table: pd.DataFrame
    session_table: pd.DataFrame
    mdc: dict[str, dict[str, Any]]
    trend: dict[str, dict[str, Any]]
    headline: str
    left_out: list[str]
    warnings: list[str]
    params: stats.BootstrapParams
    metrics: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (NaN → None)."""
        def clean(x: Any) -> Any:
            if isinstance(x, dict):
                return {str(k): clean(v) for k, v in x.items()}
            if isinstance(x, (list, tuple)):
                return [clean(v) for v in x]
            if isinstance(x, (np.bool_, bool)):
                return bool(x)
            if isinstance(x, (np.integer,)):
                return int(x)
            if isinstance(x, (float, np.floating)):
                return float(x) if np.isfinite(x) else None
            if x is pd.NA or x is None:
                return None
            return x

        return clean({
            "subject_id": self.subject_id,
            "headline_metric": self.metric,
            "index": self.index,
            "index_name": stats.INDEX_NAMES[self.index][0],
            "value_is": "asymmetry magnitude (0 = symmetric)",
            "confidence": self.params.confidence,
            "baseline": self.baseline,
            "headline": self.headline,
            "sessions": self.session_table.to_dict(orient="records"),
            "metrics": self.table.to_dict(orient="records"),
            "mdc": self.mdc,
            "trend": self.trend,
            "left_out": self.left_out,
            "warnings": self.warnings,
            "method": {
                "bootstrap": "circular block bootstrap over gait cycles (left/right kept together), "
                             "expanded percentile intervals",
                "n_boot": self.params.n_boot,
                "seed": self.params.seed,
            },
        })


def _subset(cycles: stats.CycleData, metrics: Sequence[str]) -> stats.CycleData:
    idx = [cycles.metrics.index(m) for m in metrics]
    return stats.CycleData(tuple(metrics), {s: a[:, idx] for s, a in cycles.sums.items()},
                           {s: a[:, idx] for s, a in cycles.counts.items()})


def _means(c: stats.CycleData) -> dict[str, np.ndarray]:
    out = {}
    for s in ("left", "right"):
        n = c.counts[s].sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[s] = np.where(n > 0, c.sums[s].sum(axis=0) / np.where(n > 0, n, 1), np.nan)
    return out


def _prepare_sessions(sessions: Sequence[SessionData], params: stats.BootstrapParams) -> tuple[list[str], list[str]]:
    """Pool each session's usable trials and bootstrap; return (left_out, warnings)."""
    left_out: list[str] = []
    warnings: list[str] = []
    seeds = np.random.SeedSequence(params.seed).spawn(max(len(sessions), 1))
    for i, sd in enumerate(sessions):
        for t in sd.trials:
            if not t.usable:
                sd.notes.append(f"trial {t.path.name} left out: {t.error}")
                left_out.append(f"session {sd.label}, trial {t.path.name}: {t.error}")
        usable = sd.usable_trials
        layouts = sorted({t.layout_key for t in usable})
        if len(layouts) > 1:
            keep = usable[0].layout_key
            for t in usable:
                if t.layout_key != keep:
                    msg = f"trial {t.path.name} left out: sensor layout {t.layout_key} differs from {keep} " \
                          "within the session"
                    sd.notes.append(msg)
                    left_out.append(f"session {sd.label}, {msg}")
            usable = [t for t in usable if t.layout_key == keep]
        if not usable:
            msg = "no usable trial (see the notes); session left out of the statistics"
            sd.notes.append(msg)
            left_out.append(f"session {sd.label}: {msg}")
            continue
        common = [m for m in usable[0].cycles.metrics if all(m in t.cycles.metrics for t in usable)]
        sd.cycles = stats.concat_cycles([_subset(t.cycles, common) for t in usable])
        sd.boot = stats.bootstrap_means(sd.cycles, params=params, rng=np.random.default_rng(seeds[i]))
        w = reliability.few_strides_warning({s: sd.n_steady(s) for s in ("left", "right")}, label=f"session {sd.label}")
        if w:
            sd.notes.append(w)
            warnings.append(w)
        miss = missing_fields(sd.metadata)
        if miss:
            sd.notes.append("metadata missing: " + ", ".join(miss) + " (add with `gaitpf session set`)")
    return left_out, warnings


def _mdc(sessions: Sequence[SessionData], metrics: list[str], index: str) -> dict[str, dict[str, Any]]:
    """MDC95 per metric: trial-to-trial when ≥ 3 df of repeated trials exist, else split-half."""
    out: dict[str, dict[str, Any]] = {}
    used = [s for s in sessions if s.boot is not None]
    for m in metrics:
        per_session_trials = []
        halves = []
        for sd in used:
            if m not in sd.cycles.metrics:
                continue
            trial_vals = []
            for t in sd.usable_trials:
                if t.cycles is None or m not in t.cycles.metrics or t.cycles.n_cycles < stats_min_cycles():
                    continue
                mm = _means(_subset(t.cycles, [m]))
                trial_vals.append(float(stats.index_values(mm["left"][0], mm["right"][0], index, magnitude=True)))
            per_session_trials.append(trial_vals)
            h = [_means(_subset(part, [m])) for part in sd.cycles.split(2)]
            halves.append(tuple(float(stats.index_values(x["left"][0], x["right"][0], index, magnitude=True))
                                for x in h))
        tt = reliability.sem_trial_to_trial(per_session_trials)
        if tt["df"] >= 3:
            sem, method, df = tt["sem"], "trial-to-trial (repeated trials within sessions)", tt["df"]
        else:
            sh = reliability.sem_split_half(halves)
            sem, method, df = sh["sem"], "split-half (first vs second half of each session)", sh["df"]
        out[m] = {"sem": sem, "mdc95": reliability.mdc95(sem) if np.isfinite(sem) else float("nan"),
                  "method": method, "df": int(df)}
    return out


def stats_min_cycles() -> int:
    from .compare import MIN_CYCLES

    return MIN_CYCLES


def compute_progress(
    sessions: Sequence[SessionData],
    *,
    subject_id: str,
    metric: str = "stance_time_s",
    index: str = "sa_pct",
    params: stats.BootstrapParams,
    trial_mode: bool = False,
) -> Progress:
    """Compare every session with the baseline (the first usable session).

    Parameters
    ----------
    sessions : sequence of SessionData
        In session order (from :func:`~gaitpf.sessions.compare.group_sessions`).
    subject_id : str
    metric, index : str
        Headline metric and symmetry index (key of :data:`stats.INDEX_FUNCS`).
    params : BootstrapParams
    trial_mode : bool
        Each "session" is one trial file (``gaitpf compare``).

    Returns
    -------
    Progress
    """
    if index not in stats.INDEX_FUNCS:
        raise ValueError(f"unknown index {index!r}")
    sessions = list(sessions)
    left_out, warnings = _prepare_sessions(sessions, params)
    used = [s for s in sessions if s.boot is not None]
    conf = params.confidence
    unit_word = "" if index == "sr" else " points"
    base = used[0] if used else None
    metrics = [m for m in base.cycles.metrics] if base else []
    if base is not None and metric not in metrics:
        left_out.append(f"headline metric {metric} is not available in the baseline; using stance_time_s")
        metric = "stance_time_s" if "stance_time_s" in metrics else metrics[0]
    if len(used) == 1:
        warnings.append("only one usable session: there is no change to report yet (record a follow-up session)")
    elif not used:
        warnings.append("no usable session: nothing to compare (see what was left out)")

    mdc = _mdc(used, metrics, index)
    rows = []
    base_idx = {}
    if base is not None:
        b = base.boot
        base_idx = {
            "point": stats.index_values(b.point["left"], b.point["right"], index, magnitude=True),
            "boot": stats.index_values(b.boot["left"], b.boot["right"], index, magnitude=True),
        }
    for sd in used:
        bm = sd.boot
        comparable_layout = sd.layout_key == base.layout_key
        if not comparable_layout:
            sd.notes.append(f"sensor layout {sd.layout_key} differs from the baseline's {base.layout_key}: "
                            "kinetic and regional metrics are not compared for this session")
            left_out.append(f"session {sd.label}: kinetic/regional metrics not compared (layout "
                            f"{sd.layout_key} vs baseline {base.layout_key})")
        point = stats.index_values(bm.point["left"], bm.point["right"], index, magnitude=True)
        boot = stats.index_values(bm.boot["left"], bm.boot["right"], index, magnitude=True)
        signed = stats.index_values(bm.point["left"], bm.point["right"], index)
        lo_l, hi_l = stats.percentile_ci(bm.boot["left"], conf, df=bm.df, scale=bm.scale)
        lo_r, hi_r = stats.percentile_ci(bm.boot["right"], conf, df=bm.df, scale=bm.scale)
        lo_i, hi_i = stats.percentile_ci(boot, conf, df=bm.df, scale=bm.scale)
        for j, m in enumerate(bm.metrics):
            if m not in metrics:
                continue
            k = metrics.index(m)
            comparable = comparable_layout or m not in KINETIC_METRICS
            row = {
                "session": sd.label, "session_no": sd.session_no, "date": sd.metadata.get("date"),
                "metric": m, "index": index,
                "left_mean": bm.point["left"][j], "left_ci_low": lo_l[j], "left_ci_high": hi_l[j],
                "right_mean": bm.point["right"][j], "right_ci_low": lo_r[j], "right_ci_high": hi_r[j],
                "index_signed": float(np.asarray(signed)[j]),
                "value": float(point[j]), "value_ci_low": float(lo_i[j]), "value_ci_high": float(hi_i[j]),
                "n_left": int(bm.n_strides["left"][j]), "n_right": int(bm.n_strides["right"][j]),
                "comparable": bool(comparable), "is_baseline": sd is base,
            }
            if comparable and not (sd is base):
                ch = stats.change_vs_baseline(
                    base_idx["point"][k], base_idx["boot"][:, k], point[j], boot[:, j], confidence=conf,
                    base_df=base.boot.df, df=bm.df, base_scale=base.boot.scale, scale=bm.scale,
                )
                row.update({key: ch[key] for key in ("change_abs", "change_abs_ci_low", "change_abs_ci_high",
                                                     "change_rel_pct", "change_rel_ci_low", "change_rel_ci_high")})
                mdc95 = mdc[m]["mdc95"]
                row["mdc95"] = mdc95
                row["exceeds_mdc"] = bool(abs(ch["change_abs"]) > mdc95) if np.isfinite(mdc95) else None
                if np.isfinite(mdc95) and abs(ch["baseline"]) <= mdc95:
                    # a baseline within measurement error of perfect symmetry makes a percentage
                    # of it meaningless (e.g. 0.01 % -> 0.4 % would read "+4000 %"): state none
                    row.update(change_rel_pct=np.nan, change_rel_ci_low=np.nan, change_rel_ci_high=np.nan)
            rows.append(row)
    table = pd.DataFrame(rows)
    for col in ("change_abs", "change_abs_ci_low", "change_abs_ci_high", "change_rel_pct", "change_rel_ci_low",
                "change_rel_ci_high", "mdc95", "exceeds_mdc"):
        if col not in table.columns:
            table[col] = pd.Series([np.nan] * len(table), dtype=float if col != "exceeds_mdc" else object)

    # trend over sessions (index magnitude vs session number, or order when numbers are missing)
    trend: dict[str, dict[str, Any]] = {}
    if len(table):
        have_no = all(s.session_no is not None for s in used)
        for m in metrics:
            sub = table[(table["metric"] == m) & table["comparable"]]
            x = sub["session_no"].to_numpy(float) if have_no else np.arange(1, len(sub) + 1, dtype=float)
            ts = reliability.theil_sen(x, sub["value"].to_numpy(float), confidence=conf)
            ts["x"] = "session_no" if have_no else "session order"
            trend[m] = ts
        if len(used) < 3:
            warnings.append("trend needs ≥ 3 usable sessions; not estimated")

    for sd in used[1:]:
        c0, c1 = base.cadence_spm, sd.cadence_spm
        if np.isfinite(c0) and np.isfinite(c1) and c0 > 0 and abs(100 * (c1 - c0) / c0) > CADENCE_CHANGE_PCT:
            w = (f"session {sd.label}: cadence {c1:.0f} vs {c0:.0f} steps/min at baseline "
                 f"({100 * (c1 - c0) / c0:+.0f}%); walking speed differs, and symmetry and variability change "
                 "with speed — interpret the change with care")
            sd.notes.append(w)
            warnings.append(w)
    session_table = _session_table(sessions, base)

    headline = "no change can be computed (fewer than two usable sessions)"
    if len(used) >= 2:
        last = table[(table["metric"] == metric) & (table["session"] == used[-1].label)].iloc[0]
        headline = describe_change(metric, index, last, mdc[metric], conf, unit_word=unit_word,
                                   baseline_label=base.label, label=used[-1].label)
    elif len(used) == 1:
        r0 = table[table["metric"] == metric].iloc[0]
        name, unit = stats.INDEX_NAMES[index]
        headline = (f"{metric_label(metric)} asymmetry ({_abbr(index)}) at {base.label}: "
                    f"{_fmt(r0['value'], index)}{unit} (95% CI {_fmt(r0['value_ci_low'], index)}–"
                    f"{_fmt(r0['value_ci_high'], index)}{unit}); one session only, no change yet")
    return Progress(subject_id=subject_id, metric=metric, index=index, sessions=sessions,
                    baseline=base.label if base else None, table=table, session_table=session_table, mdc=mdc,
                    trend=trend, headline=headline, left_out=left_out, warnings=warnings, params=params,
                    metrics=metrics)


def _session_table(sessions: Sequence[SessionData], base: SessionData | None) -> pd.DataFrame:
    rows = []
    for sd in sessions:
        md = sd.metadata
        rows.append({
            "session": sd.label, "session_no": sd.session_no, "date": md.get("date"),
            "treatment": md.get("treatment"), "affected_side": md.get("affected_side"),
            "pain_vas": md.get("pain_vas"), "condition": md.get("condition"),
            "walking_speed_m_s": md.get("walking_speed_m_s"), "cadence_spm": sd.cadence_spm,
            "n_trials": len(sd.trials), "n_trials_used": len(sd.usable_trials) if sd.boot is not None else 0,
            "n_steady_left": sd.n_steady("left"), "n_steady_right": sd.n_steady("right"),
            "n_cycles": sd.boot.n_cycles if sd.boot is not None else 0,
            "block_len": sd.boot.block_len if sd.boot is not None else None,
            "included": sd.boot is not None, "is_baseline": sd is base,
            "notes": "; ".join(sd.notes),
        })
    return pd.DataFrame(rows)


def _abbr(index: str) -> str:
    return {"si_pct": "|SI|", "sa_pct": "|SA|", "ga_pct": "GA", "sr": "SR, max(L/R, R/L)"}[index]


def _fmt(x: float, index: str, signed: bool = False) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    text = f"{x:+.3f}" if (signed and index == "sr") else (f"{x:.3f}" if index == "sr" else
                                                           (f"{x:+.1f}" if signed else f"{x:.1f}"))
    return text.replace("-", "−")


def describe_change(metric: str, index: str, row: Any, mdc: dict[str, Any], confidence: float, *,
                    unit_word: str, baseline_label: str, label: str) -> str:
    """One sentence: which index, baseline → now, absolute and relative change with CIs, MDC."""
    unit = stats.INDEX_NAMES[index][1]
    pct = int(round(100 * confidence))
    rel = row["change_rel_pct"]
    def p0(x: float) -> str:
        return f"{x:+.0f}".replace("-", "−") if np.isfinite(x) else "n/a"

    rel_txt = (f", {p0(rel)}% relative ({pct}% CI {p0(row['change_rel_ci_low'])}% to "
               f"{p0(row['change_rel_ci_high'])}%)") if np.isfinite(rel) else ""
    mdc95 = mdc.get("mdc95", float("nan"))
    if np.isfinite(mdc95):
        verdict = "exceeds" if abs(row["change_abs"]) > mdc95 else "does not exceed"
        mdc_txt = f"; the change {verdict} the MDC95 of {_fmt(mdc95, index)}{unit_word} ({mdc['method'].split(' (')[0]})"
    else:
        mdc_txt = "; MDC95 not available"
    return (
        f"{metric_label(metric)} asymmetry ({_abbr(index)}) {_fmt(row['value'] - row['change_abs'], index)}{unit} "
        f"({baseline_label}) → {_fmt(row['value'], index)}{unit} ({label}): "
        f"{_fmt(row['change_abs'], index, True)}{unit_word} ({pct}% CI {_fmt(row['change_abs_ci_low'], index, True)} "
        f"to {_fmt(row['change_abs_ci_high'], index, True)}){rel_txt}{mdc_txt}"
    )
