"""The one error hierarchy of gaitpf.

Every error a person can run into says *what* was wrong, *where* (file, value, side)
and *what to do*. The CLI prints ``str(error)`` on one line and exits with code 2.
"""
from __future__ import annotations

__all__ = [
    "GaitpfError",
    "InputError",
    "FormatError",
    "SchemaError",
    "DamagedFileError",
    "ReadTimeoutError",
    "ReaderCrashError",
    "SignalError",
    "NoWalkingError",
    "OutputError",
    "AcquisitionError",
    "DeviceError",
    "MissingExtraError",
]


class GaitpfError(Exception):
    """Base class of every error gaitpf raises on purpose."""


class InputError(GaitpfError):
    """An input path or argument is missing, unreadable or not usable."""


class FormatError(InputError):
    """A file's content does not fit the format it claims (truncated, malformed, unknown)."""


class SchemaError(FormatError):
    """A gaitpf HDF5 file does not match the schema version this gaitpf reads."""


class DamagedFileError(FormatError):
    """A file's bytes cannot be read: the file library (HDF5, numpy, an importer) failed on them."""


class ReadTimeoutError(DamagedFileError):
    """Reading a file did not finish within its deadline (the HDF5 library can loop on damaged files)."""


class ReaderCrashError(DamagedFileError):
    """The isolated process reading a file died (the file library crashed on its content)."""


class SignalError(GaitpfError):
    """The signal cannot be analyzed (NaNs everywhere, flat or dead channel, wrong shape)."""


class NoWalkingError(SignalError):
    """No walking (no valid strides) was found in a recording."""


class OutputError(GaitpfError):
    """An output cannot be written (unwritable path, disk full)."""


class AcquisitionError(GaitpfError):
    """Recording from insoles failed (link, protocol, writer)."""


class DeviceError(AcquisitionError):
    """An insole could not be found, is not allow-listed, or misbehaves."""


class MissingExtraError(GaitpfError):
    """A command needs an optional dependency that is not installed; the message names the
    extra to install (``pip install 'gaitpf[live]'``)."""
