"""Identity, control and advertising messages of gaitpf insole protocol 1.0.

Split out of :mod:`gaitpf.acquisition.protocol` (which re-exports every public name here)
to keep modules small; import from ``gaitpf.acquisition.protocol``. Byte layouts are
specified in ``firmware_notes/protocol.md``.
"""
from __future__ import annotations

import binascii
import enum
import re
import struct
from dataclasses import dataclass

import numpy as np

from ..errors import AcquisitionError

__all__ = [
    "ProtocolError", "crc16", "DeviceIdentity", "encode_identity", "decode_identity",
    "ControlOp", "ControlStatus", "ControlCommand", "ControlResponse", "encode_control",
    "decode_control", "encode_control_response", "decode_control_response",
    "AdvertInfo", "local_name", "parse_local_name", "encode_manufacturer_data",
    "decode_manufacturer_data",
]

_PROTOCOL_MAJOR, _PROTOCOL_MINOR = 1, 0
IDENTITY_FORMAT = 1
UNIT_CODES: dict[str, int] = {"au": 0, "N": 1, "kPa": 2}
_SIDE_CODES: dict[str, int] = {"left": 0, "right": 1}


class ControlStatus(enum.IntEnum):
    """Status byte of a control reply."""

    OK = 0
    UNKNOWN_OPCODE = 1
    BAD_LENGTH = 2
    BAD_VALUE = 3
    BUSY = 4  #: not allowed while streaming (stop first)


class ProtocolError(AcquisitionError):
    """A control message, identity or advertisement does not follow the protocol.

    ``status`` is the :class:`ControlStatus` a device answers a bad command with.
    """

    def __init__(self, message: str, status: ControlStatus = ControlStatus.BAD_LENGTH) -> None:
        super().__init__(message)
        self.status = status


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final xor).

    ``crc16(b"123456789") == 0x29B1``.
    """
    return binascii.crc_hqx(data, 0xFFFF)


# --------------------------------------------------------------------------- identity
@dataclass(frozen=True)
class DeviceIdentity:
    """What an insole says about itself (Identity characteristic, read once per connection).

    Parameters
    ----------
    side : {"left", "right"}
    serial : str
        Serial number, 8 upper-case hex digits (the u32 in the advertisement).
    firmware_version : str
        ``"major.minor.patch"``.
    layout_id : str
        Sensor layout identifier (``gaitpf.model.SensorLayout.layout_id``), e.g. ``"gaitpf-16"``.
    n_sensors : int
        Sensors per frame (1..255).
    sample_width_bits : {12, 16}
        Current sample width on the wire.
    nominal_rate_hz : float
        Nominal sampling rate, sent in millihertz (a 32.768 kHz timer can only make some rates).
    unit : {"au", "N", "kPa"}
        Unit of calibrated values.
    calibration : ndarray of float32, shape (n_sensors, n_coef), optional
        Polynomial per sensor, ``value_unit = sum_j c[j] * raw**j``; ``None`` = raw counts are
        the values (``unit`` then is usually ``"au"``).
    protocol_version : str
        ``"major.minor"`` the firmware implements.
    """

    side: str
    serial: str
    firmware_version: str
    layout_id: str
    n_sensors: int
    sample_width_bits: int
    nominal_rate_hz: float
    unit: str = "au"
    calibration: np.ndarray | None = None
    protocol_version: str = f"{_PROTOCOL_MAJOR}.{_PROTOCOL_MINOR}"

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Raw ADC counts (n, n_sensors) → float32 values in :attr:`unit` (Horner, vectorized)."""
        x = np.asarray(raw, dtype=np.float32)
        if self.calibration is None:
            return x.copy()
        coef = np.asarray(self.calibration, dtype=np.float32)
        out = np.zeros_like(x)
        for j in range(coef.shape[1] - 1, -1, -1):
            out = out * x + coef[:, j]
        return out


def _pstr(s: str, what: str) -> bytes:
    b = s.encode("ascii")
    if len(b) > 255:
        raise ValueError(f"{what} {s!r} is longer than 255 bytes")
    return bytes([len(b)]) + b


