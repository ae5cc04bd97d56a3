"""gaitpf insole protocol 1.0: packets, test vectors, identity, control, advertising."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gaitpf.acquisition import protocol as P
from gaitpf.acquisition import protocol_decode
from gaitpf.acquisition.protocol import (
    DeviceIdentity,
    ProtocolError,
    crc16,
    decode_packets,
    encode_packet,
)

VECTORS = Path(__file__).resolve().parents[1] / "firmware_notes" / "test_vectors.json"


# ---------------------------------------------------------------- independent reference decoder
def ref_decode(p: bytes, n_sensors: int):
    """Plain-struct decoder written from protocol.md (no numpy): (reason, decoded)."""
    if len(p) < 12:
        return "truncated", None
    ver, flags, seq, counter, nf, ns = struct.unpack_from("<BBHIBB", p, 0)
    if ver != 1:
        return "bad_version", None
    if flags & ~0x07:
        return "bad_flags", None
    if ns != n_sensors:
        return "wrong_sensor_count", None
    if nf == 0:
        return "empty", None
    n = nf * ns
    nb = 3 * ((n + 1) // 2) if flags & 4 else 2 * n
    size = 10 + nb + 12 * (flags & 1) + (1 if flags & 2 else 0) + 2
    if len(p) < size:
        return "truncated", None
    if len(p) > size:
        return "too_long", None
    crc = 0xFFFF
    for byte in p[:-2]:  # bitwise CRC-16/CCITT-FALSE, independent of binascii and the tables
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    if crc != p[-2] | (p[-1] << 8):
        return "bad_crc", None
    if flags & 4:
        vals = []
        for i in range(0, nb, 3):
            w = p[10 + i] | (p[11 + i] << 8) | (p[12 + i] << 16)
            vals += [w & 0xFFF, w >> 12]
        vals = vals[:n]
    else:
        vals = list(struct.unpack_from(f"<{n}H", p, 10))
    pos = 10 + nb
    imu = list(struct.unpack_from("<6h", p, pos)) if flags & 1 else None
    pos += 12 if flags & 1 else 0
    bat = p[pos] if flags & 2 else None
    return None, dict(seq=seq, counter=counter, frames=[vals[i * ns:(i + 1) * ns] for i in range(nf)], imu=imu, bat=bat)


def decode_both(packets, n_sensors, previous_counter=None):
    """Decode with the per-packet small-batch path and with the vectorized path; they must agree."""
    saved = protocol_decode._SMALL_BATCH
    try:
        protocol_decode._SMALL_BATCH = 10**9
        small = decode_packets(packets, n_sensors=n_sensors, previous_counter=previous_counter)
        protocol_decode._SMALL_BATCH = 0
        vec = decode_packets(packets, n_sensors=n_sensors, previous_counter=previous_counter)
    finally:
        protocol_decode._SMALL_BATCH = saved
    for name in ("seq", "first_counter", "n_frames", "flags", "source_index", "counter", "values", "packet_index",
                 "battery_pct"):
        a, b = getattr(small, name), getattr(vec, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert (small.imu is None) == (vec.imu is None)
    if small.imu is not None:
        np.testing.assert_array_equal(small.imu, vec.imu)
    assert small.stats == vec.stats and small.rejected == vec.rejected
    return vec


# ---------------------------------------------------------------- hand-computed values
def test_crc16_check_value():
    assert crc16(b"123456789") == 0x29B1  # the catalogue check value of CRC-16/CCITT-FALSE
    assert crc16(b"") == 0xFFFF


def test_encode_hand_computed_bytes():
    p = encode_packet(seq=0x0102, first_counter=0x0A0B0C0D, frames=np.array([[1, 0x1234]]))
    body = bytes([1, 0, 0x02, 0x01, 0x0D, 0x0C, 0x0B, 0x0A, 1, 2, 0x01, 0x00, 0x34, 0x12])
    assert p[:-2] == body
    assert p[-2:] == crc16(body).to_bytes(2, "little")
    assert len(p) == P.packet_size(1, 2) == 16


def test_packed12_hand_computed():
    p = encode_packet(seq=0, first_counter=0, frames=np.array([[0x123, 0x456, 0xABC]]), sample_width_bits=12)
    # a | b << 12 little-endian: 0x456123 -> 23 61 45; then 0xABC padded with 0 -> BC 0A 00
    assert p[10:16] == bytes([0x23, 0x61, 0x45, 0xBC, 0x0A, 0x00])
    blk = decode_packets([p], n_sensors=3)
    assert blk.values.tolist() == [[0x123, 0x456, 0xABC]]
    assert blk.flags[0] == P.FLAG_PACKED12


def test_bandwidth_arithmetic():
    # ATT payload 244 at MTU 247: (244 - 12) // 32 = 7 frames of 16 x 16 bit; 12-bit: 24 B/frame -> 9
    assert P.max_frames_per_packet(16) == 7
    assert P.max_frames_per_packet(16, sample_width_bits=12) == 9
    assert P.max_frames_per_packet(16, imu=True, battery=True) == 6
    assert P.max_frames_per_packet(16, att_mtu=23) == 0  # 16 sensors need MTU >= 47
    assert P.max_frames_per_packet(16, att_mtu=47) == 1
    assert P.packet_size(7, 16) == 236


def test_counter_unwrap():
    raw = np.array([2**32 - 2, 2**32 - 1, 0, 1, 0, 2**31 + 5])
    out = P.unwrap_counter(raw)
    assert out[:5].tolist() == [2**32 - 2, 2**32 - 1, 2**32, 2**32 + 1, 2**32]
    assert P.unwrap_counter(np.array([3]), previous=5 * 2**32 - 2).tolist() == [5 * 2**32 + 3]
    assert P.unwrap_counter(np.array([2**32 - 1]), previous=3 * 2**32 + 4).tolist() == [3 * 2**32 - 1]


def test_decode_many_groups_keeps_arrival_order():
    rng = np.random.default_rng(1)
    pk, want, counters = [], [], []
    c = 10
    for i in range(60):
        nf = int(rng.integers(1, 6))
        width = 12 if i % 3 == 0 else 16
        fr = rng.integers(0, 4096, (nf, 5))
        kw = {"battery_pct": int(rng.integers(0, 101))} if i % 4 == 0 else {}
        if i % 5 == 0:
            kw["imu"] = rng.integers(-32768, 32768, 6)
        pk.append(encode_packet(seq=i, first_counter=c, frames=fr, sample_width_bits=width, **kw))
        want.append(fr)
        counters += list(range(c, c + nf))
        c += nf
        if i % 7 == 0:
            pk.append(b"\x01garbage")
    blk = decode_both(pk, 5)
    assert blk.stats.ok == 60 and blk.stats.truncated == 9
    np.testing.assert_array_equal(blk.values, np.concatenate(want))
    assert blk.counter.tolist() == counters
    assert blk.seq.tolist() == list(range(60))
    assert np.all(np.diff(blk.packet_index) >= 0)
    for j, src in enumerate(blk.source_index):
        assert ref_decode(pk[src], 5)[1]["seq"] == blk.seq[j]
    assert np.isnan(blk.battery_pct[1]) and not np.isnan(blk.battery_pct[0])
    assert blk.imu is not None and np.isnan(blk.imu[1]).all() and not np.isnan(blk.imu[0]).any()
    assert blk.last_counter == blk.first_counter[-1]


def test_decode_large_batch_vectorized_crc_detects_corruption():
    rng = np.random.default_rng(2)
    fr = rng.integers(0, 65536, (200, 7, 16))
    pk = [encode_packet(seq=i, first_counter=7 * i, frames=fr[i]) for i in range(200)]
    pk[50] = pk[50][:100] + bytes([pk[50][100] ^ 0x10]) + pk[50][101:]
    blk = decode_packets(pk, n_sensors=16)
    assert blk.stats.ok == 199 and blk.stats.bad_crc == 1 and blk.rejected == [(50, "bad_crc")]
    np.testing.assert_array_equal(blk.values, np.delete(fr, 50, axis=0).reshape(-1, 16))


@pytest.mark.parametrize("width", [16, 12])  # 12 data bytes (even) and 13 (odd) before the CRC
def test_vectorized_crc_path_many_short_packets(width):
    rng = np.random.default_rng(3)
    vals = rng.integers(0, 4096, 600)
    pk = [encode_packet(seq=i, first_counter=i, frames=[[v]], sample_width_bits=width) for i, v in enumerate(vals)]
    assert len(pk) >= protocol_decode._CRC_VECTOR_PER_BYTE * len(pk[0])  # the numpy table CRC is used
    bad = rng.choice(600, 25, replace=False)
    for i in bad:
        pos = int(rng.integers(0, len(pk[i])))
        pk[i] = pk[i][:pos] + bytes([pk[i][pos] ^ (1 << int(rng.integers(0, 8)))]) + pk[i][pos + 1:]
    blk = decode_packets(pk, n_sensors=1)
    assert sorted(i for i, _ in blk.rejected) == sorted(bad.tolist())
    np.testing.assert_array_equal(blk.values[:, 0], np.delete(vals, bad))


def test_decode_empty_and_bad_arguments():
    blk = decode_packets([], n_sensors=4)
    assert blk.n_packets == 0 and blk.values.shape == (0, 4) and blk.stats.total == 0
    with pytest.raises(ValueError):
        decode_packets([b""], n_sensors=0)
    with pytest.raises(ValueError):
        encode_packet(seq=0, first_counter=0, frames=np.array([[4096]]), sample_width_bits=12)
    with pytest.raises(ValueError):
        encode_packet(seq=0, first_counter=0, frames=np.zeros((0, 4)))


def test_stats_accumulate():
    a = decode_packets([b"x", encode_packet(seq=0, first_counter=0, frames=np.ones((1, 2)))], n_sensors=2).stats
    total = P.DecodeStats().add(a).add(a)
    assert total.ok == 2 and total.truncated == 2 and total.total == 4 and total.as_dict()["ok"] == 2


# ---------------------------------------------------------------- published test vectors
def _vectors():
    doc = json.loads(VECTORS.read_text())
    assert doc["protocol"] == "gaitpf insole protocol 1.0"
    return doc["vectors"]


@pytest.mark.parametrize("vec", _vectors(), ids=lambda v: v["name"])
def test_vector(vec):
    packets = [bytes.fromhex(h) for h in vec["packets"]]
    blk = decode_both(packets, vec["n_sensors"], vec["previous_counter"])
    exp = vec["expect"]
    ref = [ref_decode(p, vec["n_sensors"]) for p in packets]
    if not exp["ok"]:
        assert blk.n_packets == 0 and blk.rejected == [(0, exp["reason"])]
        assert ref[0][0] == exp["reason"]
        return
    assert all(r[0] is None for r in ref)
    assert blk.seq.tolist() == exp["seq"] == [r[1]["seq"] for r in ref]
    assert blk.first_counter.tolist() == exp["first_counter"]
    assert [c % 2**32 for c in exp["first_counter"]] == [r[1]["counter"] for r in ref]
    assert blk.counter.tolist() == exp["counter"]
    assert blk.values.tolist() == exp["values"] == [f for r in ref for f in r[1]["frames"]]
    assert [None if np.isnan(b) else int(b) for b in blk.battery_pct] == exp["battery_pct"]
    assert (None if blk.imu is None else blk.imu.astype(int).tolist()) == exp["imu"]
    # the encoder reproduces the vector byte for byte
    for p, r in zip(packets, ref):
        d = r[1]
        width = 12 if p[1] & P.FLAG_PACKED12 else 16
        again = encode_packet(seq=d["seq"], first_counter=d["counter"], frames=np.array(d["frames"]),
                              battery_pct=d["bat"], imu=d["imu"], sample_width_bits=width)
        assert again == p


def test_vectors_cover_the_required_cases():
    names = {v["name"] for v in _vectors()}
    assert {"normal", "counter_wrap_in_packet", "packed12", "battery_imu", "truncated", "bad_version",
            "bad_crc"} <= names
    md = (VECTORS.parent / "protocol.md").read_text()
    for v in _vectors():  # rendered in the spec too, with the same bytes
        assert f"**{v['name']}**" in md
        assert " ".join(v["packets"][0][i:i + 2] for i in range(0, min(64, len(v["packets"][0])), 2)) in md


# ---------------------------------------------------------------- fuzzing
packets_strategy = st.lists(st.binary(max_size=300), max_size=20)


@settings(max_examples=300, deadline=None)
@given(packets_strategy, st.integers(1, 20))
def test_arbitrary_bytes_never_crash(packets, n_sensors):
    blk = decode_both(packets, n_sensors)
    assert blk.stats.total == len(packets)
    assert blk.values.shape == (blk.n_frames_total, n_sensors)
    for i, reason in blk.rejected:
        assert ref_decode(packets[i], n_sensors)[0] == reason


_KIND = st.sampled_from(["valid", "valid", "garbage", "truncate", "flip"])
_SEED = st.integers(0, 2**32 - 1)
_GARBAGE = st.binary(max_size=80)


@st.composite
def mixed_stream(draw):
    """Valid packets, truncated/bit-flipped ones and random bytes, interleaved."""
    k = draw(st.integers(1, 6))
    rng = np.random.default_rng(draw(_SEED))
    items = []
    for i in range(draw(st.integers(0, 25))):
        kind = draw(_KIND)
        if kind == "garbage":
            items.append(draw(_GARBAGE))
            continue
        nf = int(rng.integers(1, 5))
        width = int(rng.choice([12, 16]))
        p = encode_packet(seq=i, first_counter=int(rng.integers(0, 2**32)),
                          frames=rng.integers(0, 4096 if width == 12 else 65536, (nf, k)), sample_width_bits=width,
                          battery_pct=int(rng.integers(0, 101)) if rng.random() < 0.3 else None,
                          imu=rng.integers(-32768, 32768, 6) if rng.random() < 0.3 else None)
        if kind == "truncate":
            p = p[:int(rng.integers(0, len(p)))]
        elif kind == "flip":
            pos = int(rng.integers(0, len(p)))
            p = p[:pos] + bytes([p[pos] ^ (1 << int(rng.integers(0, 8)))]) + p[pos + 1:]
        items.append(p)
    return k, items


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mixed_stream())
def test_valid_packets_among_garbage_decode_exactly(stream):
    k, packets = stream
    blk = decode_both(packets, k)
    ref = [ref_decode(p, k) for p in packets]
    good = [i for i, r in enumerate(ref) if r[0] is None]
    assert blk.source_index.tolist() == good
    assert blk.values.tolist() == [f for i in good for f in ref[i][1]["frames"]]
    assert [c % 2**32 for c in blk.first_counter.tolist()] == [ref[i][1]["counter"] for i in good]
    assert sorted(blk.rejected) == sorted((i, r[0]) for i, r in enumerate(ref) if r[0] is not None)
    assert blk.stats.ok == len(good) and blk.stats.total == len(packets)


# ---------------------------------------------------------------- identity, control, advertising
def test_identity_round_trip_and_calibration():
    cal = np.array([[0.0, 0.5, 0.001]] * 4, np.float32)
    ident = DeviceIdentity(side="right", serial="00C0FFEE", firmware_version="1.4.2", layout_id="gaitpf-16",
                           n_sensors=4, sample_width_bits=12, nominal_rate_hz=99.902, unit="N", calibration=cal)
    raw = P.encode_identity(ident)
    back = P.decode_identity(raw)
    assert (back.side, back.serial, back.firmware_version, back.layout_id, back.n_sensors,
            back.sample_width_bits, back.unit, back.protocol_version) == (
        "right", "00C0FFEE", "1.4.2", "gaitpf-16", 4, 12, "N", "1.0")
    assert back.nominal_rate_hz == pytest.approx(99.902)
    np.testing.assert_array_equal(back.calibration, cal)
    # value = 0 + 0.5 * 100 + 0.001 * 100**2 = 60 N
    np.testing.assert_allclose(back.calibrate(np.full((2, 4), 100)), 60.0, rtol=1e-6)
    plain = P.decode_identity(P.encode_identity(DeviceIdentity("left", "00000001", "1.0.0", "x", 2, 16, 100.0)))
    assert plain.calibration is None and plain.unit == "au"
    np.testing.assert_array_equal(plain.calibrate(np.array([[1, 2]])), [[1.0, 2.0]])


@pytest.mark.parametrize("mangle", [lambda b: b[:-1], lambda b: b[:3], lambda b: b"\x02" + b[1:],
                                    lambda b: b[:5] + b"\xff" + b[6:]])
def test_identity_malformed_raises(mangle):
    raw = P.encode_identity(DeviceIdentity("left", "00000001", "1.0.0", "gaitpf-16", 16, 16, 100.0))
    bad = mangle(raw)
    if bad[:1] == b"\x02":  # keep the CRC valid so the format check itself is exercised
        bad = bad[:-2] + crc16(bad[:-2]).to_bytes(2, "little")
    with pytest.raises(ProtocolError, match="identity"):
        P.decode_identity(bad)


def test_control_round_trip():
    Op = P.ControlOp
    cases = [(Op.START, {}), (Op.STOP, {}), (Op.SET_RATE, {"rate_hz": 1000}), (Op.TIME_SYNC, {"token": 2**32 - 1}),
             (Op.SET_FRAMES_PER_PACKET, {"n_frames": 7}), (Op.SET_SAMPLE_WIDTH, {"sample_width_bits": 12}),
             (Op.SET_IMU, {"enabled": True})]
    for op, kw in cases:
        raw = P.encode_control(op, **kw)
        assert raw[0] == op
        cmd = P.decode_control(raw)
        assert cmd.op == op and all(getattr(cmd, k) == v for k, v in kw.items())
    assert P.encode_control(Op.SET_RATE, rate_hz=100) == b"\x03\x64\x00"
    r = P.decode_control_response(P.encode_control_response(Op.TIME_SYNC, token=5, counter=2**32 + 7, subsample=32768))
    assert r.ok and r.op == Op.TIME_SYNC and r.token == 5 and r.counter == 7 and r.device_counter == 7.5
    assert P.decode_control_response(P.encode_control_response(Op.START, counter=123)).counter == 123
    assert P.decode_control_response(P.encode_control_response(Op.SET_RATE, rate_mhz=99902)).rate_mhz == 99902
    busy = P.decode_control_response(P.encode_control_response(Op.SET_RATE, P.ControlStatus.BUSY))
    assert not busy.ok and busy.status == P.ControlStatus.BUSY and busy.rate_mhz is None
    assert P.encode_control_response(0x7E, P.ControlStatus.UNKNOWN_OPCODE) == b"\xfe\x01"


@pytest.mark.parametrize("raw,status", [(b"", "BAD_LENGTH"), (b"\x7e", "UNKNOWN_OPCODE"), (b"\x03\x64", "BAD_LENGTH"),
                                        (b"\x06\x0d", "BAD_VALUE"), (b"\x05\x00", "BAD_VALUE"), (b"\x01\x00", "BAD_LENGTH")])
def test_control_malformed(raw, status):
    with pytest.raises(ProtocolError) as info:
        P.decode_control(raw)
    assert info.value.status == P.ControlStatus[status]


def test_control_response_malformed():
    for raw in (b"", b"\x01\x00", b"\x81\x09", b"\x81\x00\x01"):
        with pytest.raises(ProtocolError):
            P.decode_control_response(raw)
    with pytest.raises(ValueError):
        P.encode_control(P.ControlOp.SET_RATE)


def test_advertising():
    md = P.encode_manufacturer_data(side="right", serial="0000A1B2", battery_pct=64)
    assert md == bytes([0x11, 0xB2, 0xA1, 0x00, 0x00, 64]) and len(md) == 6
    info = P.decode_manufacturer_data(md)
    assert info == P.AdvertInfo("right", "0000A1B2", 1, 64)
    assert P.decode_manufacturer_data(P.encode_manufacturer_data(side="left", serial="FFFFFFFF")).battery_pct is None
    assert P.decode_manufacturer_data(b"\x00" * 6) is None and P.decode_manufacturer_data(b"abc") is None
    assert P.local_name("left", "0000A1B2") == "gaitpf-L-0000A1B2"
    assert P.parse_local_name("gaitpf-R-0000A1B2") == ("right", "0000A1B2")
    assert P.parse_local_name("Polar H10") is None and P.parse_local_name(None) is None
    with pytest.raises(ValueError):
        P.local_name("left", "a1b2")
    assert P.SERVICE_UUID.startswith("6a4e0001-") and P.DATA_CHAR_UUID[4:8] == "0002"
