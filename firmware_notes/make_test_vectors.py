"""Regenerate ``test_vectors.json`` and the test-vector section of ``protocol.md``.

Run ``python firmware_notes/make_test_vectors.py`` after changing the vectors below; the
expected values come from the reference encoder/decoder and are checked independently by
``tests/test_protocol.py`` (a plain ``struct`` decoder and hand-computed bytes).
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from gaitpf.acquisition.protocol import PROTOCOL_VERSION, crc16, decode_packets, encode_packet

HERE = Path(__file__).resolve().parent
MD_BEGIN, MD_END = "<!-- BEGIN TEST VECTORS -->", "<!-- END TEST VECTORS -->"


def _recrc(p: bytes) -> bytes:
    return p[:-2] + struct.pack("<H", crc16(p[:-2]))


def _vectors() -> list[dict]:
    f4 = np.array([[100, 200, 300, 400], [110, 210, 310, 65535]])
    normal = encode_packet(seq=1, first_counter=1000, frames=f4)
    v = [
        ("normal", "2 frames x 4 sensors, 16-bit samples", 4, [normal], None),
        ("counter_wrap_in_packet", "first_counter 0xFFFFFFFE: the third frame's counter wraps to 0 "
         "and is unwrapped to 2**32", 4,
         [encode_packet(seq=65535, first_counter=0xFFFFFFFE, frames=np.arange(12).reshape(3, 4))], None),
        ("counter_wrap_across_packets", "seq wraps 65535 -> 0, counter 0xFFFFFFFF -> 1 across two packets", 4,
         [encode_packet(seq=65535, first_counter=0xFFFFFFFF, frames=np.full((2, 4), 7)),
          encode_packet(seq=0, first_counter=1, frames=np.full((2, 4), 8))], None),
        ("unwrap_with_previous_counter", "raw counter 5 after previous_counter 2**32 - 10 unwraps to 2**32 + 5", 4,
         [encode_packet(seq=9, first_counter=5, frames=np.full((1, 4), 1))], 2**32 - 10),
        ("packed12", "3 frames x 3 sensors, 12-bit packed (9 values: odd count, padded)", 3,
         [encode_packet(seq=2, first_counter=77, frames=np.array([[0x123, 0x456, 0x789], [0xABC, 0xDEF, 0],
                                                                   [4095, 1, 2048]]), sample_width_bits=12)], None),
        ("battery_imu", "1 frame x 4 sensors with IMU block and battery byte", 4,
         [encode_packet(seq=3, first_counter=123456, frames=f4[:1], battery_pct=87,
                        imu=np.array([0, 0, 4096, -164, 0, 1640]))], None),
        ("full_16x7", "16 sensors x 7 frames (236 bytes): the fullest 16-bit packet in the 244-byte payload of MTU 247, as sent at 1 kHz", 16,
         [encode_packet(seq=4, first_counter=50000, frames=(np.arange(112).reshape(7, 16) * 37) % 4096)], None),
    ]
    bad = [
        ("truncated", "the normal packet cut by 3 bytes (as when a notification exceeds MTU-3)", normal[:-3]),
        ("truncated_header", "only 5 bytes", normal[:5]),
        ("bad_version", "version byte 2 (CRC recomputed)", _recrc(b"\x02" + normal[1:])),
        ("bad_flags", "reserved flag bit 3 set (CRC recomputed)", _recrc(normal[:1] + b"\x08" + normal[2:])),
        ("wrong_sensor_count", "n_sensors 2 for a 4-sensor insole (length consistent, CRC recomputed)",
         encode_packet(seq=1, first_counter=1000, frames=np.array([[1, 2], [3, 4], [5, 6], [7, 8]]))),
        ("empty", "n_frames 0 (CRC recomputed)", _recrc(normal[:8] + b"\x00\x04" + b"\x00\x00")),
        ("too_long", "one stray byte before the CRC (CRC recomputed)", _recrc(normal[:-2] + b"\x00" + b"\x00\x00")),
        ("bad_crc", "one sample bit flipped", normal[:10] + bytes([normal[10] ^ 0x01]) + normal[11:]),
    ]
    out = []
    for name, desc, k, pkts, prev in v:
        blk = decode_packets(pkts, n_sensors=k, previous_counter=prev)
        assert blk.stats.ok == len(pkts), name
        out.append({
            "name": name, "description": desc, "n_sensors": k, "previous_counter": prev,
            "packets": [p.hex() for p in pkts],
            "expect": {
                "ok": True, "seq": blk.seq.tolist(), "first_counter": blk.first_counter.tolist(),
                "counter": blk.counter.tolist(), "values": blk.values.tolist(),
                "battery_pct": [None if np.isnan(b) else int(b) for b in blk.battery_pct],
                "imu": None if blk.imu is None else [[None if np.isnan(x) else int(x) for x in r] for r in blk.imu],
            },
        })
    for name, desc, p in bad:
        blk = decode_packets([p], n_sensors=4)
        assert blk.rejected and blk.rejected[0][1] == name.replace("_header", ""), (name, blk.rejected)
        out.append({"name": name, "description": desc, "n_sensors": 4, "previous_counter": None,
                    "packets": [p.hex()], "expect": {"ok": False, "reason": blk.rejected[0][1]}})
    return out


def _markdown(vectors: list[dict]) -> str:
    lines = [MD_BEGIN, ""]
    for v in vectors:
        lines.append(f"**{v['name']}** — {v['description']} (n_sensors = {v['n_sensors']}"
                     + (f", previous_counter = {v['previous_counter']}" if v["previous_counter"] is not None else "")
                     + ")")
        lines.append("")
        lines.append("```")
        for p in v["packets"]:
            lines.extend(" ".join(p[i:i + 2] for i in range(j, min(j + 64, len(p)), 2)) for j in range(0, len(p), 64))
            if len(v["packets"]) > 1:
                lines.append("")
        e = v["expect"]
        if e["ok"]:
            lines.append(f"-> seq {e['seq']}, first_counter {e['first_counter']}")
            vals = e["values"]
            lines.append(f"   counter {e['counter']}" if len(e["counter"]) <= 8 else
                         f"   counter {e['counter'][0]} .. {e['counter'][-1]} ({len(e['counter'])} frames)")
            lines.append(f"   values {vals}" if len(vals) <= 4 else f"   values[0] {vals[0]} ... values[-1] {vals[-1]}")
            if any(b is not None for b in e["battery_pct"]):
                lines.append(f"   battery_pct {e['battery_pct']}")
            if e["imu"] is not None:
                lines.append(f"   imu {e['imu']}")
        else:
            lines.append(f"-> rejected: {e['reason']}")
        lines.extend(["```", ""])
    lines.append(MD_END)
    return "\n".join(lines)


def main() -> None:
    vectors = _vectors()
    doc = {"protocol": f"gaitpf insole protocol {PROTOCOL_VERSION}",
           "crc": "CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF), little-endian, over all preceding bytes",
           "vectors": vectors}
    body = ",\n  ".join(json.dumps(v) for v in vectors)
    head = json.dumps({k: doc[k] for k in ("protocol", "crc")}, indent=1)[:-2]
    (HERE / "test_vectors.json").write_text(f'{head},\n "vectors": [\n  {body}\n ]\n}}\n')
    md = HERE / "protocol.md"
    if md.exists():
        text = md.read_text()
        if MD_BEGIN in text:
            a, b = text.index(MD_BEGIN), text.index(MD_END) + len(MD_END)
            md.write_text(text[:a] + _markdown(vectors) + text[b:])


if __name__ == "__main__":
    main()