def encode_identity(identity: DeviceIdentity) -> bytes:
    """Encode the Identity characteristic value (see protocol.md, "Identity")."""
    if identity.side not in _SIDE_CODES:
        raise ValueError(f"side must be 'left' or 'right', got {identity.side!r}")
    if identity.unit not in UNIT_CODES:
        raise ValueError(f"unit must be one of {sorted(UNIT_CODES)}, got {identity.unit!r}")
    if identity.sample_width_bits not in (12, 16) or not 1 <= identity.n_sensors <= 255:
        raise ValueError("sample_width_bits must be 12/16 and n_sensors 1..255")
    fw = [int(p) for p in identity.firmware_version.split(".")]
    pmaj, pmin = (int(p) for p in identity.protocol_version.split("."))
    cal = (np.zeros((identity.n_sensors, 0), np.float32) if identity.calibration is None
           else np.asarray(identity.calibration, dtype="<f4"))
    if cal.ndim != 2 or cal.shape[0] != identity.n_sensors or cal.shape[1] > 8:
        raise ValueError(f"calibration must have shape ({identity.n_sensors}, 1..8), got {cal.shape}")
    msg = (struct.pack("<BBBB", IDENTITY_FORMAT, pmaj, pmin, _SIDE_CODES[identity.side])
           + _pstr(identity.serial, "serial") + struct.pack("<BBB", *fw)
           + _pstr(identity.layout_id, "layout_id")
           + struct.pack("<BBIBB", identity.n_sensors, identity.sample_width_bits,
                         round(identity.nominal_rate_hz * 1000), UNIT_CODES[identity.unit], cal.shape[1])
           + cal.astype("<f4").tobytes())
    return msg + struct.pack("<H", crc16(msg))


def decode_identity(data: bytes) -> DeviceIdentity:
    """Decode the Identity characteristic; raises :class:`ProtocolError` if malformed."""
    data = bytes(data)
    fail = "insole identity characteristic"
    if len(data) < 8 or crc16(data[:-2]) != int.from_bytes(data[-2:], "little"):
        raise ProtocolError(f"{fail} is truncated or fails its CRC ({len(data)} bytes); reconnect, "
                            "or update the insole firmware")
    try:
        fmt, pmaj, pmin, side = struct.unpack_from("<BBBB", data, 0)
        if fmt != IDENTITY_FORMAT or pmaj != _PROTOCOL_MAJOR:
            raise ProtocolError(f"{fail} has format {fmt}, protocol {pmaj}.{pmin}; this gaitpf reads "
                                f"protocol {_PROTOCOL_MAJOR}.x: update gaitpf or the firmware")
        pos = 4
        n = data[pos]
        serial = data[pos + 1:pos + 1 + n].decode("ascii")
        pos += 1 + n
        fw = struct.unpack_from("<BBB", data, pos)
        pos += 3
        n = data[pos]
        layout_id = data[pos + 1:pos + 1 + n].decode("ascii")
        pos += 1 + n
        n_sensors, width, rate_mhz, unit_code, n_coef = struct.unpack_from("<BBIBB", data, pos)
        pos += 8
        units = {v: k for k, v in UNIT_CODES.items()}
        if side > 1 or unit_code not in units or width not in (12, 16) or n_sensors == 0 or rate_mhz == 0:
            raise ProtocolError(f"{fail} has invalid values (side={side}, unit={unit_code}, "
                                f"width={width}, n_sensors={n_sensors}, rate={rate_mhz} mHz)")
        n_cal = n_sensors * n_coef
        if pos + 4 * n_cal + 2 != len(data):
            raise ProtocolError(f"{fail} has {len(data)} bytes, expected {pos + 4 * n_cal + 2}")
        cal = (np.frombuffer(data, "<f4", n_cal, pos).reshape(n_sensors, n_coef).astype(np.float32)
               if n_coef else None)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"{fail} is malformed ({exc}); update the insole firmware") from exc
    return DeviceIdentity(side=("left", "right")[side], serial=serial, firmware_version="%d.%d.%d" % fw,
                          layout_id=layout_id, n_sensors=n_sensors, sample_width_bits=width,
                          nominal_rate_hz=rate_mhz / 1000.0, unit=units[unit_code], calibration=cal,
                          protocol_version=f"{pmaj}.{pmin}")


