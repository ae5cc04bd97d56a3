"""ORPHE INSOLE GATT interface: identifiers, SENSOR_VALUES packets, device information.

Our own implementation from the documented facts of the vendor's public SDK
(`Orphe-OSS/ORPHE-INSOLE.js <https://github.com/Orphe-OSS/ORPHE-INSOLE.js>`_,
``docs/SENSOR_SPEC.md`` and ``src/ORPHE-INSOLE.js``, read 2026-12):

* **SENSOR_VALUES** notifications (characteristic ``f3f9c7ce-…``, service ``db1b7aca-…``) are
  exactly 104 bytes, all multi-byte values **big-endian**. Bytes 0 header, 1–2 uint16 packet
  counter (``serial_number``; wraps 65535 → 0, about 22 min at 50 packets/s), 3/4/5 uint8
  hours/minutes/seconds and 6–7 uint16 milliseconds of the device clock — **one timestamp for
  all samples of the packet**.
* header **56** (streaming mode 4, the default): 2 samples per packet (100 Hz), sample stride
  32 bytes: quaternion w,x,y,z int16 Q14 (/16384), gyro x,y,z int16, acc x,y,z int16, 6 pressure
  channels uint16 at offsets 8…38 of each slot.
* header **55** (streaming mode 3): 4 samples per packet (200 Hz), stride 24 bytes: gyro, acc,
  6 pressures at offsets 8…30.
* The SDK reads sample *k* (``packet_number`` k, 0 = oldest) from slot ``n − 1 − k``: the
  oldest sample sits in the last slot.
* Pressures are raw ADC counts (dimensionless, saturating at 65535): recorded as ``"au"``.
  Gyro and acc are raw int16 (normalised ``/32768``; acc × range in g, gyro × 0.035 mdps/LSB
  per dps of range, the LSM6DSOX sensitivity the SDK uses).
* **DEVICE_INFORMATION** (``24354f22-…``, service ``01a9d6b5-…``): byte 0 battery level
  (0 low, 1 normal, 2 high), byte 1 ``mount_position`` (bit 0: 0 left / 1 right; bit 1: 0 plantar
  (insole) / 1 dorsal (upper)), byte 8 acc range index (±2/4/8/16 g), byte 9 gyro range index
  (±250/500/1000/2000 dps). Writing ``[0x0D, mode]`` to it selects the streaming mode (1, 3 or 4)
  before notifications are started.

Pressure channel positions: the SDK numbers the six sensors 1 toe-medial, 2 ball-medial,
3 toe-lateral, 4 ball-centre, 5 midfoot-lateral, 6 heel. :func:`orphe_layout` places them
on gaitpf's reference insole (260 mm, :mod:`gaitpf.layouts`) at those anatomical landmarks;
the coordinates are our assumption (the vendor gives the names, not millimetres), so
region-level results (heel/midfoot/forefoot/toes) are what they support.

Assumptions beyond the documents, stated where they are used: the insole advertises the
DEVICE_INFORMATION service (or a name starting ``ORPHE``), which is how :func:`is_orphe_advert`
finds it; packets with an unexpected header are counted ``"wrong_mode"`` and dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..model import QUALITY_SATURATED, SensorLayout

__all__ = [
    "INFORMATION_SERVICE_UUID", "DEVICE_INFORMATION_CHAR_UUID", "DATE_TIME_CHAR_UUID",
    "OTHER_SERVICE_UUID", "SENSOR_VALUES_CHAR_UUID", "PACKET_SIZE", "MODES", "StreamingMode",
    "OrpheInfo", "decode_device_information", "encode_device_information", "mode_write",
    "OrpheDecoded", "decode_sensor_values", "encode_sensor_values", "device_ms", "orphe_layout",
    "is_orphe_advert", "REJECT_REASONS", "N_PRESSURE", "SATURATED_COUNT",
]

INFORMATION_SERVICE_UUID = "01a9d6b5-ff6e-444a-b266-0be75e85c064"
DEVICE_INFORMATION_CHAR_UUID = "24354f22-1c46-430e-a4ab-a1eeabbcdfc0"
DATE_TIME_CHAR_UUID = "f53eeeb1-b2e8-492a-9673-10e0f1c29026"
OTHER_SERVICE_UUID = "db1b7aca-cda5-4453-a49b-33a53d3f0833"
SENSOR_VALUES_CHAR_UUID = "f3f9c7ce-46ee-4205-89ac-abe64e626c0f"

PACKET_SIZE = 104
N_PRESSURE = 6
SATURATED_COUNT = 65535
#: packet-counter period (uint16)
COUNTER_MOD = 1 << 16
#: device clock period (hh:mm:ss.mmm wraps at midnight), ms
DAY_MS = 86_400_000
#: why a notification was dropped
REJECT_REASONS: tuple[str, ...] = ("bad_length", "wrong_mode")
_MODE_OPCODE = 0x0D
_ACC_RANGES_G = (2, 4, 8, 16)
_GYRO_RANGES_DPS = (250, 500, 1000, 2000)


@dataclass(frozen=True)
class StreamingMode:
    """One pressure-carrying streaming mode of the SDK (``ORPHE_INSOLE_STREAMING_MODES``)."""

    mode: int
    header: int
    samples_per_packet: int
    stride: int
    has_quat: bool
    sampling_rate_hz: float

    @property
    def packet_rate_hz(self) -> float:
        return self.sampling_rate_hz / self.samples_per_packet


#: mode id -> layout (modes with pressure only: mode 1 carries no pressure)
MODES: dict[int, StreamingMode] = {
    4: StreamingMode(4, 56, 2, 32, True, 100.0),
    3: StreamingMode(3, 55, 4, 24, False, 200.0),
}


@dataclass(frozen=True)
class OrpheInfo:
    """Decoded DEVICE_INFORMATION (the parts the SDK documents)."""

    battery_level: int      #: 0 low, 1 normal, 2 high
    mount_position: int
    acc_range_g: int
    gyro_range_dps: int

    @property
    def side(self) -> str:
        return "right" if self.mount_position & 1 else "left"

    @property
    def surface(self) -> str:
        return "dorsal" if self.mount_position & 2 else "plantar"


def decode_device_information(raw: bytes) -> OrpheInfo:
    """Decode a DEVICE_INFORMATION read (at least 10 bytes); ValueError when shorter."""
    if len(raw) < 10:
        raise ValueError(f"DEVICE_INFORMATION of {len(raw)} bytes (expected 20)")
    acc, gyro = raw[8], raw[9]
    return OrpheInfo(battery_level=raw[0], mount_position=raw[1],
                     acc_range_g=_ACC_RANGES_G[acc] if acc < 4 else 16,
                     gyro_range_dps=_GYRO_RANGES_DPS[gyro] if gyro < 4 else 2000)


def encode_device_information(*, side: str, battery_level: int = 2, dorsal: bool = False,
                              acc_range_idx: int = 3, gyro_range_idx: int = 3) -> bytes:
    """The 20-byte DEVICE_INFORMATION value (for the virtual twin)."""
    out = bytearray(20)
    out[0] = battery_level
    out[1] = (1 if side == "right" else 0) | (2 if dorsal else 0)
    out[8], out[9] = acc_range_idx, gyro_range_idx
    return bytes(out)


def mode_write(mode: int) -> bytes:
    """The DEVICE_INFORMATION write that selects streaming ``mode``."""
    if mode not in (1, 3, 4):
        raise ValueError(f"ORPHE streaming mode {mode}: use 1, 3 or 4")
    return bytes([_MODE_OPCODE, mode])


def parse_mode_write(data: bytes) -> int | None:
    """Streaming mode of a DEVICE_INFORMATION write, or None if it is not a mode write."""
    if len(data) == 2 and data[0] == _MODE_OPCODE and data[1] in (1, 3, 4):
        return int(data[1])
    return None


def device_ms(h: np.ndarray, m: np.ndarray, s: np.ndarray, ms: np.ndarray) -> np.ndarray:
    """Device clock (ms since midnight) from the header fields."""
    return ((h.astype(np.int64) * 60 + m) * 60 + s) * 1000 + ms.astype(np.int64)


@dataclass
class OrpheDecoded:
    """Packets kept from a list of notifications (arrival order).

    Per packet: ``raw_counter`` (uint16 as int64), ``device_ms`` (int64, ms since the device's
    midnight), ``source_index`` (position in the input list). Per sample, shape
    ``(n_packets, samples_per_packet, …)`` in time order: ``pressure`` (uint16, 6 channels),
    ``gyro``/``acc`` (int16 raw, 3 axes), ``quat`` (float, w x y z; None in mode 3).
    ``rejected`` counts dropped notifications per :data:`REJECT_REASONS` entry.
    """

    mode: StreamingMode
    raw_counter: np.ndarray
    device_ms: np.ndarray
    source_index: np.ndarray
    pressure: np.ndarray
    gyro: np.ndarray
    acc: np.ndarray
    quat: np.ndarray | None
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REJECT_REASONS, 0))

    @property
    def n_packets(self) -> int:
        return int(self.raw_counter.shape[0])


def decode_sensor_values(packets: list[bytes], mode: StreamingMode) -> OrpheDecoded:
    """Decode SENSOR_VALUES notifications of streaming ``mode`` (vectorised).

    A notification that is not 104 bytes long is dropped as ``bad_length``, one whose header
    is not ``mode.header`` as ``wrong_mode``; nothing else about a packet can be checked (the
    format has no checksum).
    """
    rejected = dict.fromkeys(REJECT_REASONS, 0)
    keep = []
    for i, p in enumerate(packets):
        if len(p) != PACKET_SIZE:
            rejected["bad_length"] += 1
        elif p[0] != mode.header:
            rejected["wrong_mode"] += 1
        else:
            keep.append(i)
    n, spp = len(keep), mode.samples_per_packet
    buf = np.frombuffer(b"".join(packets[i] for i in keep), np.uint8).reshape(n, PACKET_SIZE)
    be16 = lambda col: (buf[:, col].astype(np.uint16) << 8) | buf[:, col + 1]  # noqa: E731
    counter = be16(1).astype(np.int64)
    dms = device_ms(buf[:, 3], buf[:, 4], buf[:, 5], be16(6))
    # slot j (byte offset 8 + stride*j) holds sample spp-1-j: reverse the slots for time order
    slots = np.stack([buf[:, 8 + mode.stride * j: 8 + mode.stride * (j + 1)] for j in range(spp)][::-1], axis=1)
    words = slots[..., : mode.stride // 2 * 2].reshape(n, spp, mode.stride // 2, 2)
    u16 = (words[..., 0].astype(np.uint16) << 8) | words[..., 1]
    o = 4 if mode.has_quat else 0
    quat = u16[..., 0:4].view(np.int16).astype(np.float64) / 16384.0 if mode.has_quat else None
    gyro = u16[..., o: o + 3].view(np.int16).copy()
    acc = u16[..., o + 3: o + 6].view(np.int16).copy()
    pressure = u16[..., o + 6: o + 12].copy()
    return OrpheDecoded(mode, counter, dms, np.asarray(keep, np.int64), pressure, gyro, acc, quat, rejected)


def encode_sensor_values(mode: StreamingMode, counter: int, dev_ms: int, pressure: np.ndarray,
                         gyro: np.ndarray | None = None, acc: np.ndarray | None = None,
                         quat: np.ndarray | None = None) -> bytes:
    """One SENSOR_VALUES notification (for the virtual twin and tests).

    ``pressure`` (spp, 6) uint16 in time order; ``gyro``/``acc`` (spp, 3) int16; ``quat``
    (spp, 4) float (mode 4 only).
    """
    spp = mode.samples_per_packet
    out = bytearray(PACKET_SIZE)
    dev_ms = int(dev_ms) % DAY_MS
    out[0] = mode.header
    out[1:3] = int(counter % COUNTER_MOD).to_bytes(2, "big")
    out[3], out[4], out[5] = dev_ms // 3_600_000, dev_ms // 60_000 % 60, dev_ms // 1000 % 60
    out[6:8] = (dev_ms % 1000).to_bytes(2, "big")
    z3 = np.zeros((spp, 3), np.int16)
    gyro = z3 if gyro is None else np.asarray(gyro, np.int16)
    acc = z3 if acc is None else np.asarray(acc, np.int16)
    for k in range(spp):
        words = []
        if mode.has_quat:
            q = np.array([1.0, 0, 0, 0]) if quat is None else np.asarray(quat[k], float)
            words += [int(v) for v in np.clip(np.round(q * 16384), -32768, 32767).astype(np.int16)]
        words += [int(v) for v in gyro[k]] + [int(v) for v in acc[k]]
        base = 8 + mode.stride * (spp - 1 - k)
        body = np.asarray(words, np.int16).astype(">i2").tobytes()
        body += np.asarray(pressure[k], np.uint16).astype(">u2").tobytes()
        out[base: base + len(body)] = body
    return bytes(out)


def saturation_quality(values: np.ndarray) -> np.ndarray:
    """``QUALITY_SATURATED`` where any channel reads :data:`SATURATED_COUNT` (uint8 per frame)."""
    return np.where((values >= SATURATED_COUNT).any(axis=1), QUALITY_SATURATED, 0).astype(np.uint8)


def orphe_layout(side: str = "left") -> SensorLayout:
    """The six ORPHE pressure channels P0…P5 on the gaitpf reference insole (insole frame).

    Channel i is the SDK's sensor i+1: toe-medial (hallux), ball-medial (1st metatarsal head),
    toe-lateral (lesser toes), ball-centre (2nd–3rd metatarsal heads), midfoot-lateral and heel.
    Positions (mm, medial negative, heel 0 → toe 260) are our placement of those landmarks on the
    reference outline (see the module docstring); the same for both feet in this frame.
    """
    from ..layouts import ml_zone_of, region_of   # the layouts module needs no hardware deps

    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    pts = [("toe_med", -24.0, 236.0), ("ball_med", -28.0, 180.0), ("toe_lat", 12.0, 225.0),
           ("ball_cen", 0.0, 184.0), ("mid_lat", 28.0, 110.0), ("heel", 0.0, 40.0)]
    names, x, y = zip(*pts)
    x_mm, y_mm = np.array(x), np.array(y)
    return SensorLayout(x_mm=x_mm, y_mm=y_mm, region=region_of(y_mm), ml_zone=ml_zone_of(x_mm, y_mm),
                        names=tuple(names), layout_id="orphe-insole-6")


def is_orphe_advert(service_uuids: list[str], name: str | None) -> bool:
    """Whether an advertisement looks like an ORPHE INSOLE (service UUID or ``ORPHE`` name)."""
    uuids = {u.lower() for u in service_uuids or ()}
    return (INFORMATION_SERVICE_UUID in uuids or OTHER_SERVICE_UUID in uuids
            or bool(name and name.upper().startswith("ORPHE")))
