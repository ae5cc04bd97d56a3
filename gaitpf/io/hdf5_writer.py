"""Write gaitpf HDF5 (schema v1): the appendable, crash-safe :class:`RecordingWriter`.

A live recorder creates the writer (which lays out *every* group, dataset and
attribute the file will ever have, then switches HDF5 single-writer/multiple-reader
mode on), appends blocks of frames, updates pre-created counters, and flushes
regularly. Readers may follow the file while it grows (``h5py.File(path, "r",
swmr=True)`` then ``refresh()``). If the recorder is killed, everything up to the last
:meth:`RecordingWriter.flush` survives; the root attribute ``closed_cleanly`` then
still reads ``False``. :func:`write_hdf5` writes a whole in-memory recording atomically
through the same writer.

The initial tree (root attributes, foot groups, layouts, annotation columns, ground
truth) and :class:`FootSpec` live in :mod:`gaitpf.io.hdf5_layout`; ``FootSpec`` is
re-exported here.

Verified with h5py 3.16 / HDF5 2.0: modifying an existing attribute in SWMR mode works
and is how ``closed_cleanly`` and the per-foot counters are updated. Creating *new*
attributes or datasets after SWMR started is not SWMR-safe for concurrent readers and
is refused here.
"""
from __future__ import annotations

import errno
import logging
import os
import re
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import OutputError, SignalError
from ..model import Recording
from .hdf5_layout import FootSpec, check_feet, create_layout
from .hdf5_schema import ANNOTATION_DATASETS, FOOT_COUNTER_ATTRS, FOOT_DATASETS, LIBVER

__all__ = ["FootSpec", "RecordingWriter", "write_hdf5"]

#: Per-frame datasets of a foot group (same length as ``values``).
PER_FRAME_COLUMNS = ("time_s", "sample_counter", "device_time_s", "host_time_s", "quality")

log = logging.getLogger(__name__)

#: In-memory dtype of each foot dataset (the file dtype; no conversion on write).
_NUMPY_DTYPES = {name: np.dtype(dtype) for name, (dtype, _) in FOOT_DATASETS.items()}

#: What HDF5 and h5py raise when a write fails (h5py maps some HDF5 errors to RuntimeError).
_WRITE_ERRORS = (OSError, RuntimeError)


def describe_write_error(exc: BaseException) -> str:
    """One line for a failed HDF5 write: the cause people can act on (disk full, size limit,
    permissions), else HDF5's own message with its embedded line breaks removed."""
    text = " ".join(str(exc).split())
    code = getattr(exc, "errno", None)
    if code is None:
        m = re.search(r"errno = (\d+)", text)
        code = int(m.group(1)) if m else None
    if code == errno.ENOSPC or "No space left" in text:
        return "No space left on device: the disk is full"
    if code == errno.EFBIG or "File too large" in text:
        return "File too large: the file size limit was reached"
    if code == errno.EDQUOT:
        return "Disk quota exceeded"
    if code in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "permission denied"
    if code == errno.EIO:
        return "input/output error (the disk or its connection failed)"
    return (text[:200] + "…") if len(text) > 200 else (text or type(exc).__name__)


