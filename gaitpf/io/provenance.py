"""Provenance of imported recordings without identifying data: content hashes and pseudonyms.

Clinics often name folders and files after patients, so the importers never put a path or a
file name into a recording (the writer also drops any ``path``-like key from the stored
``source``; see :func:`gaitpf.io.hdf5_layout.private_source`). What they keep instead:

* ``source["sha256"]``: the SHA-256 of the imported file's bytes (for a gaitndd record, of
  the ``.hea``, ``.let`` and ``.rit`` files in that order), so a recording can be traced back
  to the file it came from by whoever holds that file;
* a **pseudonymous subject id** when the input carries none of its own (a gaitpf CSV's
  ``# subject_id:`` header line) and ``gaitpf import --subject`` does not give one:
  ``anon-`` followed by the first 8 hex digits of that content hash (:func:`pseudonym`).
  It is never derived from a file or folder name; the same file always gets the same
  pseudonym (re-imports and re-analyses agree), and two files of one person get different
  ones — give ``--subject`` to group them.

``source["path"]`` of an in-memory :class:`~gaitpf.model.Recording` still names the file
the user gave, so that error messages can name it; it is never written to a recording.
"""
from __future__ import annotations

import hashlib
import os

from ..errors import InputError

__all__ = ["content_sha256", "pseudonym", "PSEUDONYM_PREFIX"]

#: Prefix of generated subject ids.
PSEUDONYM_PREFIX = "anon-"


def content_sha256(*paths: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of the bytes of ``paths``, concatenated in the given order.

    Raises
    ------
    InputError
        A file cannot be read (the message names it).
    """
    h = hashlib.sha256()
    for path in paths:
        try:
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    h.update(block)
        except OSError as exc:
            raise InputError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    return h.hexdigest()


def pseudonym(sha256_hex: str) -> str:
    """``anon-XXXXXXXX``: the first 8 hex digits of a content hash (see the module docstring)."""
    return PSEUDONYM_PREFIX + sha256_hex[:8]
