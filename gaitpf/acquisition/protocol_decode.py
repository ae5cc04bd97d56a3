"""Decoder of gaitpf insole protocol 1.0 data notifications (layout in :mod:`.protocol_packets`).

:func:`decode_packets` decodes many notifications at once with numpy (headers gathered
from one joined buffer, CRC and samples per group of same-shaped packets as one byte matrix);
batches of up to ``_SMALL_BATCH`` packets take a per-packet path with identical results, which
is faster there (measured in ``benchmarks/bench_protocol_clock.py``). The CRC of a group is
checked with ``binascii`` per packet, or with a two-byte numpy table when there are many short
packets (``_CRC_VECTOR_PER_BYTE``). Malformed packets are counted in
:class:`~.protocol_block.DecodeStats` and dropped, never raised.

Import :func:`decode_packets` from :mod:`gaitpf.acquisition.protocol`; the private tuning
constants ``_SMALL_BATCH`` and ``_CRC_VECTOR_PER_BYTE`` live here (patch them on this module).
"""
from __future__ import annotations

import binascii

import numpy as np

from .protocol_block import REJECT_REASONS, DecodedBlock, DecodeStats, _empty_block, unwrap_counter
from .protocol_packets import (
    _HEADER,
    _KNOWN_FLAGS,
    CRC_SIZE,
    FLAG_BATTERY,
    FLAG_IMU,
    FLAG_PACKED12,
    HEADER_SIZE,
    IMU_SIZE,
    PACKET_VERSION,
    _sample_bytes,
)

__all__ = ["decode_packets"]


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