class RecordingWriter:
    """Create a gaitpf HDF5 recording and append to it block by block.

    Parameters
    ----------
    path : path-like
        File to create (overwritten if it exists).
    subject_id, session, trial : str
        Who and which trial (``subject_id`` pseudonymous).
    feet : dict {"left": FootSpec, "right": FootSpec}
        The feet this file will hold (one or both).
    body_mass_kg : float, optional
    metadata : dict, optional
        JSON-serialisable session metadata.
    swmr : bool
        Switch SWMR mode on after creating everything (for live recording).
    source : dict, optional
        Provenance (importer, original file, simulator parameters).
    created_utc : str, optional
        ISO-8601 time; now if omitted.
    truth : dict {side: DataFrame(ic_idx, to_idx)}, optional
        Ground-truth events (simulator), written before SWMR starts.
    compression : {"gzip", None}
        Compression of ``values`` (gzip level 1 with shuffle).

    Raises
    ------
    OutputError
        The file cannot be created (message names the path).
    SignalError
        A foot spec is invalid.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        subject_id: str,
        session: str,
        trial: str,
        feet: Mapping[str, FootSpec],
        body_mass_kg: float | None = None,
        metadata: Mapping[str, Any] | None = None,
        swmr: bool = True,
        source: Mapping[str, Any] | None = None,
        created_utc: str | None = None,
        truth: Mapping[str, pd.DataFrame] | None = None,
        compression: str | None = "gzip",
    ) -> None:
        import h5py

        self.path = os.fspath(path)
        check_feet(self.path, feet, subject_id=subject_id, session=session, trial=trial)
        self.feet = dict(feet)
        self._n = {side: 0 for side in feet}
        self._dsids: dict[str, dict[str, Any]] = {}   # side -> {dataset name: h5py DatasetID}
        self._durable = {side: 0 for side in feet}    # rows per side at the last successful flush
        self._durable_ann = 0
        self._closed = False
        try:
            self._file = h5py.File(self.path, "w", libver=LIBVER)
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot create the recording file ({exc})") from exc
        try:
            create_layout(
                self._file, self.path, self.feet, subject_id=subject_id, session=session, trial=trial,
                body_mass_kg=body_mass_kg, metadata=metadata, source=source, created_utc=created_utc,
                truth=truth, compression=compression,
            )
            self._file.flush()
            if swmr:
                self._file.swmr_mode = True
        except BaseException:
            self._file.close()
            raise
        self.swmr = swmr

    # -- appending ---------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise OutputError(f"{self.path}: the recording writer is already closed")

    def n_frames(self, side: str) -> int:
        """Frames written so far for ``side``."""
        return self._n[side]

    def append(
        self,
        side: str,
        values: np.ndarray,
        *,
        time_s: np.ndarray,
        sample_counter: np.ndarray | None = None,
        device_time_s: np.ndarray | None = None,
        host_time_s: np.ndarray | None = None,
        quality: np.ndarray | None = None,
    ) -> None:
        """Append a block of ``m`` frames to one foot (resize every dataset, then write).

        Parameters
        ----------
        side : {"left", "right"}
        values : array, shape (m, n_sensors)
            Readings in the foot's unit.
        time_s : array, shape (m,)
            Aligned time from recording start, s.
        sample_counter : int array (m,), optional
            Device counter; default continues ``0, 1, 2…``.
        device_time_s, host_time_s : float arrays (m,), optional
            Device clock and host receive time, s; NaN if omitted.
        quality : uint8 array (m,), optional
            ``QUALITY_*`` flags; 0 if omitted.

        Nothing is durable until :meth:`flush`.
        """
        self._check_open()
        if side not in self.feet:
            raise SignalError(f"{self.path}: this file has no {side!r} foot (it has {sorted(self.feet)})")
        k = self.feet[side].n_sensors
        block = np.asarray(values, dtype="float32")
        if block.ndim == 1 and k == 1:
            block = block[:, None]
        if block.ndim != 2 or block.shape[1] != k:
            raise SignalError(f"{self.path}: {side} values must have shape (m, {k}), got {block.shape}")
        m = block.shape[0]
        n0 = self._n[side]
        cols: dict[str, np.ndarray] = {
            "values": block,
            "time_s": np.asarray(time_s, dtype="float64"),
            "sample_counter": (
                np.arange(n0, n0 + m, dtype="int64") if sample_counter is None else np.asarray(sample_counter, "int64")
            ),
            "device_time_s": np.full(m, np.nan) if device_time_s is None else np.asarray(device_time_s, "float64"),
            "host_time_s": np.full(m, np.nan) if host_time_s is None else np.asarray(host_time_s, "float64"),
            "quality": np.zeros(m, "uint8") if quality is None else np.asarray(quality, "uint8"),
        }
        for name, arr in cols.items():
            if name != "values" and arr.shape != (m,):
                raise SignalError(f"{self.path}: {side} {name} must have shape ({m},), got {arr.shape}")
        if m == 0:
            return
        try:
            self._write_rows(side, cols, n0, m)
        except _WRITE_ERRORS as exc:
            raise OutputError(f"{self.path}: writing {side} frames failed ({describe_write_error(exc)})") from exc
        self._n[side] = n0 + m

    def _write_rows(self, side: str, cols: Mapping[str, np.ndarray], n0: int, m: int) -> None:
        """Extend every dataset of ``side`` to ``n0 + m`` rows and write rows ``n0:`` (low-level
        h5py: one ``set_extent`` and one hyperslab write per dataset, dataset ids cached —
        the high-level ``group[name]``/``resize``/``__setitem__`` path costs ~10x more CPU)."""
        from h5py import h5s

        ids = self._dsids.get(side)
        if ids is None:
            g = self._file[side]
            ids = self._dsids[side] = {name: g[name].id for name in FOOT_DATASETS}
        for name, dsid in ids.items():
            arr = np.ascontiguousarray(cols[name], dtype=_NUMPY_DTYPES[name])
            shape = arr.shape
            dsid.set_extent((n0 + m, *shape[1:]))
            fspace = dsid.get_space()
            fspace.select_hyperslab((n0, *(0,) * (arr.ndim - 1)), shape)
            dsid.write(h5s.create_simple(shape), fspace, arr)

    def add_annotation(self, onset_s: float, duration_s: float, kind: str, side: str, description: str) -> None:
        """Append one annotation row (gap, marker, note). ``side`` may be ``""`` for both."""
        self.add_annotations(
            pd.DataFrame(
                {"onset_s": [onset_s], "duration_s": [duration_s], "kind": [kind], "side": [side],
                 "description": [description]}
            )
        )

    def add_annotations(self, table: pd.DataFrame) -> None:
        """Append several annotation rows (a table with the annotation columns)."""
        self._check_open()
        m = len(table)
        if m == 0:
            return
        g = self._file["annotations"]
        n0 = g["onset_s"].shape[0]
        try:
            for name, dtype in ANNOTATION_DATASETS.items():
                col = table[name]
                if dtype == "str":
                    data = np.array(["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                                     for v in col.tolist()], dtype=object)
                    if any("\x00" in v for v in data):
                        raise SignalError(f"{self.path}: annotation {name} contains a NUL character, which HDF5 "
                                          "cannot store")
                else:
                    data = np.asarray(col, dtype=dtype)
                ds = g[name]
                ds.resize((n0 + m,))
                ds[n0:] = data
        except _WRITE_ERRORS as exc:
            raise OutputError(f"{self.path}: writing annotations failed ({describe_write_error(exc)})") from exc

    def annotation_times(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(onset_s, duration_s, side)`` of every annotation written so far."""
        self._check_open()
        g = self._file["annotations"]
        sides = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in g["side"][:]], dtype=object)
        return g["onset_s"][:], g["duration_s"][:], sides

    def rewrite_annotation_times(self, onset_s: np.ndarray, duration_s: np.ndarray) -> None:
        """Replace the onset/duration of every annotation (same count), e.g. after the
        aligned time base was refitted. Durable at the next :meth:`flush`."""
        self._check_open()
        g = self._file["annotations"]
        n = g["onset_s"].shape[0]
        on, du = np.asarray(onset_s, "float64"), np.asarray(duration_s, "float64")
        if on.shape != (n,) or du.shape != (n,):
            raise SignalError(f"{self.path}: annotation times must have shape ({n},)")
        try:
            g["onset_s"][:] = on
            g["duration_s"][:] = du
        except _WRITE_ERRORS as exc:
            raise OutputError(f"{self.path}: rewriting annotation times failed ({describe_write_error(exc)})") \
                from exc

    def set_foot_attrs(self, side: str, **attrs: Any) -> None:
        """Update pre-created per-foot counters (``n_lost_frames``, ``clock_offset_s``…).

        Only the attributes in :data:`FOOT_COUNTER_ATTRS` exist in every file; a SWMR
        writer may change their values but must not create new attributes.
        """
        self._check_open()
        if side not in self.feet:
            raise SignalError(f"{self.path}: this file has no {side!r} foot")
        g = self._file[side]
        for key, value in attrs.items():
            if key not in FOOT_COUNTER_ATTRS:
                raise KeyError(f"{key!r} is not a per-foot counter; allowed: {sorted(FOOT_COUNTER_ATTRS)}")
            g.attrs[key] = np.asarray(value, dtype=np.asarray(FOOT_COUNTER_ATTRS[key]).dtype)[()]

    def read_column(self, side: str, name: str) -> np.ndarray:
        """Read back a per-frame column of one foot (``time_s``, ``sample_counter``...)."""
        self._check_open()
        if side not in self.feet or name not in PER_FRAME_COLUMNS:
            raise SignalError(f"{self.path}: no per-frame column {name!r} for {side!r}")
        return self._file[side][name][: self._n[side]]

    def rewrite_time_s(self, side: str, time_s: np.ndarray) -> None:
        """Replace the aligned time of every frame written so far (e.g. after an offline
        clock fit at the end of a recording). Durable at the next :meth:`flush`."""
        self._check_open()
        t = np.asarray(time_s, dtype="float64")
        if side not in self.feet or t.shape != (self._n[side],):
            raise SignalError(f"{self.path}: {side} time_s must have shape ({self._n.get(side)},), got {t.shape}")
        try:
            self._file[side]["time_s"][:] = t
        except _WRITE_ERRORS as exc:
            raise OutputError(f"{self.path}: rewriting {side} time_s failed ({describe_write_error(exc)})") from exc

    def flush(self) -> None:
        """Make everything appended so far durable and visible to SWMR readers."""
        self._check_open()
        try:
            self._file.flush()
        except _WRITE_ERRORS as exc:
            raise OutputError(f"{self.path}: flushing failed ({describe_write_error(exc)})") from exc
        self._durable = dict(self._n)
        if "annotations" in self._file:
            self._durable_ann = int(self._file["annotations"]["onset_s"].shape[0])

    def close(self) -> None:
        """Flush, then mark the file ``closed_cleanly`` and close it (idempotent).

        The flag is set only after the data reached the disk: a failing final flush
        leaves ``closed_cleanly = 0`` (and raises :class:`OutputError`).
        """
        if self._closed:
            return
        try:
            try:
                self._file.flush()
            except _WRITE_ERRORS as exc:
                raise OutputError(f"{self.path}: final flush failed ({describe_write_error(exc)}); run "
                                  f"`gaitpf repair {self.path}`") from exc
            self._file.attrs["closed_cleanly"] = np.int8(1)
            self._file.flush()
        finally:
            self._file.close()
            self._closed = True

    def _rollback_to_durable(self) -> None:
        """Shrink every dataset back to the rows of the last successful flush (best effort).

        After a failed write the datasets may already be extended over rows whose data
        never reached the disk (they would read as zeros: counter 0, time 0). Shrinking
        them is a metadata change HDF5 may still manage to write when closing, and then
        the file holds only real frames.
        """
        for side, n in self._durable.items():
            g = self._file[side]
            for name in FOOT_DATASETS:
                ds = g[name]
                if ds.shape[0] != n:
                    ds.id.set_extent((n, *ds.shape[1:]))
            self._n[side] = n
        if "annotations" in self._file:
            for name in ANNOTATION_DATASETS:
                ds = self._file["annotations"][name]
                if ds.shape[0] != self._durable_ann:
                    ds.id.set_extent((self._durable_ann,))

    def abort(self) -> bool:
        """Close without marking the file clean (after a write error); idempotent.

        First shrinks the datasets back to the last successful flush
        (:meth:`_rollback_to_durable`), then closes what it can. Whatever was flushed stays
        readable (SWMR read-only) and ``gaitpf repair`` turns the file into a normal one.
        Returns False if even closing failed (logged at info level, the traceback at debug
        level: the caller reports the write error itself, in one line).
        """
        if self._closed:
            return True
        try:
            self._rollback_to_durable()
        except Exception as exc:  # noqa: BLE001 - best effort on a file that already failed
            log.debug("%s: shrinking the datasets after a write error failed: %s", self.path, exc)
        try:
            self._file.close()
            return True
        except Exception as exc:  # the file is already broken; closing is best effort
            log.info("%s: closing after a write error failed (%s)", self.path, describe_write_error(exc))
            log.debug("closing %s", self.path, exc_info=True)
            return False
        finally:
            self._closed = True

    def __enter__(self) -> "RecordingWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def write_hdf5(path: str | os.PathLike[str], rec: Recording, *, compression: str | None = "gzip") -> None:
    """Write a whole :class:`~gaitpf.model.Recording` to ``path`` atomically (schema v1)."""
    from .atomic import atomic_path

    feet = {
        side: FootSpec(f.n_sensors, f.unit, f.sampling_rate_hz, f.layout, dict(f.device))
        for side, f in rec.feet.items()
    }
    with atomic_path(path) as tmp:
        with RecordingWriter(
            tmp, subject_id=rec.subject_id, session=rec.session, trial=rec.trial, feet=feet,
            body_mass_kg=rec.body_mass_kg, metadata=rec.metadata, swmr=False, source=rec.source,
            created_utc=rec.created_utc, truth=rec.truth, compression=compression,
        ) as w:
            for side in rec.sides:
                foot = rec.feet[side]
                w.append(
                    side, foot.values, time_s=foot.times_s(), sample_counter=foot.sample_counter,
                    quality=foot.quality,
                )
            w.add_annotations(rec.annotations)
        if any(f.aux for f in rec.feet.values()):
            _write_aux(tmp, rec, compression)


def _write_aux(path: Any, rec: Recording, compression: str | None) -> None:
    """Auxiliary per-sample channels (``FootSignals.aux``) as ``/<side>/aux/<name>`` float64 datasets."""
    import h5py

    with h5py.File(path, "r+") as f:
        for side, foot in rec.feet.items():
            if not foot.aux:
                continue
            g = f[side].create_group("aux")
            for name, arr in foot.aux.items():
                g.create_dataset(name, data=np.asarray(arr, dtype="float64"), compression=compression)
