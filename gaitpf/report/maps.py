"""Insole drawings: pressure maps (baseline, latest, difference) and loaded gait lines.

The insole outline is gaitpf's documented reference outline
(:func:`gaitpf.layouts.foot_outline_mm`, 260 mm, EU ~41) scaled up, if needed, until every
sensor of the layout lies inside it with a 4 mm margin; so the outline follows the layout
and a custom layout is never drawn outside its insole. Feet are seen from above: the left
foot is mirrored so that both show medial towards the body's midline. Each sensor is a
disc (its true size when the area is known, else 6 mm radius; squares for grids) coloured
by its value — no interpolation between sensors, so the map shows only what was measured.
"""
from __future__ import annotations

import logging
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import colors  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

from ..layouts import foot_outline_mm  # noqa: E402
from ..model import SensorLayout  # noqa: E402
from .plots import literal  # noqa: E402

__all__ = ["insole_outline", "pressure_maps_figure", "cop_figure", "QUANTITIES"]

log = logging.getLogger(__name__)

#: quantity -> (title words, unit suffix for absolute maps)
QUANTITIES = {"peak": ("mean peak pressure", ""), "pti": ("pressure–time integral", "·s")}


def insole_outline(layout: SensorLayout, margin_mm: float = 4.0) -> np.ndarray:
    """Reference outline scaled (≥ 1×, about the heel centre) until all sensors are inside."""
    ref = foot_outline_mm()
    pts = np.column_stack([layout.x_mm, layout.y_mm])
    pts = pts[np.isfinite(pts).all(axis=1)]
    for s in np.arange(1.0, 3.0, 0.02):
        path = MplPath(ref * s)
        if len(pts) == 0 or path.contains_points(pts, radius=-2 * margin_mm).all():
            return ref * s
    return ref * 3.0


def _view_x(x: np.ndarray, side: str) -> np.ndarray:
    return -np.asarray(x, float) if side == "left" else np.asarray(x, float)


def _sensor_radius(layout: SensorLayout) -> np.ndarray:
    if layout.area_mm2 is not None:
        a = np.asarray(layout.area_mm2, float)
        if np.all(np.isfinite(a) & (a > 0)):
            return np.sqrt(a / np.pi)
    return np.full(layout.n_sensors, 6.0)


