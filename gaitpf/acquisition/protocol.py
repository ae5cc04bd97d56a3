"""The insole's BLE wire protocol: "gaitpf insole protocol 1.0".

The normative description (with byte tables, bandwidth arithmetic and test vectors) is
``firmware_notes/protocol.md``; this module is its reference implementation.

Data notification (all integers little-endian)::

    off size field
    0   1    version            = PACKET_VERSION (1)
    1   1    flags              bit0 IMU block, bit1 battery byte, bit2 12-bit packed samples
    2   2    seq                u16 packet sequence number, +1 per packet, wraps at 2**16
    4   4    first_counter      u32 device sample counter of the first frame, wraps at 2**32
    8   1    n_frames           frames in this packet (1..255)
    9   1    n_sensors          sensors per frame (must equal the identity's sensor count)
    10  S    samples            n_frames x n_sensors, frame-major; u16, or 12-bit packed
                                (two samples in 3 bytes: a | b << 12, odd count padded)
    ..  12   imu (optional)     i16 x 6: ax, ay, az (IMU_ACCEL_G_PER_LSB), gx, gy, gz
                                (IMU_GYRO_DPS_PER_LSB), taken with the first frame
    ..  1    battery (optional) u8 percent (0..100)
    ..  2    crc                CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of all bytes before

:func:`decode_packets` decodes many notifications at once with numpy (headers gathered
from one joined buffer, CRC and samples per group of same-shaped packets as one byte matrix);
batches of up to ``_SMALL_BATCH`` packets take a per-packet path with identical results, which
is faster there (measured in ``benchmarks/bench_protocol_clock.py``). Malformed packets are
counted in :class:`DecodeStats` and dropped, never raised.

Identity, control and advertising messages live in :mod:`.protocol_messages` and are
re-exported here; import everything from this module.
"""
from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass, field, fields

import numpy as np

from .protocol_messages import (
    AdvertInfo,
    ControlCommand,
    ControlOp,
    ControlResponse,
    ControlStatus,
    DeviceIdentity,
    ProtocolError,
    crc16,
    decode_control,
    decode_control_response,
    decode_identity,
    decode_manufacturer_data,
    encode_control,
    encode_control_response,
    encode_identity,
    encode_manufacturer_data,
    local_name,
    parse_local_name,
)

__all__ = [
    "PROTOCOL_VERSION", "PACKET_VERSION", "UUID_BASE", "SERVICE_UUID", "DATA_CHAR_UUID",
    "CONTROL_CHAR_UUID", "IDENTITY_CHAR_UUID", "BATTERY_SERVICE_UUID", "BATTERY_LEVEL_CHAR_UUID",
    "MANUFACTURER_ID", "FLAG_IMU", "FLAG_BATTERY", "FLAG_PACKED12", "HEADER_SIZE", "CRC_SIZE",
    "IMU_SIZE", "IMU_ACCEL_G_PER_LSB", "IMU_GYRO_DPS_PER_LSB", "REJECT_REASONS",
    "ProtocolError", "crc16", "packet_size", "max_frames_per_packet", "encode_packet",
    "DecodeStats", "DecodedBlock", "decode_packets", "unwrap_counter",
    "DeviceIdentity", "encode_identity", "decode_identity",
    "ControlOp", "ControlStatus", "ControlCommand", "ControlResponse", "encode_control",
    "decode_control", "encode_control_response", "decode_control_response",
    "AdvertInfo", "local_name", "parse_local_name", "encode_manufacturer_data",
    "decode_manufacturer_data",
]

#: Human-readable protocol version (major.minor); the data packet layout is frozen per major.
PROTOCOL_VERSION = "1.0"
#: Value of the first byte of every data notification.
PACKET_VERSION = 1

