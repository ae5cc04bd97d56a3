"""Result and progress screen: this visit against the baseline and the trend over sessions.

Everything comes from :func:`gaitpf.sessions.compare.subject_progress` (the numbers of
``gaitpf progress``): per session the headline asymmetry index (|SA| of stance time by
default, magnitude: 0 = symmetric) with its bootstrap 95 % CI, the change against the
baseline with its CI, whether it exceeds the MDC95 (the band around the baseline), the
Theil–Sen trend, and the pain score. It is computed in a worker thread (the bootstrap takes
seconds) and drawn with pyqtgraph. *Export report* writes ``ROOT/<subject>-report.html``
and ``.pdf`` with :func:`gaitpf.report.write_report`.
"""
from __future__ import annotations

import concurrent.futures
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from pyqtgraph.Qt import QtCore, QtWidgets

from ..errors import GaitpfError

__all__ = ["ProgressView"]

log = logging.getLogger(__name__)

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="gaitpf-studio-progress")


def _f(x: Any, spec: str = ".1f") -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    return format(v, spec).replace("-", "−") if np.isfinite(v) else "–"


class ProgressView(QtWidgets.QWidget):
    """Shows a subject's progress; ``report_written(list)`` after an export."""

    report_written = QtCore.Signal(list)

    def __init__(self, root: Path, *, params: Any = None, parent: Any = None) -> None:
        super().__init__(parent)
        self.root, self.params = Path(root), params
        self.subject_id: str | None = None
        self.progress: Any = None
        self._job: concurrent.futures.Future | None = None
        self._export: concurrent.futures.Future | None = None
        self.report_paths: list[Path] = []
        outer = QtWidgets.QVBoxLayout(self)
        top = QtWidgets.QHBoxLayout()
        self.title = QtWidgets.QLabel("")
        self.title.setStyleSheet("QLabel { font-size: 18px; font-weight: bold; }")
        top.addWidget(self.title, 1)
        self.export_button = QtWidgets.QPushButton("Export report (HTML + PDF)")
        self.export_button.setStyleSheet("QPushButton { font-size: 15px; padding: 6px 14px; }")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export)
        top.addWidget(self.export_button)
        outer.addLayout(top)
        self.headline = QtWidgets.QLabel("")
        self.headline.setWordWrap(True)
        self.headline.setStyleSheet("QLabel { font-size: 14px; padding: 4px; background: #f4f4f4; }")
        outer.addWidget(self.headline)
        self.plots = pg.GraphicsLayoutWidget()
        self.plots.setBackground("w")
        outer.addWidget(self.plots, 3)
        self.sym_plot = self.plots.addPlot(row=0, col=0)
        self.pain_plot = self.plots.addPlot(row=0, col=1)
        self.table = QtWidgets.QTableWidget(0, 0)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        outer.addWidget(self.table, 2)
        self.notes = QtWidgets.QLabel("")
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("QLabel { color: #e65100; }")
        outer.addWidget(self.notes)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        outer.addWidget(self.status)
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._poll)

    @property
    def busy(self) -> bool:
        return any(j is not None and not j.done() for j in (self._job, self._export))

    def load(self, subject_id: str) -> None:
        """Compute the subject's progress in the worker thread (the screen fills in when done)."""
        from ..sessions.compare import subject_progress

        self.subject_id = subject_id
        self.progress = None
        self.export_button.setEnabled(False)
        self.title.setText(f"Progress of patient {subject_id}")
        self.headline.setText("computing: analysis of every trial and bootstrap confidence intervals…")
        self.status.setText("")
        kw = {} if self.params is None else {"params": self.params}
        self._job = _pool.submit(subject_progress, subject_id, root=self.root, **kw)
        self.timer.start(100)

    def export(self) -> None:
        if self.progress is None or self.busy:
            return
        from ..report import write_report

        prog = self.progress
        outs = [self.root / f"{prog.subject_id}-report.html", self.root / f"{prog.subject_id}-report.pdf"]
        self.export_button.setEnabled(False)
        self.status.setText("writing the report…")
        self._export = _pool.submit(lambda: [write_report(prog, p) for p in outs])
        self.timer.start(100)

    def _poll(self) -> None:
        if self._job is not None and self._job.done():
            job, self._job = self._job, None
            try:
                self.progress = job.result()
                self._show(self.progress)
                self.export_button.setEnabled(True)
            except GaitpfError as exc:
                self.headline.setText(f"no progress to show: {exc}")
        if self._export is not None and self._export.done():
            job, self._export = self._export, None
            self.export_button.setEnabled(True)
            try:
                self.report_paths = [Path(p) for p in job.result()]
                self.status.setText("report written: " + ", ".join(str(p) for p in self.report_paths))
                self.report_written.emit(self.report_paths)
            except (GaitpfError, OSError) as exc:
                self.status.setText(f"<span style='color:#c62828'>report not written: {exc}</span>")
        if not self.busy:
            self.timer.stop()

    # -- drawing ------------------------------------------------------------------------------
    def _show(self, prog: Any) -> None:
        from ..sessions import stats

        self.headline.setText(prog.headline)
        name, unit = stats.INDEX_NAMES[prog.index]
        t = prog.table
        rows = t[t["metric"] == prog.metric] if len(t) else t
        st = prog.session_table
        self._plot_symmetry(prog, rows, name, unit)
        self._plot_pain(st)
        header = ["session", "date", "pain (VAS)", f"{name} ({unit.strip() or 'ratio'}) [95% CI]",
                  "change vs baseline [95% CI]", "exceeds MDC95", "cycles", "cadence (steps/min)", "used"]
        self.table.setColumnCount(len(header))
        self.table.setHorizontalHeaderLabels(header)
        self.table.setRowCount(len(st))
        by_session = {r["session"]: r for _, r in rows.iterrows()} if len(rows) else {}
        for i, (_, s) in enumerate(st.iterrows()):
            r = by_session.get(s["session"])
            val = ch = ex = "–"
            if r is not None:
                val = f"{_f(r['value'], '.2f')} [{_f(r['value_ci_low'], '.2f')}, {_f(r['value_ci_high'], '.2f')}]"
                if r.get("is_baseline"):
                    ch, ex = "baseline", ""
                else:
                    ch = (f"{_f(r['change_abs'], '+.2f')} [{_f(r['change_abs_ci_low'], '+.2f')}, "
                          f"{_f(r['change_abs_ci_high'], '+.2f')}]")
                    e = r.get("exceeds_mdc")
                    ex = "–" if e is None or (isinstance(e, float) and np.isnan(e)) else ("yes" if e else "no")
            vals = [str(s["session"]), str(s["date"] or "–"), _f(s["pain_vas"]), val, ch, ex, str(s["n_cycles"]),
                    _f(s["cadence_spm"], ".0f"), "yes" if s["included"] else "no"]
            for j, v in enumerate(vals):
                self.table.setItem(i, j, QtWidgets.QTableWidgetItem(v))
        self.table.resizeColumnsToContents()
        self.notes.setText("<br>".join(list(prog.warnings) + [f"left out: {w}" for w in prog.left_out]))

    def _x(self, table: Any) -> np.ndarray:
        no = table["session_no"].to_numpy(dtype=float) if "session_no" in table else np.array([])
        return no if len(no) and np.isfinite(no).all() else np.arange(1, len(table) + 1, dtype=float)

    def _plot_symmetry(self, prog: Any, rows: Any, name: str, unit: str) -> None:
        from ..sessions.progress import metric_label

        p = self.sym_plot
        p.clear()
        p.setTitle(f"{metric_label(prog.metric)}: {name}, magnitude, per session (95% CI; grey: baseline ± MDC95; dashed: trend)")
        p.setLabel("left", f"{name}{' (' + unit.strip() + ')' if unit.strip() else ''}")
        p.setLabel("bottom", "session number")
        if not len(rows):
            return
        x = self._x(rows)
        y = rows["value"].to_numpy(float)
        lo, hi = rows["value_ci_low"].to_numpy(float), rows["value_ci_high"].to_numpy(float)
        mdc = prog.mdc.get(prog.metric, {}).get("mdc95", float("nan"))
        if np.isfinite(mdc) and np.isfinite(y[0]):
            p.addItem(pg.LinearRegionItem(values=(max(y[0] - mdc, 0.0), y[0] + mdc), orientation="horizontal",
                                          movable=False, brush=pg.mkBrush(120, 120, 120, 40), pen=pg.mkPen(None)))
        p.addItem(pg.ErrorBarItem(x=x, y=y, top=hi - y, bottom=y - lo, beam=0.15, pen=pg.mkPen((31, 119, 180), width=2)))
        p.plot(x, y, pen=pg.mkPen((31, 119, 180), width=2), symbol="o", symbolBrush=(31, 119, 180))
        tr = prog.trend.get(prog.metric, {})
        if len(x) >= 3 and np.isfinite(tr.get("slope", np.nan)):
            xs = np.array([x.min(), x.max()])
            p.plot(xs, tr["intercept"] + tr["slope"] * xs, pen=pg.mkPen((214, 39, 40), width=1.5,
                                                                        style=QtCore.Qt.PenStyle.DashLine))
        p.setXRange(x.min() - 0.5, x.max() + 0.5)

    def _plot_pain(self, st: Any) -> None:
        p = self.pain_plot
        p.clear()
        p.setTitle("pain (VAS 0–10) per session")
        p.setLabel("left", "pain (VAS, 0–10)")
        p.setLabel("bottom", "session number")
        p.setYRange(0, 10)
        if not len(st):
            return
        x = self._x(st)
        y = st["pain_vas"].to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(y)
        if ok.any():
            p.plot(x[ok], y[ok], pen=pg.mkPen((230, 130, 0), width=2), symbol="s", symbolBrush=(230, 130, 0))
            p.setXRange(x.min() - 0.5, x.max() + 0.5)
        for plot in (self.sym_plot, self.pain_plot):
            plot.getAxis("bottom").setTickSpacing(1, 1)
