"""What the report says, read from a :class:`~gaitpf.sessions.progress.Progress` — never recomputed.

The statistics (:mod:`gaitpf.sessions.progress`) are the single source of truth; the
report only selects and words what they provide, so the report and
``gaitpf progress --json`` cannot disagree:

* **Affected side** — ``progress.affected_side`` (the sessions' metadata; conflicts are
  among ``progress.warnings``); without one the report orients right versus left.
* **Orientation** — the table's ``asym_oriented`` with ``asym_oriented_ci_low/high``
  (affected vs unaffected, or right vs left without an affected side), next to
  ``progress.sign_convention`` (:func:`gaitpf.sessions.decision.sign_convention`).
* **Decision** — the headline metric's row of the latest usable session:
  ``change_abs`` with its CI, ``mdc95`` and ``mdc_kind``, ``ci_excludes_zero``,
  ``above_mdc95`` and ``exceeds_mdc`` (:func:`gaitpf.sessions.decision.decide`: CI
  excludes 0 **and** ``|Δ| > MDC95``), worded here.
* **Confounders** — ``progress.confounders`` (cadence or shoe/walking condition changed
  versus baseline) and each session's ``confounders``; the other ``progress.warnings``
  are the cautions. Each text is shown once.
* **Per session** — the session table (date, treatment, condition, pain, the clinician's
  ``notes``), gaitpf's per-session ``warnings`` (those not shown elsewhere) and
  ``confounders``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..sessions.decision import MDC_KINDS
from ..sessions.progress import metric_label

__all__ = ["ReportContext", "build_context", "sign_short", "oriented_rows"]


def _clean(x: Any) -> Any:
    if x is None or x is pd.NA or (isinstance(x, float) and not np.isfinite(x)) or (isinstance(x, str) and not x):
        return None
    return x


def _flag(x: Any) -> bool | None:
    x = _clean(x)
    return None if x is None else bool(x)


def sign_short(index: str, affected: str | None) -> str:
    """The short sign convention printed next to oriented values (plots, table headers)."""
    a, u = ("affected side", "unaffected") if affected in ("left", "right") else ("right", "left")
    if index == "sr":
        return f"> 1 = {a} larger than {u}, < 1 = smaller"
    return f"+ = {a} larger than {u}, − = smaller"


def oriented_rows(progress: Any, metric: str | None = None) -> pd.DataFrame:
    """Rows of ``metric`` (default: the headline metric) with the oriented value and its CI."""
    t = progress.table
    if t.empty:
        return t
    return t[t["metric"] == (metric or progress.metric)].reset_index(drop=True)


@dataclass
class ReportContext:
    """Everything the HTML and figures need besides the progress itself."""

    progress: Any
    affected_side: str | None
    side_text: str
    sign_text: str
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
    def sign_short(self) -> str:
        return sign_short(self.progress.index, self.affected_side)

    @property
    def used_labels(self) -> list[str]:
        return [s.label for s in self.progress.sessions if getattr(s, "boot", None) is not None]


def _side_text(progress: Any) -> str:
    if progress.affected_side:
        return f"affected side: {progress.affected_side} (from the session metadata)"
    st = progress.session_table
    entered = [] if st.empty or "affected_side" not in st else [v for v in st["affected_side"] if _clean(v)]
    if entered:
        return f"no affected side (entered as '{entered[0]}'); asymmetry is shown as right vs left"
    return ("affected side not entered (add with `gaitpf session set --affected-side`); "
            "asymmetry is shown as right vs left")


def _mdc_word(progress: Any, kind: Any) -> str:
    """Reader's name of an ``mdc_kind`` ("within session"), from the statistics' own labels."""
    kind = _clean(kind) or _clean(progress.mdc.get(progress.metric, {}).get("mdc_kind"))
    if kind is None:
        return "no MDC"
    return MDC_KINDS.get(str(kind), str(kind)).split(" (")[0]


def _decision(progress: Any, used: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"available": False, "real": None, "mdc_kind": _mdc_word(progress, None),
                           "text": "no change can be judged: fewer than two usable sessions"}
    t = progress.table
    if t.empty or len(used) < 2:
        return out
    rows = t[(t["metric"] == progress.metric) & (t["label"] == used[-1])]
    if rows.empty or _clean(rows.iloc[0].get("change_abs")) is None:
        out["text"] = "no change can be judged for the headline metric (not comparable with the baseline)"
        return out
    r = rows.iloc[0]
    excl, above, real = _flag(r.get("ci_excludes_zero")), _flag(r.get("above_mdc95")), _flag(r.get("exceeds_mdc"))
    kind = _mdc_word(progress, r.get("mdc_kind"))
    if real:
        text = f"real change: the 95% CI excludes 0 and |change| exceeds the MDC95 ({kind})"
    else:
        why = []
        if excl is False:
            why.append("the 95% CI includes 0")
        if above is False:
            why.append(f"|change| does not exceed the MDC95 ({kind})")
        if above is None:
            why.append("no MDC95 available")
        if excl is None:
            why.append("no CI available")
        text = "not shown to be a real change: " + " and ".join(why)
    out.update(available=True, real=bool(real), text=text, change=float(r["change_abs"]),
               ci_low=float(r["change_abs_ci_low"]), ci_high=float(r["change_abs_ci_high"]),
               mdc95=float(r["mdc95"]) if _clean(r.get("mdc95")) is not None else float("nan"),
               ci_excludes_0=excl, exceeds_mdc95=above, mdc_kind=kind, session=r["session"], label=used[-1],
               baseline=progress.baseline, metric=metric_label(progress.metric))
    return out


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def build_context(progress: Any, *, maps: dict[str, Any] | None = None) -> ReportContext:
    """Select side, decision, confounders and per-session texts from ``progress`` (module docstring)."""
    used = [s.label for s in progress.sessions if getattr(s, "boot", None) is not None]
    conf = _unique(list(getattr(progress, "confounders", [])))
    warnings = [w for w in _unique(list(progress.warnings)) if w not in conf]
    left_out = _unique(list(progress.left_out))
    shown = set(warnings) | set(conf)
    st = progress.session_table
    recs = {r["label"]: r for r in st.to_dict(orient="records")} if not st.empty else {}
    sessions = []
    for sd in progress.sessions:
        r = recs.get(sd.label, {})
        own = [w for w in _unique(list(sd.warnings)) if w not in shown and "left out" not in w]
        sessions.append({
            "label": sd.label, "session": _clean(r.get("session")) or sd.label, "date": _clean(r.get("date")),
            "treatment": _clean(r.get("treatment")), "condition": _clean(r.get("condition")),
            "pain_vas": _clean(r.get("pain_vas")), "notes": _clean(r.get("notes")),
            "warnings": own, "confounders": _unique(list(sd.confounders)),
            "included": bool(r.get("included", getattr(sd, "boot", None) is not None)),
            "cadence_spm": float(_clean(r.get("cadence_spm")) or np.nan),
            "walking_speed_m_s": _clean(r.get("walking_speed_m_s")),
            "n_steady": (r.get("n_steady_left", 0), r.get("n_steady_right", 0)),
        })
    return ReportContext(progress=progress, affected_side=progress.affected_side, side_text=_side_text(progress),
                         sign_text=progress.sign_convention, sessions=sessions, decision=_decision(progress, used),
                         confounders=conf, warnings=warnings, left_out=left_out, maps=maps or {})
