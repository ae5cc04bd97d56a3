"""Live gait view: a thread-safe buffer fed by acquisition, drawn by a pyqtgraph window.

``buffer`` is pure of Qt (numpy/pandas + the analysis core); ``sources`` feeds it from a
recording-and-showing worker, a SWMR file being written, or a replay; ``window`` and
``app`` are the Qt side (imported only by ``gaitpf live``).
"""
from __future__ import annotations

from .buffer import LiveBuffer, LiveSnapshot

__all__ = ["LiveBuffer", "LiveSnapshot"]