# --------------------------------------------------------------------------- control
class ControlOp(enum.IntEnum):
    """Control characteristic opcodes (command byte 0; the reply carries ``op | 0x80``)."""

    START = 0x01
    STOP = 0x02
    SET_RATE = 0x03
    TIME_SYNC = 0x04
    SET_FRAMES_PER_PACKET = 0x05
    SET_SAMPLE_WIDTH = 0x06
    SET_IMU = 0x07


# op -> (command payload format, its field name, reply payload format, reply field names)
_CONTROL: dict[ControlOp, tuple[str, str | None, str, tuple[str, ...]]] = {
    ControlOp.START: ("", None, "<I", ("counter",)),
    ControlOp.STOP: ("", None, "<I", ("counter",)),
    ControlOp.SET_RATE: ("<H", "rate_hz", "<I", ("rate_mhz",)),
    ControlOp.TIME_SYNC: ("<I", "token", "<IIH", ("token", "counter", "subsample")),
    ControlOp.SET_FRAMES_PER_PACKET: ("<B", "n_frames", "<B", ("value",)),
    ControlOp.SET_SAMPLE_WIDTH: ("<B", "sample_width_bits", "<B", ("value",)),
    ControlOp.SET_IMU: ("<B", "enabled", "<B", ("value",)),
}


@dataclass(frozen=True)
class ControlCommand:
    """A decoded command; only the parameter of its opcode is set."""

    op: ControlOp
    rate_hz: int | None = None
    token: int | None = None
    n_frames: int | None = None
    sample_width_bits: int | None = None
    enabled: bool | None = None


@dataclass(frozen=True)
class ControlResponse:
    """A decoded reply (notification on the Control characteristic).

    ``counter``: START/STOP → counter of the next frame to be sent; TIME_SYNC → the sample
    counter when the command arrived, ``subsample`` its fraction of a sample period in 1/65536.
    """

    op: int
    status: ControlStatus
    counter: int | None = None
    token: int | None = None
    subsample: int | None = None
    rate_mhz: int | None = None
    value: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == ControlStatus.OK

    @property
    def device_counter(self) -> float | None:
        """TIME_SYNC: the device's time in samples, with the sub-sample fraction."""
        return None if self.counter is None else self.counter + (self.subsample or 0) / 65536.0


def encode_control(op: ControlOp | int, *, rate_hz: int | None = None, token: int | None = None,
                   n_frames: int | None = None, sample_width_bits: int | None = None,
                   enabled: bool | None = None) -> bytes:
    """Encode a command for the Control characteristic (write with response)."""
    op = ControlOp(op)
    fmt, name, _, _ = _CONTROL[op]
    if name is None:
        return bytes([op])
    value = {"rate_hz": rate_hz, "token": token, "n_frames": n_frames,
             "sample_width_bits": sample_width_bits, "enabled": enabled}[name]
    if value is None:
        raise ValueError(f"control {op.name} needs {name}=")
    try:
        return bytes([op]) + struct.pack(fmt, int(value))
    except struct.error as exc:
        raise ValueError(f"control {op.name}: {name}={value!r} out of range") from exc


def decode_control(data: bytes) -> ControlCommand:
    """Decode a command (device side); raises :class:`ProtocolError` carrying the reply status."""
    data = bytes(data)
    if not data:
        raise ProtocolError("empty control command", ControlStatus.BAD_LENGTH)
    try:
        op = ControlOp(data[0])
    except ValueError:
        raise ProtocolError(f"unknown control opcode 0x{data[0]:02x}", ControlStatus.UNKNOWN_OPCODE) from None
    fmt, name, _, _ = _CONTROL[op]
    if len(data) - 1 != struct.calcsize(fmt or "<"):
        raise ProtocolError(f"control {op.name}: {len(data) - 1} parameter bytes", ControlStatus.BAD_LENGTH)
    if name is None:
        return ControlCommand(op)
    (value,) = struct.unpack(fmt, data[1:])
    ok = {"rate_hz": 1 <= value <= 4000, "n_frames": 1 <= value <= 255,
          "sample_width_bits": value in (12, 16), "enabled": value in (0, 1), "token": True}[name]
    if not ok:
        raise ProtocolError(f"control {op.name}: {name}={value} not allowed", ControlStatus.BAD_VALUE)
    return ControlCommand(op, **{name: bool(value) if name == "enabled" else value})


