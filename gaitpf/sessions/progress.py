"""Sessions versus baseline: per-session estimates with CIs, change, decision, MDC and trend.

Input: :class:`~gaitpf.sessions.compare.SessionData` in session order (the first usable
one is the baseline). Output: a :class:`Progress` with

* ``table`` — one row per session × metric: left/right means with 95 % CIs, the
  asymmetry magnitude (``value``: |SI|, |SA|, GA or max(SR, 1/SR) for ratio-scale
  metrics, ``|L − R|`` in units for signed ones, see :mod:`gaitpf.sessions.decision`)
  with its CI, the signed index, ``lr_difference`` (L − R), the asymmetry oriented to
  the affected side (``asym_affected``; ``asym_oriented`` with its CI from the same
  bootstrap, oriented to the affected side or, without one, right versus left), the
  change versus baseline in absolute units (percentage *points* for % indices) and
  relative (%), each with its CI, the MDC95 with its kind and the decision
  (``ci_excludes_zero``, ``above_mdc95``, ``exceeds_mdc``);
* ``session_table`` — one row per session: stored ids, metadata (date, treatment,
  condition, pain, the clinician's ``notes``), cadence and walking speed, steady strides,
  inclusion, ``warnings`` and ``confounders`` (cadence or condition changed vs baseline);
* ``mdc`` and ``trend`` per metric, a ``headline`` sentence, ``left_out`` notes, the
  ``affected_side``, the ``sign_convention`` and the ``confounders`` (sentences, also
  among the ``warnings``).

Trend: Theil–Sen slope over session numbers; its CI (Sen's interval) only from
:data:`~gaitpf.sessions.decision.MIN_SESSIONS_TREND_CI` sessions on — with 3 sessions
the interval rests on 3 pairwise slopes (−0.968 to −0.959 per session in a real case).

No file I/O here (the trials were read by :mod:`gaitpf.sessions.compare`).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import decision, reliability, stats
from .trials import KINETIC_METRICS, MIN_CYCLES, SessionData
from .metadata import missing_fields
from .progress_tables import CADENCE_CHANGE_PCT, confounders, session_table, trend_table
from .wording import describe_change, fmt_index, index_abbr, metric_label, metric_unit

__all__ = ["Progress", "compute_progress", "describe_change", "metric_label", "CADENCE_CHANGE_PCT"]

log = logging.getLogger(__name__)


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
    affected_side: str | None = None
    sign_convention: str = ""
    confounders: list[str] = field(default_factory=list)

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
            "value_is": "asymmetry magnitude (0 = symmetric): the index for ratio-scale metrics, |left − right| "
                        "in units for signed metrics",
            "affected_side": self.affected_side,
            "sign_convention": self.sign_convention,
            "decision_rule": "a change is real (exceeds_mdc) only when its 95% CI excludes 0 and |change| > MDC95",
            "confidence": self.params.confidence,
            "baseline": self.baseline,
            "headline": self.headline,
            "sessions": self.session_table.to_dict(orient="records"),
            "metrics": self.table.to_dict(orient="records"),
            "mdc": self.mdc,
            "trend": self.trend,
            "left_out": self.left_out,
            "warnings": self.warnings,
            "confounders": self.confounders,
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
                sd.warnings.append(f"trial {t.path.name} left out: {t.error}")
                left_out.append(f"session {sd.label}, trial {t.path.name}: {t.error}")
        usable = sd.usable_trials
        layouts = sorted({t.layout_key for t in usable})
        if len(layouts) > 1:
            keep = usable[0].layout_key
            for t in usable:
                if t.layout_key != keep:
                    msg = f"trial {t.path.name} left out: sensor layout {t.layout_key} differs from {keep} " \
                          "within the session"
                    sd.warnings.append(msg)
                    left_out.append(f"session {sd.label}, {msg}")
            usable = [t for t in usable if t.layout_key == keep]
        if not usable:
            msg = "no usable trial (see the warnings); session left out of the statistics"
            sd.warnings.append(msg)
            left_out.append(f"session {sd.label}: {msg}")
            continue
        common = [m for m in usable[0].cycles.metrics if all(m in t.cycles.metrics for t in usable)]
        sd.cycles = stats.concat_cycles([_subset(t.cycles, common) for t in usable])
        sd.boot = stats.bootstrap_means(sd.cycles, params=params, rng=np.random.default_rng(seeds[i]))
        w = reliability.few_strides_warning({s: sd.n_steady(s) for s in ("left", "right")}, label=f"session {sd.label}")
        if w:
            sd.warnings.append(w)
            warnings.append(w)
        miss = missing_fields(sd.metadata)
        if miss:
            sd.warnings.append("metadata missing: " + ", ".join(miss) + " (add with `gaitpf session set`)")
    return left_out, warnings


def _affected_side(sessions: Sequence[SessionData], warnings: list[str]) -> str | None:
    """The subject's affected side from the session metadata (the most frequent; conflicts warned)."""
    sides = [s.metadata.get("affected_side") for s in sessions if s.metadata.get("affected_side")]
    if not sides:
        return None
    best = max(dict.fromkeys(sides), key=sides.count)
    if len(set(sides)) > 1:
        warnings.append(f"sessions disagree on the affected side ({', '.join(sorted(set(sides)))}); "
                        f"asymmetry is oriented to {best}")
    return best if best in ("left", "right") else None