UUID_BASE = "6a4e{:04x}-b7c5-4e2a-9f61-3d0c8a5e2f14"
SERVICE_UUID = UUID_BASE.format(0x0001)  #: primary service, advertised
DATA_CHAR_UUID = UUID_BASE.format(0x0002)  #: data packets (notify)
CONTROL_CHAR_UUID = UUID_BASE.format(0x0003)  #: commands (write with response) + replies (notify)
IDENTITY_CHAR_UUID = UUID_BASE.format(0x0004)  #: device identity (read)
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"  #: standard Battery Service
BATTERY_LEVEL_CHAR_UUID = "00002a19-0000-1000-8000-00805f9b34fb"  #: standard Battery Level
#: Bluetooth SIG company id reserved for tests/unassigned vendors; key of the manufacturer data.
MANUFACTURER_ID = 0xFFFF

FLAG_IMU = 0x01
FLAG_BATTERY = 0x02
FLAG_PACKED12 = 0x04
_KNOWN_FLAGS = FLAG_IMU | FLAG_BATTERY | FLAG_PACKED12
HEADER_SIZE = 10
CRC_SIZE = 2
IMU_SIZE = 12
IMU_ACCEL_G_PER_LSB = 1.0 / 4096.0  #: ±8 g full scale
IMU_GYRO_DPS_PER_LSB = 1.0 / 16.4  #: ±2000 °/s full scale
_HEADER = struct.Struct("<BBHIBB")

#: Rejection reasons, in the order they are checked (the first failing one is counted).
REJECT_REASONS: tuple[str, ...] = (
    "truncated", "bad_version", "bad_flags", "wrong_sensor_count", "empty", "too_long", "bad_crc",
)


