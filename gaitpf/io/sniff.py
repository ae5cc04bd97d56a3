"""Recognise a vendor export by its content (never by its extension).

Each vendor's export starts with a signature that no other accepted format has:

================  =====================================================================
format            signature in the first 16 KiB
================  =====================================================================
``moticon``       ``# `` header lines, a ``# time<TAB>…`` column line with ``pressure 1[``
``pedar``         first line ``file name:`` … and a ``time[secs]`` column line
``tekscan``       first line ``DATA_TYPE MOVIE`` and ``ASCII_DATA @@`` (F-Scan ``.asf``, I-Scan CSV)
``xsensor``       ``File:,`` or ``Units:,`` lines, then ``SENSOR,`` blocks, or a one-row-per-frame
                  header row with ``LF``/``RF`` sensel columns (``LF R1C1`` …)
``stappone``      first line ``sole_id,timestamp,…,pressure_01,…``
================  =====================================================================
"""
from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["sniff_vendor", "VENDOR_FORMATS", "HEAD_BYTES"]

#: format name -> human-readable description (for error messages and ``ACCEPTED_FORMATS``).
VENDOR_FORMATS: dict[str, str] = {
    "moticon": "Moticon OpenGo text export",
    "pedar": "novel pedar ASCII (.asc)",
    "tekscan": "Tekscan F-Scan ASCII movie (.asf) / I-Scan CSV",
    "xsensor": "XSENSOR CSV export",
    "stappone": "stappone CSV",
}
HEAD_BYTES = 16384
#: A header row of the wide XSENSOR variant: several sensel columns named with LF/RF and row, column.
_WIDE_SENSEL = re.compile(r"^(?=.*\bLF\b|.*\bRF\b)(?:[^,\n]*,){4,}.*\b[LR]F\W*R?\d+\W*C?\d+", re.M)


def _head(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(HEAD_BYTES)
    except OSError:
        return ""
    if b"\x00" in raw[:4096]:
        return ""  # binary (HDF5, zip, xlsx…)
    for enc in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(enc, errors="strict" if enc == "utf-8-sig" else "replace").replace("\r\n", "\n")
        except UnicodeDecodeError:
            # a multi-byte character cut at HEAD_BYTES: retry without the last bytes
            try:
                return raw[:-3].decode(enc).replace("\r\n", "\n")
            except UnicodeDecodeError:
                continue
    return ""


def sniff_vendor(path: str | os.PathLike[str]) -> str | None:
    """Name the vendor format of ``path`` from its content, or None if it is none of them."""
    from .vendor_moticon import looks_like_moticon

    head = _head(Path(path))
    if not head:
        return None
    first = head.split("\n", 1)[0].strip()
    if looks_like_moticon(head):
        return "moticon"
    if first.lower().startswith("file name:") and "time[secs]" in head:
        return "pedar"
    if first.startswith("DATA_TYPE") and "ASCII_DATA" in head:
        return "tekscan"
    if first.startswith("sole_id,timestamp") and "pressure_" in first:
        return "stappone"
    if (first.startswith("File:,") or re.search(r"^Units:?,", head, re.M)) and (
        "\nSENSOR," in head or _WIDE_SENSEL.search(head)
    ):
        return "xsensor"
    return None