def encode_control_response(op: ControlOp | int, status: ControlStatus | int = ControlStatus.OK, *,
                            counter: int | None = None, token: int | None = None,
                            subsample: int | None = None, rate_mhz: int | None = None,
                            value: int | None = None) -> bytes:
    """Encode a reply (device side). A non-OK status carries no payload."""
    head = bytes([(int(op) | 0x80) & 0xFF, int(status)])
    if status != ControlStatus.OK:
        return head
    _, _, fmt, names = _CONTROL[ControlOp(op)]
    given = {"counter": counter, "token": token, "subsample": subsample, "rate_mhz": rate_mhz, "value": value}
    missing = [n for n in names if given[n] is None]
    if missing:
        raise ValueError(f"reply to {ControlOp(op).name} needs {missing}")
    vals = [int(given[n]) % (2**32 if n in ("counter", "token") else 2**64) for n in names]
    return head + struct.pack(fmt, *vals)


def decode_control_response(data: bytes) -> ControlResponse:
    """Decode a reply (host side); raises :class:`ProtocolError` if malformed."""
    data = bytes(data)
    if len(data) < 2 or not data[0] & 0x80:
        raise ProtocolError(f"control reply {data.hex()} is malformed; update the insole firmware")
    op = data[0] & 0x7F
    try:
        status = ControlStatus(data[1])
    except ValueError:
        raise ProtocolError(f"control reply {data.hex()} has unknown status {data[1]}") from None
    try:
        op = ControlOp(op)
    except ValueError:
        return ControlResponse(op, status)
    if status != ControlStatus.OK:
        return ControlResponse(op, status)
    _, _, fmt, names = _CONTROL[op]
    if len(data) - 2 != struct.calcsize(fmt):
        raise ProtocolError(f"control reply to {op.name} has {len(data) - 2} payload bytes, "
                            f"expected {struct.calcsize(fmt)}")
    return ControlResponse(op, status, **dict(zip(names, struct.unpack(fmt, data[2:]))))


# --------------------------------------------------------------------------- advertising
_NAME_RE = re.compile(r"^gaitpf-([LR])-([0-9A-F]{8})$")


@dataclass(frozen=True)
class AdvertInfo:
    """What the advertisement tells without connecting."""

    side: str
    serial: str
    protocol_major: int
    battery_pct: int | None


def _serial_int(serial: str) -> int:
    if not re.fullmatch(r"[0-9A-F]{8}", serial):
        raise ValueError(f"serial must be 8 upper-case hex digits, got {serial!r}")
    return int(serial, 16)


def local_name(side: str, serial: str) -> str:
    """Advertised local name, ``gaitpf-L-<serial>`` / ``gaitpf-R-<serial>``."""
    _serial_int(serial)
    return f"gaitpf-{'L' if side == 'left' else 'R' if side == 'right' else '?'}-{serial}"


def parse_local_name(name: str | None) -> tuple[str, str] | None:
    """``"gaitpf-L-0000A1B2"`` → ``("left", "0000A1B2")``; ``None`` if not a gaitpf name."""
    m = _NAME_RE.match(name or "")
    return None if m is None else ("left" if m.group(1) == "L" else "right", m.group(2))


def encode_manufacturer_data(*, side: str, serial: str, battery_pct: int | None = None) -> bytes:
    """Manufacturer-specific data payload (company id :data:`MANUFACTURER_ID` not included).

    6 bytes: ``(protocol_major << 4) | side`` (0 left, 1 right), serial u32 LE, battery % (0xFF
    unknown).
    """
    if side not in _SIDE_CODES:
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    bat = 0xFF if battery_pct is None else int(battery_pct)
    return struct.pack("<BIB", (_PROTOCOL_MAJOR << 4) | _SIDE_CODES[side], _serial_int(serial), bat)


def decode_manufacturer_data(payload: bytes | None) -> AdvertInfo | None:
    """Decode the payload under company id :data:`MANUFACTURER_ID`; ``None`` if not gaitpf's."""
    if payload is None or len(payload) != 6:
        return None
    info, serial, bat = struct.unpack("<BIB", bytes(payload))
    if info & 0x0E or not info >> 4:
        return None
    return AdvertInfo(side=("left", "right")[info & 1], serial=f"{serial:08X}", protocol_major=info >> 4,
                      battery_pct=None if bat > 100 else bat)
