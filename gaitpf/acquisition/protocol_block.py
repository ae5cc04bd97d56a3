"""What the data-notification decoder returns: decoded frames, drop counts, counter unwrapping.

:class:`DecodedBlock` holds the packets and frames :func:`~.protocol_decode.decode_packets`
kept, :class:`DecodeStats` counts the kept and dropped notifications per
:data:`REJECT_REASONS` entry, and :func:`unwrap_counter` turns the wrapping u32 sample counter
into a monotonic int64 one. Import everything from :mod:`gaitpf.acquisition.protocol`, which
re-exports every public name here.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

__all__ = ["REJECT_REASONS", "DecodeStats", "DecodedBlock", "unwrap_counter"]

#: Rejection reasons, in the order they are checked (the first failing one is counted).
REJECT_REASONS: tuple[str, ...] = (
    "truncated", "bad_version", "bad_flags", "wrong_sensor_count", "empty", "too_long", "bad_crc",
)


@dataclass
class DecodeStats:
    """How many notifications were decoded (``ok``) or dropped, per reason."""

    ok: int = 0
    truncated: int = 0
    bad_version: int = 0
    bad_flags: int = 0
    wrong_sensor_count: int = 0
    empty: int = 0
    too_long: int = 0
    bad_crc: int = 0

    @property
    def rejected(self) -> int:
        return sum(getattr(self, r) for r in REJECT_REASONS)

    @property
    def total(self) -> int:
        return self.ok + self.rejected

    def add(self, other: "DecodeStats") -> "DecodeStats":
        """Add ``other``'s counts to this one in place and return self (running totals)."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class DecodedBlock:
    """Frames decoded from a list of notifications (arrival order kept).

    Per decoded packet (length ``n_packets``): ``seq`` (uint16), ``first_counter`` (int64,
    unwrapped), ``n_frames`` (int64), ``flags`` (uint8), ``source_index`` (int64, position in
    the input list), ``battery_pct`` (float32, NaN if absent), ``imu`` (float32 (n_packets, 6)
    in LSB, NaN rows where absent; ``None`` if no packet had an IMU block).

    Per frame (length ``n_frames_total``): ``counter`` (int64, unwrapped), ``values``
    (uint16 (n, n_sensors) raw ADC), ``packet_index`` (int64, position in the input list).
    """

    n_sensors: int
    seq: np.ndarray
    first_counter: np.ndarray
    n_frames: np.ndarray
    flags: np.ndarray
    source_index: np.ndarray
    battery_pct: np.ndarray
    imu: np.ndarray | None
    counter: np.ndarray
    values: np.ndarray
    packet_index: np.ndarray
    stats: DecodeStats = field(default_factory=DecodeStats)
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def n_packets(self) -> int:
        return int(self.seq.shape[0])

    @property
    def n_frames_total(self) -> int:
        return int(self.counter.shape[0])

    @property
    def last_counter(self) -> int | None:
        """Unwrapped counter of the last decoded packet's first frame (for chaining)."""
        return int(self.first_counter[-1]) if self.n_packets else None

    @property
    def last_battery_pct(self) -> int | None:
        ok = self.battery_pct[~np.isnan(self.battery_pct)]
        return int(ok[-1]) if ok.size else None


def unwrap_counter(raw: np.ndarray, *, previous: int | None = None, bits: int = 32) -> np.ndarray:
    """Unwrap a wrapping counter given in arrival order.

    Each value is placed at the signed distance (|d| < 2**(bits-1)) from the value before it,
    the first one relative to ``previous`` (an unwrapped value) or, without it, at its raw value.
    """
    raw = np.asarray(raw, dtype=np.int64)
    if raw.size == 0:
        return raw.copy()
    mod, half = np.int64(1) << bits, np.int64(1) << (bits - 1)
    d = (np.diff(raw) + half) % mod - half
    if previous is None:
        first = raw[0]
    else:
        first = np.int64(previous) + (raw[0] - np.int64(previous) % mod + half) % mod - half
    out = np.empty_like(raw)
    out[0] = first
    np.cumsum(d, out=out[1:])
    out[1:] += first
    return out


def _empty_block(n_sensors: int, stats: DecodeStats, rejected: list[tuple[int, str]]) -> DecodedBlock:
    i64 = np.zeros(0, np.int64)
    return DecodedBlock(n_sensors, np.zeros(0, np.uint16), i64, i64.copy(), np.zeros(0, np.uint8),
                        i64.copy(), np.zeros(0, np.float32), None, i64.copy(),
                        np.zeros((0, n_sensors), np.uint16), i64.copy(), stats, rejected)
