"""What the report says, derived once from a :class:`~gaitpf.sessions.progress.Progress`.

* **Affected side** — the session metadata ``affected_side`` (``left``/``right``/``none``);
  the baseline's value wins when sessions disagree (and the disagreement is noted).
* **Orientation** — asymmetry as affected vs unaffected: the chosen index computed with
  the unaffected side in the place of *left* and the affected side in the place of
  *right*, so for SI/SA a positive value means "the affected side's value is larger"
  (GA becomes the signed ``100·ln(A/U)``; SR becomes ``A/U``). Without an affected side
  the report orients right vs left and says so.
* **Decision** — a change is called real only when its 95 % CI excludes 0 *and* its
  magnitude exceeds the MDC95; the row's ``exceeds_mdc`` (from the statistics) must
  agree. The MDC kind (``mdc_kind``: between- or within-session) is read from the row or
  the MDC entry; when absent it is derived from the MDC method text (every method of
  the current statistics is within-session, i.e. a lower bound for day-to-day change).
* **Confounders** — the progress' ``confounders`` when it has them, else its cadence
  warnings, plus any change of shoe/walking ``condition`` or ``treatment`` versus the
  baseline. Each warning is shown once.

Keys read defensively from the session metadata / tables (fallback in brackets):
``affected_side`` (right vs left), ``notes`` (none), ``condition`` (not entered),
``treatment``, ``pain_vas``, ``date``; rows: ``exceeds_mdc``, ``mdc_kind``, ``mdc95``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..sessions import stats
from ..sessions.progress import metric_label

__all__ = ["ReportContext", "build_context", "oriented_index", "ORIENT_SIGN"]

#: Sign convention written next to every oriented asymmetry.
ORIENT_SIGN = "+ = affected side larger than unaffected, − = smaller"


def _clean(x: Any) -> Any:
    if x is None or (isinstance(x, float) and not np.isfinite(x)) or x is pd.NA or x == "":
        return None
    return x


def oriented_index(unaffected: Any, affected: Any, index: str) -> np.ndarray:
    """The index with the unaffected side as reference (see module docstring)."""
    u, a = np.asarray(unaffected, dtype=float), np.asarray(affected, dtype=float)
    if index == "ga_pct":
        with np.errstate(divide="ignore", invalid="ignore"):
            return 100.0 * np.log(a / u)
    if index == "sr":
        with np.errstate(divide="ignore", invalid="ignore"):
            return a / u
    return np.asarray(stats.index_values(u, a, index), dtype=float)


@dataclass
class ReportContext:
    """Everything the HTML and figures need besides the progress itself."""

    progress: Any
    affected_side: str | None
    side_text: str
    sessions: list[dict[str, Any]]
    decision: dict[str, Any]
    confounders: list[str]
    warnings: list[str]
    left_out: list[str]
    maps: dict[str, Any] = field(default_factory=dict)

    @property
    def unaffected_side(self) -> str:
        return {"left": "right", "right": "left"}.get(self.affected_side or "", "left")

    @property
    def ref_side(self) -> str:
        """The side in the place of 'affected' (right when no side is known)."""
        return self.affected_side or "right"

    @property
    def used_labels(self) -> list[str]:
        return [s.label for s in self.progress.sessions if getattr(s, "boot", None) is not None]


def _affected(progress: Any) -> tuple[str | None, str, list[str]]:
    vals = []
    for sd in progress.sessions:
        v = _clean(sd.metadata.get("affected_side"))
        if v is not None:
            vals.append((sd.label, str(v).lower()))
    notes = []
    if not vals:
        return None, ("affected side not entered (add with `gaitpf session set --affected-side`); "
                      "asymmetry is shown as right vs left"), notes
    side = vals[0][1]
    if len({v for _, v in vals}) > 1:
        notes.append("sessions disagree on the affected side (" + ", ".join(f"{s}: {v}" for s, v in vals) +
                     f"); using {side} from session {vals[0][0]}")
    if side not in ("left", "right"):
        return None, "no affected side (entered as 'none'); asymmetry is shown as right vs left", notes
    return side, f"affected side: {side} (from the session metadata)", notes


def _mdc_kind(progress: Any, row: Any) -> str:
    kind = _clean(row.get("mdc_kind")) if row is not None else None
    entry = progress.mdc.get(progress.metric, {})
    kind = kind or _clean(entry.get("mdc_kind"))
    if kind:
        return str(kind)
    method = str(entry.get("method", ""))
    return "between-session" if "between" in method else "within-session"


def _decision(progress: Any) -> dict[str, Any]:
    t = progress.table
    used = [s for s in progress.sessions if getattr(s, "boot", None) is not None]
    out: dict[str, Any] = {"available": False, "real": None, "text": "no change can be judged: "
                           "fewer than two usable sessions", "mdc_kind": _mdc_kind(progress, None)}
    if t.empty or len(used) < 2:
        return out
    rows = t[(t["metric"] == progress.metric) & (t["session"] == used[-1].label)]
    if rows.empty or not np.isfinite(float(rows.iloc[0]["change_abs"])):
        out["text"] = "no change can be judged for the headline metric (not comparable with the baseline)"
        return out
    r = rows.iloc[0]
    lo, hi, ch = float(r["change_abs_ci_low"]), float(r["change_abs_ci_high"]), float(r["change_abs"])
    mdc = _clean(r.get("mdc95"))
    mdc = float(mdc) if mdc is not None else float(progress.mdc.get(progress.metric, {}).get("mdc95", np.nan))
    excl0 = bool(lo > 0 or hi < 0)
    big = bool(np.isfinite(mdc) and abs(ch) > mdc)
    flag = r.get("exceeds_mdc")
    real = excl0 and big and flag is not False
    kind = _mdc_kind(progress, r)
    if real:
        text = (f"real change: the 95% CI excludes 0 and |change| exceeds the MDC95 ({kind})")
    else:
        why = []
        if not excl0:
            why.append("the 95% CI includes 0")
        if not big:
            why.append("|change| does not exceed the MDC95" if np.isfinite(mdc) else "no MDC95 available")
        text = "not shown to be a real change: " + " and ".join(why or ["the statistics do not flag it"])
    out.update(available=True, real=real, text=text, change=ch, ci_low=lo, ci_high=hi, mdc95=mdc,
               ci_excludes_0=excl0, exceeds_mdc95=big, mdc_kind=kind, session=used[-1].label,
               baseline=progress.baseline, metric=metric_label(progress.metric))
    return out


def _condition_changes(progress: Any) -> list[str]:
    used = [s for s in progress.sessions if getattr(s, "boot", None) is not None]
    if len(used) < 2:
        return []
    out = []
    for key, word in (("condition", "shoe/walking condition"), ("treatment", "treatment")):
        b = _clean(used[0].metadata.get(key))
        for sd in used[1:]:
            v = _clean(sd.metadata.get(key))
            if v != b and not (v is None and b is None):
                out.append(f"session {sd.label}: {word} '{v or 'not entered'}' differs from the baseline's "
                           f"'{b or 'not entered'}' — part of the change may come from it")
    return out


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def build_context(progress: Any, *, maps: dict[str, Any] | None = None) -> ReportContext:
    """Derive side, decision, confounders and per-session texts (see module docstring)."""
    side, side_text, side_notes = _affected(progress)
    warnings = _unique(list(progress.warnings) + side_notes)
    conf = getattr(progress, "confounders", None)
    if conf is None:
        conf = [w for w in warnings if "cadence" in w or "walking speed" in w]
    conf = _unique(list(conf) + [c for c in _condition_changes(progress)
                                 if not any(c.split(":")[0] in w and ("condition" in w) for w in warnings)])
    warnings = [w for w in warnings if w not in conf]
    left_out = _unique(list(progress.left_out))
    shown = set(warnings) | set(conf)
    sessions = []
    st = progress.session_table.set_index("session") if not progress.session_table.empty else None
    for sd in progress.sessions:
        md = sd.metadata
        system = [n for n in _unique(list(sd.notes)) if n not in shown and "left out" not in n
                  and not any(n in w for w in shown)]
        row = st.loc[sd.label] if st is not None and sd.label in st.index else None
        sessions.append({
            "label": sd.label, "date": _clean(md.get("date")), "treatment": _clean(md.get("treatment")),
            "condition": _clean(md.get("condition")), "pain_vas": _clean(md.get("pain_vas")),
            "notes": _clean(md.get("notes")), "system_notes": system,
            "included": getattr(sd, "boot", None) is not None,
            "cadence_spm": float(row["cadence_spm"]) if row is not None else float("nan"),
            "walking_speed_m_s": _clean(md.get("walking_speed_m_s")),
            "n_steady": (sd.n_steady("left"), sd.n_steady("right")),
        })
    return ReportContext(progress=progress, affected_side=side, side_text=side_text, sessions=sessions,
                         decision=_decision(progress), confounders=conf, warnings=warnings, left_out=left_out,
                         maps=maps or {})
