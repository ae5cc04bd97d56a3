"""gaitpf: gait analysis for pressure-sensing shoe insoles.

Public API (imported lazily so that ``import gaitpf.analysis`` never pulls in h5py,
bleak or Qt)::

    rec = gaitpf.read_recording("trial.h5")      # or a gaitndd .hea, gaitpdb .txt, CSV
    res = gaitpf.analyze(rec)
    res.strides      # pandas DataFrame, one row per stride
    res.summary      # dict, JSON-serialisable
    res.symmetry     # pandas DataFrame indexed by metric: res.symmetry.loc["stance_time_s", "si_pct"]
    gaitpf.write_recording("out.h5", rec)

    gaitpf.subjects("recordings")                # subjects with their sessions
    gaitpf.progress("PF001", root="recordings")  # sessions versus baseline (DataFrame)
    gaitpf.compare(["a.h5", "b.h5"])             # recordings of one subject compared
    gaitpf.cohort("recordings", by="treatment")  # a study's tidy table

Every table carries what it is about in ``df.attrs`` (subject, session, trial, sampling
rate, units; what was left out and why).
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.2.0"

_LAZY = {
    "read_recording": ("gaitpf.io", "read_recording"),
    "write_recording": ("gaitpf.io", "write_recording"),
    "analyze": ("gaitpf.analysis", "analyze"),
    "AnalysisParams": ("gaitpf.analysis", "AnalysisParams"),
    "AnalysisResult": ("gaitpf.analysis", "AnalysisResult"),
    "Recording": ("gaitpf.model", "Recording"),
    "FootSignals": ("gaitpf.model", "FootSignals"),
    "SensorLayout": ("gaitpf.model", "SensorLayout"),
    "GaitpfError": ("gaitpf.errors", "GaitpfError"),
    "subjects": ("gaitpf.sessions.api", "subjects"),
    "progress": ("gaitpf.sessions.api", "progress"),
    "compare": ("gaitpf.sessions.api", "compare"),
    "cohort": ("gaitpf.sessions.api", "cohort"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'gaitpf' has no attribute {name!r}") from None
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
