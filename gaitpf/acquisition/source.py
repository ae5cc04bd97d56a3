"""The one source protocol: every source yields the same frame blocks.

Real BLE insoles, virtual insoles (over a fake BlueZ), and replay of a finished file all
produce :class:`FrameBlock` objects, so the recorder, the live view, the tests and the demo
run the same code with or without hardware (the pattern of BrainFlow's synthetic/playback
boards and mne-lsl's player).

A source is an *async iterator* of ``FrameBlock`` plus ``status()``; it is started with
``async with source:`` and stopped by leaving the context. Sources never block the event loop:
a BLE notification callback only enqueues bytes; decoding happens in the consumer task.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Protocol, runtime_checkable

import numpy as np

__all__ = ["FrameBlock", "LinkEvent", "SourceStatus", "FrameSource"]


@dataclass(frozen=True)
class FrameBlock:
    """Consecutive frames of one foot, in device order, as received.

    Attributes
    ----------
    side : {"left", "right"}
    values : ndarray, shape (m, n_sensors)
        Sensor readings in the device's calibrated unit (see the foot's ``unit``).
    sample_counter : ndarray of int64, shape (m,)
        Unwrapped device sample counter of each frame (strictly increasing; jumps = lost frames).
    device_time_s : ndarray of float64, shape (m,)
        ``sample_counter / nominal sampling_rate_hz`` (the device's own clock).
    host_time_s : ndarray of float64, shape (m,)
        Host receive time of the packet that carried each frame (``time.monotonic`` based,
        relative to the recording start).
    time_s : ndarray of float64, shape (m,)
        Aligned time on the common host time base (drift-corrected device time).
    quality : ndarray of uint8, shape (m,)
        ``gaitpf.model.QUALITY_*`` flags (``QUALITY_GAP_BEFORE`` on the first frame after a gap).
    battery_pct : float or None
        Last battery reading carried in this block, if any.
    """

    side: str
    values: np.ndarray
    sample_counter: np.ndarray
    device_time_s: np.ndarray
    host_time_s: np.ndarray
    time_s: np.ndarray
    quality: np.ndarray
    battery_pct: float | None = None

    @property
    def n_frames(self) -> int:
        return int(self.values.shape[0])


@dataclass(frozen=True)
class LinkEvent:
    """A change of a link's state, yielded in-band so consumers can record gaps.

    ``kind`` is one of ``"connected"``, ``"disconnected"``, ``"silent"`` (no notification
    for the watchdog interval), ``"reconnecting"``, ``"gap"`` (frames lost: ``n_frames``,
    ``start_s``/``end_s`` on the aligned time base).
    """

    side: str
    kind: str
    host_time_s: float
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class SourceStatus:
    """Running counters of a source, per side (for status lines and ``--stats``).

    ``frames`` counts frames as the source decodes and queues them, so it can run ahead
    of what a consumer has taken from the iterator by what is still queued.
    """

    frames: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    lost_frames: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    gaps: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    bad_packets: dict[str, int] = field(default_factory=lambda: {"left": 0, "right": 0})
    link: dict[str, str] = field(default_factory=lambda: {"left": "idle", "right": "idle"})
    battery_pct: dict[str, float | None] = field(default_factory=lambda: {"left": None, "right": None})
    clock_residual_ms: dict[str, float | None] = field(default_factory=lambda: {"left": None, "right": None})


@runtime_checkable
class FrameSource(Protocol):
    """What every source implements."""

    sampling_rate_hz: float
    unit: str

    async def __aenter__(self) -> "FrameSource": ...

    async def __aexit__(self, *exc: object) -> None: ...

    def __aiter__(self) -> AsyncIterator[FrameBlock | LinkEvent]: ...

    def status(self) -> SourceStatus: ...

    def foot_specs(self) -> dict[str, Any]:
        """Per side: n_sensors, unit, sampling_rate_hz, layout, device (for the writer)."""
        ...
