"""The insole's BLE wire protocol: "gaitpf insole protocol 1.0" (import everything from here).

The normative description (with byte tables, bandwidth arithmetic and test vectors) is
``firmware_notes/protocol.md``; this package is its reference implementation. This module
defines the protocol version and the GATT/advertising identifiers (UUIDs, company id) and
re-exports every public name of the modules that implement the rest:

* :mod:`.protocol_packets` — data-notification byte layout (flags, sizes, IMU scales),
  :func:`packet_size`, :func:`max_frames_per_packet` and :func:`encode_packet`;
* :mod:`.protocol_decode` — :func:`decode_packets`, the vectorized decoder (with a
  per-packet path for small batches);
* :mod:`.protocol_block` — what the decoder returns: :class:`DecodedBlock`,
  :class:`DecodeStats`, :data:`REJECT_REASONS`, :func:`unwrap_counter`;
* :mod:`.protocol_messages` — identity, control and advertising messages, :func:`crc16`.
"""
from __future__ import annotations

from .protocol_block import REJECT_REASONS, DecodedBlock, DecodeStats, unwrap_counter
from .protocol_decode import decode_packets
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
from .protocol_packets import (
    CRC_SIZE,
    FLAG_BATTERY,
    FLAG_IMU,
    FLAG_PACKED12,
    HEADER_SIZE,
    IMU_ACCEL_G_PER_LSB,
    IMU_GYRO_DPS_PER_LSB,
    IMU_SIZE,
    PACKET_VERSION,
    encode_packet,
    max_frames_per_packet,
    packet_size,
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

UUID_BASE = "6a4e{:04x}-b7c5-4e2a-9f61-3d0c8a5e2f14"
SERVICE_UUID = UUID_BASE.format(0x0001)  #: primary service, advertised
DATA_CHAR_UUID = UUID_BASE.format(0x0002)  #: data packets (notify)
CONTROL_CHAR_UUID = UUID_BASE.format(0x0003)  #: commands (write with response) + replies (notify)
IDENTITY_CHAR_UUID = UUID_BASE.format(0x0004)  #: device identity (read)
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"  #: standard Battery Service
BATTERY_LEVEL_CHAR_UUID = "00002a19-0000-1000-8000-00805f9b34fb"  #: standard Battery Level
#: Bluetooth SIG company id reserved for tests/unassigned vendors; key of the manufacturer data.
MANUFACTURER_ID = 0xFFFF
