"""Text panels of the live window: running metrics, acquisition status, banner and messages.

Pure functions of a :class:`~gaitpf.live.buffer.LiveSnapshot` returning Qt rich text
(HTML subset); the window re-renders them only when the metrics or status changed.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .buffer import LiveSnapshot
from .online import HEALTHY_SI_PCT

__all__ = ["SIDE_COLORS", "metrics_html", "status_html", "banner_text", "messages_html"]

SIDE_COLORS = {"left": (31, 119, 180), "right": (214, 39, 40)}


def metrics_html(snap: LiveSnapshot) -> str:
    """Running metrics table: cadence, stance/swing per side, SI/SA against the healthy band."""
    m = snap.metrics
    sides = list(snap.sides)

    def fmt(v: Any, spec: str = ".2f", unit: str = "") -> str:
        return "–" if v is None or (isinstance(v, float) and not np.isfinite(v)) else f"{v:{spec}}{unit}"

    rows = ["<tr><td></td>" + "".join(f"<td><b style='color:rgb{SIDE_COLORS[s]}'>{s}</b></td>" for s in sides)
            + "</tr>",
            "<tr><td>strides</td>" + "".join(f"<td>{m['n_strides'].get(s, 0)}</td>" for s in sides) + "</tr>",
            "<tr><td>stance</td>" + "".join(
                f"<td>{fmt(m['stance_time_s'].get(s), '.2f', ' s')} ({fmt(m['stance_pct'].get(s), '.0f', '%')})</td>"
                for s in sides) + "</tr>",
            "<tr><td>swing</td>" + "".join(
                f"<td>{fmt(m['swing_time_s'].get(s), '.2f', ' s')} ({fmt(m['swing_pct'].get(s), '.0f', '%')})</td>"
                for s in sides) + "</tr>"]
    html = (f"<div style='font-size:15px'><b>cadence</b> {fmt(m.get('cadence_spm'), '.0f', ' steps/min')}</div>"
            f"<table cellspacing='6'>{''.join(rows)}</table>")
    html += f"<div><b>symmetry</b> (last {m.get('n_symmetry_strides')} steady strides per side)</div><table cellspacing='6'>"
    if len(sides) < 2:
        html += "<tr><td colspan=3>one foot only: not available</td></tr>"
    for metric, label in (("stance_time_s", "stance"), ("swing_time_s", "swing")):
        si = m["si_pct"].get(metric)
        sa = m["sa_pct"].get(metric)
        if si is None:
            early = m.get("early")
            if len(sides) == 2 and early:
                n = min(early["n_strides"].values())
                html += (f"<tr><td>{label}</td><td><i style='color:#666'>SI {early['si_pct'][metric]:+.1f}%</i></td>"
                         f"<td><i style='color:#666'>SA {early['sa_pct'][metric]:+.1f}%</i></td>"
                         f"<td style='color:#666'>provisional: first {n} stride{'s' if n > 1 else ''}</td></tr>")
            elif len(sides) == 2:
                html += f"<tr><td>{label}</td><td colspan=2>waiting for the first strides…</td></tr>"
            continue
        band = HEALTHY_SI_PCT[metric]
        ok = abs(si) <= band
        color = "#2e7d32" if ok else "#c62828"
        html += (f"<tr><td>{label}</td><td><b style='color:{color}'>SI {si:+.1f}%</b></td>"
                 f"<td>SA {sa:+.1f}%</td><td style='color:#666'>healthy |SI| ≤ {band:.1f}%</td></tr>")
    html += "</table><div style='color:#666'>SI &gt; 0: right longer</div>"
    return html


def status_html(snap: LiveSnapshot) -> str:
    """Elapsed time and per-foot frames, lost frames, gaps, link state and battery."""
    e = snap.elapsed_s
    rows = [f"<b>elapsed</b> {int(e // 60):02d}:{int(e % 60):02d}"]
    for side, v in snap.sides.items():
        link_ok = v.link in ("connected", "finished")
        col = "#2e7d32" if link_ok else "#c62828"
        bat = "–" if v.battery_pct is None else f"{v.battery_pct:.0f}%"
        rows.append(f"<b style='color:rgb{SIDE_COLORS[side]}'>{side}</b>: {v.frames} frames, lost "
                    f"{v.lost_frames}, gaps {v.gaps}, link <b style='color:{col}'>{v.link}</b>, battery {bat}")
    return "<br>".join(rows)


def banner_text(snap: LiveSnapshot) -> str:
    """Red banner text: lost links, or the newest error while a foot is stalled ("" hides it)."""
    errors = [t for lvl, t in snap.messages if lvl == "error"]
    if snap.link_down:
        text = "⚠ LINK LOST: " + ", ".join(f"{s} insole ({snap.sides[s].link})" for s in snap.link_down)
    elif errors and any(v.link == "stalled" for v in snap.sides.values()):
        text = "⚠ " + errors[-1]
    else:
        text = ""
    return text


def messages_html(snap: LiveSnapshot) -> str:
    """The last five messages, coloured by level."""
    colors = {"error": "#c62828", "warning": "#e65100", "info": "#555"}
    msgs = snap.messages[-5:]
    return "<br>".join(f"<span style='color:{colors.get(l, '#555')}'>{t}</span>" for l, t in msgs)
