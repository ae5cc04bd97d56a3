"""Pair two one-foot recordings (e.g. Tekscan F-Scan ``LEFT.asf`` + ``RIGHT.asf``) into one.

Rules
-----
* Each file must hold exactly one foot; the first becomes ``left``, the second ``right``
  (``gaitpf import LEFT --right RIGHT``). A file whose own content names the other side
  (XSENSOR ``-RF``, a Moticon export with a right foot only…) is refused rather than
  relabelled. Sides that came only from a file-name guess (:func:`side_from_name`) are
  overridden by the pairing.
* Sampling rates must agree within 0.1 %.
* Time: when both sources carry an absolute start (``source["start_epoch_s"]``) the
  right foot is shifted by the difference of the starts; otherwise both feet start at
  their own t = 0 and ``source["pairing"]["aligned"]`` says ``"file starts"`` (no common
  clock: double support and phase metrics then assume the exports started together).
* Annotations of both files are kept with the side they belong to.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import FormatError
from ..model import Recording

__all__ = ["pair_recordings", "side_from_name"]

_SIDE_WORD = re.compile(r"(?:^|[^a-z])(left|right)(?:[^a-z]|$)")


def side_from_name(path: str | Path) -> str | None:
    """The naming rule for one-foot files: ``left``/``right`` as a word in the stem, or a
    stem ending in ``L``/``R`` after a digit, ``_`` or ``-`` or in lower-case letters
    followed by an upper-case ``L``/``R`` (``FrasP01L``, ``walk_R``, ``fscan_testL``)."""
    stem = Path(path).stem
    m = _SIDE_WORD.search(stem.lower())
    if m:
        return m.group(1)
    m = re.search(r"(?:[0-9_\-]|[a-z])([LR])$", stem)
    if m:
        return "left" if m.group(1) == "L" else "right"
    return None


def _single(rec: Recording, path: Path, want: str) -> Recording:
    if len(rec.feet) != 1:
        raise FormatError(f"{path}: holds {' and '.join(rec.sides)} feet; --right pairs two one-foot files")
    (side, foot), = rec.feet.items()
    if side != want and not foot.device.get("side_from_file_name", False):
        raise FormatError(f"{path}: the file says it is the {side} foot, but it was given as the {want} one")
    return rec


def pair_recordings(left: Recording, right: Recording, left_path: str | Path, right_path: str | Path) -> Recording:
    """One recording with the single foot of ``left`` as left and that of ``right`` as right.

    Raises
    ------
    FormatError
        A file with both feet, a side contradicting the file's own content, or
        different sampling rates.
    """
    lp, rp = Path(left_path), Path(right_path)
    _single(left, lp, "left")
    _single(right, rp, "right")
    fl = next(iter(left.feet.values()))
    fr = next(iter(right.feet.values()))
    if abs(fl.sampling_rate_hz - fr.sampling_rate_hz) > 1e-3 * fl.sampling_rate_hz:
        raise FormatError(f"{rp}: sampling rate {fr.sampling_rate_hz:g} Hz differs from the left file's "
                          f"{fl.sampling_rate_hz:g} Hz; pair recordings of one session")
    t_l, t_r = fl.times_s(), fr.times_s()
    s_l, s_r = left.source.get("start_epoch_s"), right.source.get("start_epoch_s")
    if s_l is not None and s_r is not None:
        shift, aligned = float(s_r) - float(s_l), "absolute start times"
    else:
        shift, aligned = 0.0, "file starts"
    feet = {
        "left": dataclasses.replace(fl, side="left", time_s=t_l, device=dict(fl.device, side_from_file_name=False)),
        "right": dataclasses.replace(fr, side="right", time_s=t_r + shift, sampling_rate_hz=fl.sampling_rate_hz,
                                     device=dict(fr.device, side_from_file_name=False)),
    }
    ann = []
    for rec, side, dt in ((left, "left", 0.0), (right, "right", shift)):
        a = rec.annotations.copy()
        if len(a):
            a["onset_s"] = a["onset_s"] + dt
            a["side"] = np.where(a["side"].isin(["left", "right"]), side, a["side"])
            ann.append(a)
    source = dict(left.source)
    source["pairing"] = {"aligned": aligned, "right_shift_s": shift, "right_source": {k: v for k, v in right.source.items() if k != "path"}}
    return Recording(
        feet=feet, subject_id=left.subject_id, source=source,
        annotations=pd.concat(ann, ignore_index=True) if ann else left.annotations,
        metadata=dict(left.metadata),
    )