def _session_values(sd: SessionData, metrics: list[str], index: str, ratio: np.ndarray,
                    affected: str | None) -> dict[str, np.ndarray]:
    bm = sd.boot
    j = [bm.metrics.index(m) if m in bm.metrics else -1 for m in metrics]

    def pick(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, float)
        out = np.full(a.shape[:-1] + (len(metrics),), np.nan)
        ok = [k for k, jj in enumerate(j) if jj >= 0]
        out[..., ok] = a[..., [j[k] for k in ok]]
        return out

    L, R = pick(bm.point["left"]), pick(bm.point["right"])
    bL, bR = pick(bm.boot["left"]), pick(bm.boot["right"])
    point = np.full(len(metrics), np.nan)
    signed = np.full(len(metrics), np.nan)
    boot = np.full(bL.shape, np.nan)
    sboot = np.full(bL.shape, np.nan)
    orient = np.full(len(metrics), np.nan)
    oboot = np.full(bL.shape, np.nan)
    side = affected or "right"  # no affected side: right versus left (see decision.sign_convention)
    for r in (True, False):
        k = np.flatnonzero(ratio == r)
        if k.size:
            point[k] = decision.asymmetry(L[k], R[k], index, r)
            signed[k] = decision.asymmetry(L[k], R[k], index, r, magnitude=False)
            boot[:, k] = decision.asymmetry(bL[:, k], bR[:, k], index, r)
            sboot[:, k] = decision.asymmetry(bL[:, k], bR[:, k], index, r, magnitude=False)
            orient[k] = decision.oriented(L[k], R[k], index, r, side)
            oboot[:, k] = decision.oriented(bL[:, k], bR[:, k], index, r, side)
    return {"L": L, "R": R, "bL": bL, "bR": bR, "point": point, "boot": boot, "signed": signed,
            "signed_boot": sboot, "oriented": orient, "oriented_boot": oboot}


def _trial_values(sd: SessionData, m: str, index: str, ratio: bool) -> list[float]:
    out = []
    for t in sd.usable_trials:
        if t.cycles is None or m not in t.cycles.metrics or t.cycles.n_cycles < MIN_CYCLES:
            continue
        mm = _means(_subset(t.cycles, [m]))
        out.append(float(decision.asymmetry(mm["left"][0], mm["right"][0], index, ratio)))
    return out