def _sample_bytes(n_values: int, packed12: bool) -> int:
    return 3 * ((n_values + 1) // 2) if packed12 else 2 * n_values


def packet_size(n_frames: int, n_sensors: int, *, sample_width_bits: int = 16,
                imu: bool = False, battery: bool = False) -> int:
    """Size in bytes of a data notification with this content."""
    return (HEADER_SIZE + _sample_bytes(n_frames * n_sensors, sample_width_bits == 12)
            + IMU_SIZE * imu + battery + CRC_SIZE)


def max_frames_per_packet(n_sensors: int, *, att_mtu: int = 247, sample_width_bits: int = 16,
                          imu: bool = False, battery: bool = False) -> int:
    """Most frames one notification can carry with ATT MTU ``att_mtu`` (payload = MTU − 3).

    Returns 0 when not even one frame fits (e.g. 16 sensors at the default MTU of 23).
    """
    payload = att_mtu - 3
    n = 0
    while n < 255 and packet_size(n + 1, n_sensors, sample_width_bits=sample_width_bits,
                                  imu=imu, battery=battery) <= payload:
        n += 1
    return n


def encode_packet(*, seq: int, first_counter: int, frames: np.ndarray,
                  battery_pct: int | None = None, imu: np.ndarray | None = None,
                  sample_width_bits: int = 16) -> bytes:
    """Encode one data notification.

    Parameters
    ----------
    seq : int
        Packet sequence number (taken modulo 2**16).
    first_counter : int
        Device sample counter of ``frames[0]`` (taken modulo 2**32).
    frames : array-like of int, shape (n_frames, n_sensors)
        Raw ADC readings, 0..65535 (0..4095 when ``sample_width_bits == 12``).
    battery_pct : int, optional
        Battery level 0..100 %; adds the battery byte.
    imu : array-like of int, shape (6,), optional
        ax, ay, az, gx, gy, gz in LSB (int16); adds the IMU block.
    sample_width_bits : {16, 12}

    Raises
    ------
    ValueError
        If an argument is out of range (a caller bug, not a link problem).
    """
    arr = np.asarray(frames)
    if arr.ndim != 2 or not (1 <= arr.shape[0] <= 255) or not (1 <= arr.shape[1] <= 255):
        raise ValueError(f"frames must have shape (1..255, 1..255), got {arr.shape}")
    if sample_width_bits not in (12, 16):
        raise ValueError(f"sample_width_bits must be 12 or 16, got {sample_width_bits}")
    vmax = 4095 if sample_width_bits == 12 else 65535
    if arr.size and (arr.min() < 0 or arr.max() > vmax):
        raise ValueError(f"sample values must lie in 0..{vmax} for {sample_width_bits}-bit samples")
    flat = arr.astype(np.uint32).ravel()
    flags = 0
    if sample_width_bits == 12:
        flags |= FLAG_PACKED12
        if flat.size % 2:
            flat = np.append(flat, np.uint32(0))
        word = flat[0::2] | (flat[1::2] << 12)
        body = np.stack([word & 0xFF, (word >> 8) & 0xFF, word >> 16], axis=1).astype(np.uint8).tobytes()
    else:
        body = flat.astype("<u2").tobytes()
    tail = b""
    if imu is not None:
        imu_arr = np.asarray(imu).ravel()
        if imu_arr.shape != (6,) or imu_arr.min() < -32768 or imu_arr.max() > 32767:
            raise ValueError("imu must be 6 int16 values (ax, ay, az, gx, gy, gz)")
        flags |= FLAG_IMU
        tail += imu_arr.astype("<i2").tobytes()
    if battery_pct is not None:
        if not 0 <= int(battery_pct) <= 100:
            raise ValueError(f"battery_pct must be 0..100, got {battery_pct}")
        flags |= FLAG_BATTERY
        tail += bytes([int(battery_pct)])
    head = _HEADER.pack(PACKET_VERSION, flags, seq % 65536, first_counter % 2**32, arr.shape[0], arr.shape[1])
    msg = head + body + tail
    return msg + struct.pack("<H", crc16(msg))


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


def decode_packets(packets: list[bytes], *, n_sensors: int, previous_counter: int | None = None) -> DecodedBlock:
    """Decode many data notifications at once.

    Parameters
    ----------
    packets : list of bytes-like
        Notifications in arrival order.
    n_sensors : int
        The device's sensor count (from its identity); other counts are rejected.
    previous_counter : int, optional
        Unwrapped counter of the previous block's last packet; counters are unwrapped
        relative to it (otherwise relative to the first packet's raw value).

    Returns
    -------
    DecodedBlock
        Malformed packets are dropped and counted by reason; this function never raises
        on packet content.
    """
    if n_sensors < 1:
        raise ValueError(f"n_sensors must be >= 1, got {n_sensors}")
    n_in = len(packets)
    if 0 < n_in <= _SMALL_BATCH:
        return _decode_small(packets, n_sensors, previous_counter)
    stats, rejected = DecodeStats(), []
    if n_in == 0:
        return _empty_block(n_sensors, stats, rejected)
    lens = np.fromiter(map(len, packets), dtype=np.int64, count=n_in)
    buf = np.frombuffer(b"".join(packets), dtype=np.uint8)
    starts = np.zeros(n_in, np.int64)
    np.cumsum(lens[:-1], out=starts[1:])
    reason = np.zeros(n_in, np.int8)  # 0 = ok, i+1 = REJECT_REASONS[i]
    reason[lens < HEADER_SIZE + CRC_SIZE] = 1
    cand = np.flatnonzero(reason == 0)
    hdr = buf[starts[cand, None] + np.arange(HEADER_SIZE)].astype(np.int64)
    version, flags, n_frames, n_sens = hdr[:, 0], hdr[:, 1], hdr[:, 8], hdr[:, 9]
    packed = (flags & FLAG_PACKED12) != 0
    n_vals = n_frames * n_sens
    expected = (HEADER_SIZE + np.where(packed, 3 * ((n_vals + 1) // 2), 2 * n_vals)
                + IMU_SIZE * (flags & FLAG_IMU) + ((flags & FLAG_BATTERY) >> 1) + CRC_SIZE)
    checks = (version != PACKET_VERSION, (flags & ~_KNOWN_FLAGS) != 0, n_sens != n_sensors,
              n_frames == 0, lens[cand] < expected, lens[cand] > expected)
    r = np.zeros(cand.size, np.int8)
    for code, bad in zip((2, 3, 4, 5, 1, 6), checks):
        r[(r == 0) & bad] = code
    reason[cand] = r
    # Group structurally valid packets by shape (n_frames, flags): one (n, length) byte matrix
    # per group, CRC-checked and decoded with whole-array numpy operations.
    ok_c = r == 0
    keys_c = n_frames * 256 + flags
    groups: list[tuple[int, np.ndarray, np.ndarray]] = []
    for key in np.unique(keys_c[ok_c]).tolist():
        idx = cand[ok_c & (keys_c == key)]
        mat = _byte_matrix(packets, buf, starts, idx, int(lens[idx[0]]))
        crc_ok = _crc_ok(mat)
        reason[idx[~crc_ok]] = 7
        groups.append((key, idx[crc_ok], mat[crc_ok]))
    bad_idx = np.flatnonzero(reason)
    if bad_idx.size:
        counts = np.bincount(reason[bad_idx], minlength=len(REJECT_REASONS) + 1)
        for k, name in enumerate(REJECT_REASONS, start=1):
            setattr(stats, name, int(counts[k]))
        rejected = [(int(i), REJECT_REASONS[reason[i] - 1]) for i in bad_idx.tolist()]
    good = np.flatnonzero(reason == 0)
    stats.ok = int(good.size)
    if good.size == 0:
        return _empty_block(n_sensors, stats, rejected)
    g_hdr = hdr[np.searchsorted(cand, good)]
    g_flags, g_nf = g_hdr[:, 1], g_hdr[:, 8]
    seq = (g_hdr[:, 2] | (g_hdr[:, 3] << 8)).astype(np.uint16)
    raw_counter = g_hdr[:, 4] | (g_hdr[:, 5] << 8) | (g_hdr[:, 6] << 16) | (g_hdr[:, 7] << 24)
    first_counter = unwrap_counter(raw_counter, previous=previous_counter)
    out_start = np.zeros(good.size, np.int64)
    np.cumsum(g_nf[:-1], out=out_start[1:])
    total = int(out_start[-1] + g_nf[-1])
    values = np.empty((total, n_sensors), np.uint16)
    battery = np.full(good.size, np.nan, np.float32)
    imu = np.full((good.size, 6), np.nan, np.float32) if np.any(g_flags & FLAG_IMU) else None
    for key, idx, mat in groups:
        if idx.size == 0:
            continue
        sel = np.searchsorted(good, idx)
        nf, fl = key >> 8, key & 0xFF
        nb = _sample_bytes(nf * n_sensors, bool(fl & FLAG_PACKED12))
        body = mat[:, HEADER_SIZE:HEADER_SIZE + nb]
        if fl & FLAG_PACKED12:
            vals = _unpack12(body, nf * n_sensors)
        else:
            vals = np.ascontiguousarray(body).view("<u2")
        if sel.size == good.size:  # the common case: one group holds every packet
            values[:] = vals.reshape(-1, n_sensors)
        else:
            values[(out_start[sel, None] + np.arange(nf)).ravel()] = vals.reshape(-1, n_sensors)
        pos = HEADER_SIZE + nb
        if fl & FLAG_IMU:
            imu[sel] = np.ascontiguousarray(mat[:, pos:pos + IMU_SIZE]).view("<i2")
            pos += IMU_SIZE
        if fl & FLAG_BATTERY:
            battery[sel] = mat[:, pos]
    within = np.arange(total, dtype=np.int64) - np.repeat(out_start, g_nf)
    return DecodedBlock(
        n_sensors=n_sensors, seq=seq, first_counter=first_counter, n_frames=g_nf.astype(np.int64),
        flags=g_flags.astype(np.uint8), source_index=good.astype(np.int64), battery_pct=battery,
        imu=imu, counter=np.repeat(first_counter, g_nf) + within, values=values,
        packet_index=np.repeat(good.astype(np.int64), g_nf), stats=stats, rejected=rejected,
    )


def _unpack12(body: np.ndarray, n_values: int) -> np.ndarray:
    """(m, 3·ceil(n/2)) packed bytes → (m, n_values) uint16; pairs are the LE word a | b << 12."""
    t = body.reshape(body.shape[0], -1, 3).astype(np.uint16)
    vals = np.empty((body.shape[0], t.shape[1], 2), np.uint16)
    vals[..., 0] = t[..., 0] | ((t[..., 1] & 0x0F) << 8)
    vals[..., 1] = (t[..., 1] >> 4) | (t[..., 2] << 4)
    return vals.reshape(body.shape[0], -1)[:, :n_values]


# A recorder often decodes the one or two notifications that arrived since its last wake-up;
# there the fixed cost of ~60 whole-array numpy calls dominates, so small batches take a
# per-packet path (struct header, one frombuffer per packet) with the same checks and results.
_SMALL_BATCH = 32  # measured crossover 32-64 packets (benchmarks/bench_protocol_clock.py)


def _reason(p, n_sensors: int) -> int:
    """Rejection code of one packet (0 = ok), in REJECT_REASONS order (1-based)."""
    size = len(p)
    if size < HEADER_SIZE + CRC_SIZE:
        return 1
    version, flags, _, _, nf, ns = _HEADER.unpack_from(p, 0)
    if version != PACKET_VERSION:
        return 2
    if flags & ~_KNOWN_FLAGS:
        return 3
    if ns != n_sensors:
        return 4
    if nf == 0:
        return 5
    expected = (HEADER_SIZE + _sample_bytes(nf * ns, bool(flags & FLAG_PACKED12)) + IMU_SIZE * (flags & FLAG_IMU)
                + ((flags & FLAG_BATTERY) >> 1) + CRC_SIZE)
    if size < expected:
        return 1
    if size > expected:
        return 6
    m = memoryview(p)
    return 0 if binascii.crc_hqx(m[:-2], 0xFFFF) == m[-2] | (m[-1] << 8) else 7


def _decode_small(packets: list, n_sensors: int, previous_counter: int | None) -> DecodedBlock:
    stats, rejected = DecodeStats(), []
    heads, vals, bats, imus, src = [], [], [], [], []
    for i, p in enumerate(packets):
        code = _reason(p, n_sensors)
        if code:
            name = REJECT_REASONS[code - 1]
            setattr(stats, name, getattr(stats, name) + 1)
            rejected.append((i, name))
            continue
        _, flags, seq, counter, nf, _ = head = _HEADER.unpack_from(p, 0)
        n = nf * n_sensors
        nb = _sample_bytes(n, bool(flags & FLAG_PACKED12))
        if flags & FLAG_PACKED12:
            vals.append(_unpack12(np.frombuffer(p, np.uint8, nb, HEADER_SIZE)[None, :], n).reshape(nf, n_sensors))
        else:
            vals.append(np.frombuffer(p, "<u2", n, HEADER_SIZE).reshape(nf, n_sensors))
        pos = HEADER_SIZE + nb
        imus.append(np.frombuffer(p, "<i2", 6, pos) if flags & FLAG_IMU else None)
        pos += IMU_SIZE if flags & FLAG_IMU else 0
        bats.append(p[pos] if flags & FLAG_BATTERY else np.nan)
        heads.append(head)
        src.append(i)
    stats.ok = len(heads)
    if not heads:
        return _empty_block(n_sensors, stats, rejected)
    firsts, ref = [], previous_counter
    for head in heads:  # unwrap with Python ints (numpy scalar arithmetic costs more here)
        ref = head[3] if ref is None else ref + ((head[3] - ref) % 2**32 + 2**31) % 2**32 - 2**31
        firsts.append(ref)
    first_counter = np.array(firsts, np.int64)
    nfs = np.array([hd[4] for hd in heads], np.int64)
    source = np.array(src, dtype=np.int64)
    if len(heads) == 1:
        counter = np.arange(firsts[0], firsts[0] + heads[0][4], dtype=np.int64)
        packet_index = np.full(heads[0][4], src[0], np.int64)
        values = vals[0].astype(np.uint16)
    else:
        starts = np.cumsum(nfs) - nfs
        counter = np.repeat(first_counter - starts, nfs) + np.arange(int(nfs.sum()), dtype=np.int64)
        packet_index = np.repeat(source, nfs)
        values = np.concatenate(vals).astype(np.uint16, copy=False)
    imu = None
    if any(x is not None for x in imus):
        imu = np.array([np.full(6, np.nan) if x is None else x for x in imus], np.float32)
    return DecodedBlock(
        n_sensors=n_sensors, seq=np.array([hd[2] for hd in heads], np.uint16), first_counter=first_counter,
        n_frames=nfs, flags=np.array([hd[1] for hd in heads], np.uint8), source_index=source, battery_pct=np.array(bats, np.float32), imu=imu,
        counter=counter, values=values, packet_index=packet_index, stats=stats, rejected=rejected,
    )


def _byte_matrix(packets: list, buf: np.ndarray, starts: np.ndarray, idx: np.ndarray, length: int) -> np.ndarray:
    """The packets ``idx`` (all ``length`` bytes long) as an (n, length) uint8 matrix."""
    s0 = int(starts[idx[0]])
    if idx.size == 1 or np.all(np.diff(starts[idx]) == length):  # contiguous in buf: a view
        return buf[s0:s0 + idx.size * length].reshape(idx.size, length)
    return np.frombuffer(b"".join([packets[i] for i in idx.tolist()]), np.uint8).reshape(idx.size, length)


def _crc_tables() -> tuple[np.ndarray, np.ndarray]:
    t1 = np.arange(256, dtype=np.uint32) << 8
    for _ in range(8):
        t1 = np.where(t1 & 0x8000, (t1 << 1) ^ 0x1021, t1 << 1) & 0xFFFF
    # Two bytes at once: for a 16-bit CRC, consuming 16 message bits leaves a register that
    # depends only on (crc ^ word), so one 65536-entry table does two byte steps.
    v = np.arange(65536, dtype=np.uint32)
    for _ in range(2):
        v = ((v << 8) & 0xFFFF) ^ t1[v >> 8]
    return t1.astype(np.uint16), v.astype(np.uint16)


_CRC_T1, _CRC_T2 = _crc_tables()
# binascii.crc_hqx (C, one call per packet, ~1-2 µs for 236 bytes) beats the numpy table CRC
# (one numpy pass per 2-byte column) unless there are many short packets: measured crossover
# around n ≈ 4-8 x packet length (benchmarks/bench_protocol_clock.py).
_CRC_VECTOR_PER_BYTE = 8


def _crc_ok(mat: np.ndarray) -> np.ndarray:
    """CRC-16/CCITT-FALSE check of each row (data bytes then the CRC, little-endian)."""
    n, length = mat.shape
    stored = mat[:, -2].astype(np.uint16) | (mat[:, -1].astype(np.uint16) << 8)
    if n < _CRC_VECTOR_PER_BYTE * length:
        return np.fromiter((binascii.crc_hqx(row[:-2], 0xFFFF) for row in mat), np.uint16, n) == stored
    crc = np.full(n, 0xFFFF, np.uint16)
    start = 0
    if (length - CRC_SIZE) % 2:
        crc = (crc << 8) ^ _CRC_T1[(crc >> 8) ^ mat[:, 0]]
        start = 1
    words = (mat[:, start:length - CRC_SIZE].astype(np.uint16)).reshape(n, -1, 2)
    words = (words[:, :, 0] << 8) | words[:, :, 1]
    for j in range(words.shape[1]):
        crc = _CRC_T2[crc ^ words[:, j]]
    return crc == stored
