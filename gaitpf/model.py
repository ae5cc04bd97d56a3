"""In-memory model of one walking trial: two feet, their sensors, their timing.

This module is part of the *recording* layer but imports only numpy/pandas, so the
pure analysis core may depend on it. HDF5 reading/writing lives in :mod:`gaitpf.io`.

Conventions (see the developers' guide):

* feet are keyed ``"left"`` / ``"right"``, never positional;
* the sampling rate travels with the data (``FootSignals.sampling_rate_hz``);
* events are sample indices, metrics are seconds;
* every quantity carries its unit in its name.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .errors import SignalError

__all__ = [
    "SIDES",
    "REGIONS",
    "ML_ZONES",
    "QUALITY_SATURATED",
    "QUALITY_GAP_BEFORE",
    "QUALITY_INTERPOLATED",
    "SensorLayout",
    "FootSignals",
    "Recording",
    "ANNOTATION_COLUMNS",
    "empty_annotations",
]

SIDES: tuple[str, str] = ("left", "right")
#: Anatomical regions a sensor can belong to (front-to-back order is toes → heel).
REGIONS: tuple[str, ...] = ("heel", "midfoot", "forefoot", "toes")
#: Medial/lateral zone of a sensor.
ML_ZONES: tuple[str, ...] = ("medial", "central", "lateral")

# Per-sample quality flags (bit field, uint8), stored in ``FootSignals.quality``.
QUALITY_SATURATED = np.uint8(1)  #: at least one sensor at its maximum reading
QUALITY_GAP_BEFORE = np.uint8(2)  #: frames were lost immediately before this sample
QUALITY_INTERPOLATED = np.uint8(4)  #: the value was not measured but filled by an importer

#: Columns of the annotations/events table (gaps, markers, notes).
ANNOTATION_COLUMNS: tuple[str, ...] = ("onset_s", "duration_s", "kind", "side", "description")


def empty_annotations() -> pd.DataFrame:
    """Return an empty annotations table with the schema's columns and dtypes."""
    return pd.DataFrame(
        {
            "onset_s": pd.Series(dtype="float64"),
            "duration_s": pd.Series(dtype="float64"),
            "kind": pd.Series(dtype="object"),
            "side": pd.Series(dtype="object"),
            "description": pd.Series(dtype="object"),
        }
    )


@dataclass(frozen=True)
class SensorLayout:
    """Where each sensor of one insole sits.

    Coordinates are in the insole's own frame, in millimetres: ``x_mm`` grows from
    medial to lateral **of that foot** (so left and right layouts are mirror images
    in lab coordinates but identical in this frame), ``y_mm`` grows from heel to toe.

    Parameters
    ----------
    x_mm, y_mm : ndarray, shape (n_sensors,)
        Sensor centre positions in mm (medial→lateral, heel→toe).
    region : tuple of str
        Anatomical region of each sensor, one of :data:`REGIONS`.
    ml_zone : tuple of str
        Medial/lateral zone of each sensor, one of :data:`ML_ZONES`.
    names : tuple of str
        Sensor labels (e.g. ``"L1"``).
    layout_id : str
        Identifier of the layout (e.g. ``"gaitpdb-8"``, ``"gaitpf-16"``).
    area_mm2 : ndarray or None
        Active area per sensor in mm², if known (converts force ↔ pressure).
    """

    x_mm: np.ndarray
    y_mm: np.ndarray
    region: tuple[str, ...]
    ml_zone: tuple[str, ...]
    names: tuple[str, ...]
    layout_id: str = "custom"
    area_mm2: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.names)
        for name in ("x_mm", "y_mm"):
            arr = np.asarray(getattr(self, name), dtype=float)
            if arr.shape != (n,):
                raise SignalError(
                    f"sensor layout {self.layout_id!r}: {name} has shape {arr.shape}, expected ({n},)"
                )
            object.__setattr__(self, name, arr)
        if len(self.region) != n or len(self.ml_zone) != n:
            raise SignalError(f"sensor layout {self.layout_id!r}: region/ml_zone need {n} entries")
        bad = sorted(set(self.region) - set(REGIONS)) + sorted(set(self.ml_zone) - set(ML_ZONES))
        if bad:
            raise SignalError(
                f"sensor layout {self.layout_id!r}: unknown region/zone {bad}; use {REGIONS} and {ML_ZONES}"
            )

    @property
    def n_sensors(self) -> int:
        return len(self.names)