def _draw_foot(ax: Any, layout: SensorLayout, side: str, values: np.ndarray | None, *, norm: Any, cmap: Any,
               cop: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
    out = insole_outline(layout)
    ax.fill(_view_x(out[:, 0], side), out[:, 1], facecolor="#f4f4f4", edgecolor="0.35", lw=1.0, zorder=1)
    x, y = _view_x(layout.x_mm, side), layout.y_mm
    sc = None
    if values is not None:
        r = _sensor_radius(layout)
        grid = layout.layout_id.startswith("grid-")
        v = np.asarray(values, float)
        fin = np.isfinite(v)
        if grid:
            sc = ax.scatter(x[fin], y[fin], c=v[fin], cmap=cmap, norm=norm, marker="s", s=6, linewidths=0, zorder=2)
        else:
            from matplotlib.collections import PatchCollection
            from matplotlib.patches import Circle

            pc = PatchCollection([Circle((xi, yi), ri) for xi, yi, ri in zip(x[fin], y[fin], r[fin])],
                                 cmap=cmap, norm=norm, edgecolor="0.3", linewidth=0.4, zorder=2)
            pc.set_array(v[fin])
            ax.add_collection(pc)
            sc = pc
        if (~fin).any():
            ax.scatter(x[~fin], y[~fin], marker="x", color="0.5", s=12, zorder=2)
    else:
        ax.scatter(x, y, s=8, color="0.6", zorder=2)
    if cop is not None:
        ax.plot(_view_x(cop[0], side), cop[1], color="k", lw=1.2, zorder=3)
    ax.set_aspect("equal")
    ax.set_xlim(_view_x(out[:, 0], side).min() - 6, _view_x(out[:, 0], side).max() + 6)
    ax.set_ylim(-6, out[:, 1].max() + 6)
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    return sc


def _unit_text(fm: Any, quantity: str) -> str:
    base = f"{fm.unit}{QUANTITIES[quantity][1]}"
    return base if fm.absolute else f"relative, {base}/sensor"


def pressure_maps_figure(ctx: Any, quantity: str = "peak", *, sides: tuple[str, ...] | None = None,
                         width_in: float = 7.2, height_in: float = 3.15) -> tuple[Figure | None, str]:
    """Rows = feet (affected first), columns = baseline, latest, latest − baseline.

    Returns
    -------
    (figure or None, what is missing / left out)
    """
    labels = [lab for lab in ctx.used_labels if lab in ctx.maps and ctx.maps[lab].feet]
    if not labels:
        return None, "no session with a sensor layout and steady strides (pressure per sensor needs positions)"
    b, last = labels[0], labels[-1]
    sides = sides or (ctx.ref_side, ctx.unaffected_side)
    sides = tuple(s for s in sides if s in ctx.maps[b].feet or s in ctx.maps[last].feet)
    if not sides:
        return None, "no foot with a pressure map"
    cols = 3 if last != b else 1
    notes = []
    fig, axes = plt.subplots(len(sides), cols, figsize=(width_in if cols == 3 else width_in / 2.4,
                                                       height_in * len(sides)), squeeze=False)
    for i, side in enumerate(sides):
        mb, ml = ctx.maps[b].feet.get(side), ctx.maps[last].feet.get(side)
        present = [m for m in (mb, ml) if m is not None]
        shared = len({m.key for m in present}) == 1
        cmap = plt.get_cmap("YlOrRd")

        def norm_of(ms: list[Any]) -> Any:
            vm = max(float(np.nanmax(getattr(m, quantity))) for m in ms) if ms else 1.0
            return colors.Normalize(0.0, vm if vm > 0 else 1.0)

        norm = norm_of(present)
        vmax = norm.vmax
        role = "affected" if side == ctx.affected_side else ("unaffected" if ctx.affected_side else "")
        foot_title = f"{side} foot" + (f" ({role})" if role else "")
        sc = None
        panels = ((b, mb), (last, ml))[:1 if cols == 1 else 2]
        for j, (lab, m) in enumerate(panels):
            ax = axes[i, j]
            if m is None:
                ax.axis("off")
                ax.text(0.5, 0.5, f"{literal(lab)}: no map", ha="center", transform=ax.transAxes, fontsize=8)
                continue
            own = norm if shared else norm_of([m])
            sc = _draw_foot(ax, m.layout, side, getattr(m, quantity), norm=own, cmap=cmap, cop=None) or sc
            ax.set_title(f"{foot_title}\n{literal(lab)}{' (baseline)' if lab == b else ' (latest)'}, "
                         f"{m.n_strides} strides", fontsize=8)
            if not shared:  # different units/layouts: each map gets its own scale
                cb = fig.colorbar(sc, ax=ax, shrink=0.8, pad=0.02)
                cb.set_label(f"{QUANTITIES[quantity][0]} ({_unit_text(m, quantity)})", fontsize=6)
                cb.ax.tick_params(labelsize=6)
        if sc is not None and shared:
            cb = fig.colorbar(sc, ax=list(axes[i, :len(panels)]), shrink=0.8, pad=0.02)
            cb.set_label(f"{QUANTITIES[quantity][0]} ({_unit_text(present[0], quantity)})", fontsize=7)
            cb.ax.tick_params(labelsize=7)
        if cols == 3:
            ax = axes[i, 2]
            if mb is not None and ml is not None and mb.key == ml.key:
                d = getattr(ml, quantity) - getattr(mb, quantity)
                lim = float(np.nanmax(np.abs(d))) if np.isfinite(d).any() else 1.0
                lim = max(lim, 0.05 * vmax, 1e-9)
                dn = colors.TwoSlopeNorm(0.0, -lim, lim)
                sd = _draw_foot(ax, ml.layout, side, d, norm=dn, cmap=plt.get_cmap("RdBu_r"))
                ax.set_title(f"{foot_title}\ndifference {literal(last)} − {literal(b)}", fontsize=8)
                cb = fig.colorbar(sd, ax=ax, shrink=0.8, pad=0.02)
                cb.set_label(f"change ({_unit_text(ml, quantity)}); red = more", fontsize=7)
                cb.ax.tick_params(labelsize=7)
            else:
                ax.axis("off")
                why = "sensor layout or unit differs from the baseline" if (mb and ml) else "a map is missing"
                ax.text(0.5, 0.5, "no difference map\n(see the note\nbelow the figure)", ha="center", va="center",
                        transform=ax.transAxes, fontsize=8)
                notes.append(f"{side} foot: no difference map ({why})")
    rel = sorted({f"{lab} {side}" for lab in (b, last) for side, m in ctx.maps[lab].feet.items()
                  if side in sides and not m.absolute})
    relative = bool(rel)
    if rel:
        notes.append("relative maps (sensor area unknown, reading units per sensor): " + ", ".join(rel))
    fig.text(0.5, 0.005, "Seen from above; each disc is one sensor (× = unusable channel). Mean over steady strides."
             + (" Relative: sensor area unknown, reading units per sensor." if relative else ""),
             ha="center", fontsize=7, color="0.3")
    return fig, "; ".join(notes)


def cop_figure(ctx: Any) -> tuple[Figure | None, str]:
    """Mean gait line of every session on the insole, left and right foot, loaded phase only."""
    labels = [lab for lab in ctx.used_labels if lab in ctx.maps]
    lines = {s: [(k, lab, ctx.maps[lab].feet[s]) for k, lab in enumerate(labels)
                 if s in ctx.maps[lab].feet and ctx.maps[lab].feet[s].cop_x_mm is not None]
             for s in ("left", "right")}
    if not any(lines.values()):
        return None, "no sensor layout with steady strides for a centre of pressure"
    fig, axes = plt.subplots(1, 2, figsize=(6.0, 4.6))
    cmap = plt.get_cmap("viridis")
    for ax, side in zip(axes, ("left", "right")):
        if not lines[side]:
            ax.axis("off")
            ax.text(0.5, 0.5, f"{side} foot: no gait line", ha="center", transform=ax.transAxes)
            continue
        lay = lines[side][-1][2].layout
        _draw_foot(ax, lay, side, None, norm=None, cmap=None)
        for k, lab, fm in lines[side]:
            ax.plot(_view_x(fm.cop_x_mm, side), fm.cop_y_mm, color=cmap(0.85 * k / max(len(labels) - 1, 1)), lw=1.6,
                    label=literal(lab), zorder=3)
        role = "affected" if side == ctx.affected_side else ("unaffected" if ctx.affected_side else "")
        ax.set_title(f"{side} foot" + (f" ({role})" if role else ""), fontsize=9)
        ax.text(0.02, 0.01, "medial" if side == "left" else "lateral", transform=ax.transAxes, fontsize=7,
                ha="left", color="0.4")
        ax.text(0.98, 0.01, "lateral" if side == "left" else "medial", transform=ax.transAxes, fontsize=7,
                ha="right", color="0.4")
    handles, labs = [], []
    for ax in axes:
        h, lb = ax.get_legend_handles_labels()
        for hh, ll in zip(h, lb):
            if ll not in labs:
                handles.append(hh)
                labs.append(ll)
    fig.legend(handles, labs, title="session", fontsize=7, title_fontsize=7, loc="center right")
    fig.text(0.5, 0.01, "Centre of pressure from heel strike to toe-off, drawn only while the foot carries ≥ 10 % of "
             "its stance peak load; seen from above (grey dots: sensors).", ha="center", fontsize=7, color="0.3",
             wrap=True)
    fig.subplots_adjust(left=0.02, right=0.84, top=0.93, bottom=0.08, wspace=0.05)
    return fig, ""
