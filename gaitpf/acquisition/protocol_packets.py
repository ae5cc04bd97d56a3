"""Data notifications of gaitpf insole protocol 1.0: byte layout, size arithmetic, encoder.

The normative description (with byte tables, bandwidth arithmetic and test vectors) is
``firmware_notes/protocol.md``. Decoding lives in :mod:`.protocol_decode`; import everything
from :mod:`gaitpf.acquisition.protocol`, which re-exports every public name here.

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
"""
from __future__ import annotations

import struct

import numpy as np

from .protocol_messages import crc16

__all__ = [
    "PACKET_VERSION", "FLAG_IMU", "FLAG_BATTERY", "FLAG_PACKED12", "HEADER_SIZE", "CRC_SIZE",
    "IMU_SIZE", "IMU_ACCEL_G_PER_LSB", "IMU_GYRO_DPS_PER_LSB", "packet_size", "max_frames_per_packet",
    "encode_packet",
]

#: Value of the first byte of every data notification.
PACKET_VERSION = 1

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