@dataclass(repr=False)
class FootSignals:
    """All samples of one foot.

    Parameters
    ----------
    side : {"left", "right"}
    values : ndarray, shape (n_samples, n_sensors)
        Per-sensor readings in ``unit``. A single-channel foot switch has n_sensors = 1.
    unit : str
        ``"N"`` (calibrated force), ``"kPa"`` (pressure) or ``"au"`` (arbitrary units,
        roughly proportional to force, e.g. gaitndd FSRs).
    sampling_rate_hz : float
        Nominal sampling rate of ``values``.
    time_s : ndarray, shape (n_samples,), optional
        Aligned time of each sample in seconds from the start of the recording (the
        common host time base when two devices are aligned). ``None`` means
        ``arange(n) / sampling_rate_hz``.
    sample_counter : ndarray of int64, optional
        The device's own sample counter for each sample (gaps show as jumps).
    quality : ndarray of uint8, optional
        Per-sample quality bit flags (``QUALITY_*``).
    layout : SensorLayout, optional
        Sensor positions/regions; required for centre-of-pressure and regional metrics.
    device : dict
        Free device/source info (model, serial, firmware, importer, original file...).
    aux : dict of str -> ndarray (n_samples,), optional
        Auxiliary per-sample channels a source delivers besides the sensors (IMU,
        the vendor's own total force and centre of pressure), keyed by a name with its
        unit (``"accel_x_g"``, ``"vendor_total_force_n"``). Not used by the analysis.
    """

    side: str
    values: np.ndarray
    unit: str
    sampling_rate_hz: float
    time_s: np.ndarray | None = None
    sample_counter: np.ndarray | None = None
    quality: np.ndarray | None = None
    layout: SensorLayout | None = None
    device: dict[str, Any] = field(default_factory=dict)
    aux: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.side not in SIDES:
            raise SignalError(f"foot side must be 'left' or 'right', got {self.side!r}")
        values = np.asarray(self.values)
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise SignalError(f"{self.side} foot: values must be 2-D (samples x sensors), got {values.ndim}-D")
        self.values = values
        if not (np.isfinite(self.sampling_rate_hz) and self.sampling_rate_hz > 0):
            raise SignalError(f"{self.side} foot: sampling_rate_hz must be > 0, got {self.sampling_rate_hz!r}")
        n = values.shape[0]
        for name in ("time_s", "sample_counter", "quality"):
            arr = getattr(self, name)
            if arr is not None and len(arr) != n:
                raise SignalError(f"{self.side} foot: {name} has {len(arr)} entries for {n} samples")
        for name, arr in self.aux.items():
            if np.shape(arr) != (n,):
                raise SignalError(f"{self.side} foot: auxiliary channel {name!r} has shape {np.shape(arr)}, expected ({n},)")
        if self.layout is not None and self.layout.n_sensors != values.shape[1]:
            raise SignalError(
                f"{self.side} foot: layout {self.layout.layout_id!r} has {self.layout.n_sensors} sensors "
                f"but the data has {values.shape[1]} columns"
            )

    def __repr__(self) -> str:
        """One line: ``FootSignals(left, 16 sensors @ 100 Hz, 300.0 s, N)`` (not the arrays)."""
        layout = f", layout {self.layout.layout_id}" if self.layout is not None else ""
        return (f"FootSignals({self.side}, {self.n_sensors} sensors @ {self.sampling_rate_hz:g} Hz, "
                f"{self.duration_s:.1f} s, {self.unit}{layout})")

    @property
    def n_samples(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_sensors(self) -> int:
        return int(self.values.shape[1])

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sampling_rate_hz

    def times_s(self) -> np.ndarray:
        """Time of every sample in seconds (``time_s`` or the nominal grid)."""
        if self.time_s is not None:
            return np.asarray(self.time_s, dtype=float)
        return np.arange(self.n_samples, dtype=float) / self.sampling_rate_hz

    def total(self) -> np.ndarray:
        """Sum over sensors, shape (n_samples,), in ``unit`` (NaN-aware)."""
        if self.n_sensors == 1:
            return np.asarray(self.values[:, 0], dtype=float)
        return np.nansum(np.asarray(self.values, dtype=float), axis=1)


@dataclass(repr=False)
class Recording:
    """One walking trial: both feet plus who/when/what.

    Parameters
    ----------
    feet : dict {"left": FootSignals, "right": FootSignals}
        Keyed by side. A recording may hold one foot only (the analysis then reports
        what it can and says that symmetry is unavailable).
    subject_id : str
        Pseudonymous subject id (never a name).
    session, trial : str
        Session and trial labels (``"1"``, ``"baseline"``...).
    body_mass_kg : float or None
        Body mass, if known (scales force thresholds).
    created_utc : str
        ISO-8601 creation time.
    source : dict
        Where the data came from (importer, original path, simulator parameters...).
    annotations : DataFrame
        Events/annotations table with :data:`ANNOTATION_COLUMNS` (gaps, markers).
    truth : dict or None
        Ground-truth events from a simulator (``{"left": DataFrame(ic_idx, to_idx), ...}``).
    metadata : dict
        Further session metadata (treatment, pain score...), JSON-serialisable.
    """

    feet: dict[str, FootSignals]
    subject_id: str = "anonymous"
    session: str = "1"
    trial: str = "1"
    body_mass_kg: float | None = None
    created_utc: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    )
    source: dict[str, Any] = field(default_factory=dict)
    annotations: pd.DataFrame = field(default_factory=empty_annotations)
    truth: dict[str, pd.DataFrame] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.feet:
            raise SignalError("a recording needs at least one foot")
        for key, foot in self.feet.items():
            if key != foot.side:
                raise SignalError(f"foot stored under {key!r} says it is {foot.side!r}")
        rates = {f.sampling_rate_hz for f in self.feet.values()}
        if len(rates) > 1:
            raise SignalError(f"left and right feet have different sampling rates {sorted(rates)} Hz")

    def __repr__(self) -> str:
        """One line: ``Recording(subject=PF01, session=1, trial=1, 2 feet × 16 sensors @ 100 Hz, 300.0 s)``.

        The arrays and truth tables are not printed (``describe()`` gives a dict).
        """
        sensors = sorted({f.n_sensors for f in self.feet.values()})
        n_sensors = "/".join(str(n) for n in sensors)
        feet = "2 feet" if len(self.feet) == 2 else f"{self.sides[0]} foot only"
        n_sensors += " sensor" if sensors == [1] else " sensors"
        units = "/".join(sorted({f.unit for f in self.feet.values()}))
        extra = ", with truth" if self.truth is not None else ""
        return (f"Recording(subject={self.subject_id}, session={self.session}, trial={self.trial}, "
                f"{feet} × {n_sensors} @ {self.sampling_rate_hz:g} Hz, {self.duration_s:.1f} s, "
                f"{units}{extra})")

    __str__ = __repr__

    @property
    def sampling_rate_hz(self) -> float:
        return next(iter(self.feet.values())).sampling_rate_hz

    @property
    def sides(self) -> tuple[str, ...]:
        return tuple(s for s in SIDES if s in self.feet)

    @property
    def duration_s(self) -> float:
        return max(f.duration_s for f in self.feet.values())

    def replace(self, **changes: Any) -> "Recording":
        """Return a shallow copy with some fields replaced (recordings are treated as immutable)."""
        return dataclasses.replace(self, **changes)

    def describe(self) -> Mapping[str, Any]:
        """A short JSON-serialisable description (for logs and ``gaitpf info``)."""
        return {
            "subject_id": self.subject_id,
            "session": self.session,
            "trial": self.trial,
            "sampling_rate_hz": self.sampling_rate_hz,
            "duration_s": round(self.duration_s, 3),
            "feet": {
                s: {"n_samples": f.n_samples, "n_sensors": f.n_sensors, "unit": f.unit}
                for s, f in self.feet.items()
            },
        }
