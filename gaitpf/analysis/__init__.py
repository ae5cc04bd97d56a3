"""The pure analysis core: recording in, stride table and symmetry out.

Imports only numpy/scipy/pandas (and gaitpf's own pure modules). No I/O, no printing,
no h5py/bleak/Qt/asyncio; inputs are never mutated.

The pipeline (:func:`analyze`, :class:`AnalysisParams`, :class:`AnalysisResult`) lives
in :mod:`gaitpf.analysis.pipeline`; each stage in its own module (``preprocess``,
``events``, ``merged``, ``strides``, ``kinetics``, ``symmetry``...).
"""
from __future__ import annotations

from .pipeline import SUMMARY_METRICS, AnalysisParams, AnalysisResult, analyze, summary_row
from .pipeline import _summary  # noqa: F401  (the chunked batch analysis builds its summary with it)

__all__ = ["AnalysisParams", "AnalysisResult", "analyze", "summary_row", "SUMMARY_METRICS"]
