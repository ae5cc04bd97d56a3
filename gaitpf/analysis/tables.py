"""How the analysis results describe themselves: column units, table ``attrs``, a flat summary row.

Pure (numpy/pandas only). Used by :mod:`gaitpf.analysis.pipeline`:

* :func:`column_units` — the unit of a column from the suffix of its name
  (``stance_time_s`` → ``s``, ``impulse_n_s`` → ``N·s``, ``ic_idx`` → ``sample index``);
* :func:`table_attrs` — the ``attrs`` every result table carries (subject, session, trial,
  sampling rate, units), JSON-serialisable so Parquet files keep them;
* :func:`summary_row` — the summary dict as one flat row, names without repetition.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["column_units", "table_attrs", "summary_row"]


def _clean(x: Any) -> Any:
    """JSON-safe scalar: numpy → python, NaN → None."""
    if isinstance(x, (np.floating, float)):
        return None if not np.isfinite(x) else float(x)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    return x



#: Unit of a stride-table column, from the suffix of its name (longest suffix first).
_UNIT_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_pct_bw_per_s", "% body weight/s"), ("_pct_bw_s", "% body weight·s"), ("_pct_bw", "% body weight"),
    ("_n_per_s", "N/s"), ("_n_s", "N·s"), ("_kpa_s", "kPa·s"), ("_au_s", "au·s"), ("_kpa", "kPa"),
    ("_au", "au"), ("_n", "N"), ("_idx", "sample index"), ("_spm", "steps/min"), ("_mm", "mm"),
    ("_deg", "deg"), ("_pct", "%"), ("_s", "s"),
)


def column_units(columns: Any) -> dict[str, str]:
    """``{column: unit}`` for the columns whose name ends in a unit suffix (``stance_time_s`` → ``s``)."""
    out: dict[str, str] = {}
    for c in columns:
        for suffix, unit in _UNIT_SUFFIXES:
            if str(c).endswith(suffix):
                out[str(c)] = unit
                break
    return out


def summary_row(summary: dict[str, Any]) -> dict[str, Any]:
    """One flat row of an analysis summary, names without repetition.

    Nested dicts become ``parent_child`` (``n_strides_left``, ``stance_time_s_si_pct``)
    except where the child's name already starts with the parent's: ``pci`` →
    ``pci_pct``, ``trend_symmetry`` → ``trend_symmetry`` and ``trend_symmetry_aligned``
    (never ``pci_pci_pct`` or ``trend_symmetry_trend_symmetry``). The per-metric
    ``metrics`` block (the symmetry table) and ``params`` are left out; lists are joined
    with ``"; "``. Integers stay integers.
    """
    row: dict[str, Any] = {}

    def walk(prefix: str, obj: Any) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                k = str(k)
                walk(k if (not prefix or k == prefix or k.startswith(prefix + "_")) else f"{prefix}_{k}", v)
        elif isinstance(obj, (list, tuple)):
            row[prefix] = "; ".join(map(str, obj))
        else:
            row[prefix] = _clean(obj)

    for key, value in summary.items():
        if key not in ("metrics", "params"):
            walk(key, value)
    return row


def table_attrs(summary: dict[str, Any], table: pd.DataFrame | None = None) -> dict[str, Any]:
    """The ``attrs`` of a result table: subject, session, trial, sampling rate (Hz), column units.

    JSON-serialisable (pandas writes ``attrs`` into Parquet files).
    """
    out: dict[str, Any] = {k: summary.get(k) for k in ("subject_id", "session", "trial", "sampling_rate_hz")}
    if table is not None:
        out["units"] = column_units(table.columns)
    return out