def _mdc(used: Sequence[SessionData], vals: dict[str, dict[str, np.ndarray]], metrics: list[str], index: str,
         ratio: np.ndarray) -> dict[str, dict[str, Any]]:
    """MDC95 per metric: between sessions, between trials or within session (:func:`decision.choose_mdc`)."""
    out = {}
    base_phase = [s for s in used if s.metadata.get("phase") == "baseline"]
    for k, m in enumerate(metrics):
        within = decision.sem_within_session([vals[s.label]["signed_boot"][:, k] for s in used])
        out[m] = decision.choose_mdc(
            within_sem=within,
            baseline_values=[vals[s.label]["point"][k] for s in base_phase],
            trial_values=[_trial_values(s, m, index, bool(ratio[k])) for s in used],
        )
    return out


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
        The units are inputs of ``gaitpf compare`` (sessions or trials of one session).

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
    metrics = list(base.cycles.metrics) if base else []
    if base is not None and metric not in metrics:
        left_out.append(f"headline metric {metric} is not available in the baseline; using stance_time_s")
        metric = "stance_time_s" if "stance_time_s" in metrics else metrics[0]
    if len(used) == 1:
        warnings.append("only one usable session: there is no change to report yet (record a follow-up session)")
    elif not used:
        warnings.append("no usable session: nothing to compare (see what was left out)")
    affected = _affected_side(sessions, warnings)
    mixed = len({s.subject_id for s in used}) > 1

    ratio = np.ones(len(metrics), bool)
    if base is not None:
        bL, bR = _means(base.cycles)["left"], _means(base.cycles)["right"]
        ratio = np.array([decision.is_ratio_metric(m, bL[k], bR[k]) for k, m in enumerate(metrics)], bool)
        for m in metrics:
            if "_au" in m:
                warnings.append("force metrics are in arbitrary units (uncalibrated sensors): they are relative "
                                "values, and left/right force asymmetry assumes both insoles have the same gain")
                break
        if not any(m.endswith("_pct_bw") for m in metrics) and any(m.endswith("_n") for m in metrics):
            warnings.append("no body mass in the recordings: forces are in N, not normalised to body weight")
    vals = {s.label: _session_values(s, metrics, index, ratio, affected) for s in used}
    mdc = _mdc(used, vals, metrics, index, ratio)

    rows = []
    for sd in used:
        v, bm = vals[sd.label], sd.boot
        comparable_layout = sd.layout_key == base.layout_key
        if not comparable_layout:
            sd.warnings.append(f"sensor layout {sd.layout_key} differs from the baseline's {base.layout_key}: "
                               "kinetic and regional metrics are not compared for this session")
            left_out.append(f"session {sd.label}: kinetic/regional metrics not compared (layout "
                            f"{sd.layout_key} vs baseline {base.layout_key})")
        lo_l, hi_l = stats.percentile_ci(v["bL"], conf, df=bm.df, scale=bm.scale)
        lo_r, hi_r = stats.percentile_ci(v["bR"], conf, df=bm.df, scale=bm.scale)
        lo_i, hi_i = stats.percentile_ci(v["boot"], conf, df=bm.df, scale=bm.scale)
        lo_o, hi_o = stats.percentile_ci(v["oriented_boot"], conf, df=bm.df, scale=bm.scale)
        missing = [m for k, m in enumerate(metrics) if not np.isfinite(v["L"][k]) and m not in bm.metrics]
        if missing and sd is not base:
            left_out.append(f"session {sd.label}: {', '.join(missing)} not measured (the baseline has them)")
        for k, m in enumerate(metrics):
            if m not in bm.metrics:
                continue
            comparable = comparable_layout or m not in KINETIC_METRICS
            row = {
                "label": sd.label, "session": sd.session_id or sd.label, "session_no": sd.session_no,
                "date": sd.date, "metric": m, "unit": metric_unit(m),
                "scale": "relative" if "_au" in m else "absolute",
                "asymmetry_kind": "index" if ratio[k] else "difference",
                "index": index if ratio[k] else "left_minus_right",
                "left_mean": v["L"][k], "left_ci_low": lo_l[k], "left_ci_high": hi_l[k],
                "right_mean": v["R"][k], "right_ci_low": lo_r[k], "right_ci_high": hi_r[k],
                "lr_difference": v["L"][k] - v["R"][k],
                "index_signed": float(v["signed"][k]) if ratio[k] else np.nan,
                "affected_side": affected, "oriented_to": affected or "right",
                "asym_oriented": float(v["oriented"][k]), "asym_oriented_ci_low": float(lo_o[k]),
                "asym_oriented_ci_high": float(hi_o[k]),
                "asym_affected": float(v["oriented"][k]) if affected else np.nan,
                "value": float(v["point"][k]), "value_ci_low": float(lo_i[k]), "value_ci_high": float(hi_i[k]),
                "n_left": int(bm.n_strides["left"][bm.metrics.index(m)]),
                "n_right": int(bm.n_strides["right"][bm.metrics.index(m)]),
                "comparable": bool(comparable), "is_baseline": sd is base,
            }
            if comparable and sd is not base:
                b = vals[base.label]
                ch = stats.change_vs_baseline(
                    b["point"][k], b["boot"][:, k], v["point"][k], v["boot"][:, k], confidence=conf,
                    base_df=base.boot.df, df=bm.df, base_scale=base.boot.scale, scale=bm.scale,
                )
                row.update({key: ch[key] for key in ("change_abs", "change_abs_ci_low", "change_abs_ci_high",
                                                     "change_rel_pct", "change_rel_ci_low", "change_rel_ci_high")})
                mdc95 = mdc[m]["mdc95"]
                row.update(mdc95=mdc95, mdc_kind=mdc[m]["mdc_kind"])
                row.update(decision.decide(ch["change_abs"], ch["change_abs_ci_low"], ch["change_abs_ci_high"],
                                           mdc95))
                if np.isfinite(mdc95) and abs(ch["baseline"]) <= mdc95:
                    # a baseline within measurement error of perfect symmetry makes a percentage
                    # of it meaningless (e.g. 0.01 % -> 0.4 % would read "+4000 %"): state none
                    row.update(change_rel_pct=np.nan, change_rel_ci_low=np.nan, change_rel_ci_high=np.nan)
            rows.append(row)
    table = pd.DataFrame(rows)
    for col in ("change_abs", "change_abs_ci_low", "change_abs_ci_high", "change_rel_pct", "change_rel_ci_low",
                "change_rel_ci_high", "mdc95"):
        if col not in table.columns:
            table[col] = pd.Series([np.nan] * len(table), dtype=float)
    for col in ("mdc_kind", "ci_excludes_zero", "above_mdc95", "exceeds_mdc"):
        if col not in table.columns:
            table[col] = pd.Series([None] * len(table), dtype=object)
        else:
            table[col] = table[col].astype(object).where(table[col].notna(), None)

    trend = trend_table(table, used, metrics, conf, mixed, warnings)
    conf_texts = confounders(used, warnings)
    st = session_table(sessions, base)

    headline = "no change can be computed (fewer than two usable sessions)"
    if len(used) >= 2:
        last = table[(table["metric"] == metric) & (table["label"] == used[-1].label)].iloc[0]
        headline = describe_change(metric, index, last, mdc[metric], conf, unit_word=unit_word,
                                   baseline_label=base.label, label=used[-1].label)
        if affected and np.isfinite(last["asym_affected"]):
            what = "SR = affected/unaffected" if index == "sr" else f"signed {index_abbr(index).strip('|')}"
            headline += (f". Affected side {affected}: {what} "
                         f"{fmt_index(last['asym_affected'], index, index != 'sr')}{stats.INDEX_NAMES[index][1]} at "
                         f"{used[-1].label} ({'> 1' if index == 'sr' else 'positive'} = affected side larger)")
    elif len(used) == 1:
        r0 = table[table["metric"] == metric].iloc[0]
        unit = stats.INDEX_NAMES[index][1]
        headline = (f"{metric_label(metric)} asymmetry ({index_abbr(index)}) at {base.label}: "
                    f"{fmt_index(r0['value'], index)}{unit} (95% CI {fmt_index(r0['value_ci_low'], index)}–"
                    f"{fmt_index(r0['value_ci_high'], index)}{unit}); one session only, no change yet")
    return Progress(subject_id=subject_id, metric=metric, index=index, sessions=sessions,
                    baseline=base.label if base else None, table=table, session_table=st, mdc=mdc,
                    trend=trend, headline=headline, left_out=left_out, warnings=warnings, params=params,
                    metrics=metrics, affected_side=affected, sign_convention=decision.sign_convention(index, affected),
                    confounders=conf_texts)
