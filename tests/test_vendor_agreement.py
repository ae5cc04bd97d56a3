"""gaitpf's events agree with Moticon's own detector on the excerpt (benchmarks/vendor_agreement.py)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

HERE = Path(__file__).parent
spec = importlib.util.spec_from_file_location("vendor_agreement", HERE.parent / "benchmarks" / "vendor_agreement.py")
va = importlib.util.module_from_spec(spec)
spec.loader.exec_module(va)


def test_matching_rule_pairs_nearest_ic_within_40_ms_once():
    vendor = pd.DataFrame({"side": ["left"] * 3, "ic_s": [1.0, 2.0, 3.0], "to_s": [1.6, 2.6, 3.6]})
    ours = pd.DataFrame({"side": ["left"] * 3, "ic_s": [1.03, 2.05, 3.0], "to_s": [1.65, 2.6, 3.64]})
    m = va.match(vendor, ours)
    assert m["matched"].tolist() == [True, False, True]
    s = va.summarize(m)
    assert s["matched_pct"] == pytest.approx(200 / 3)
    assert s["ic_median_abs_ms"] == pytest.approx(15.0)
    assert s["to_median_ms"] == pytest.approx(45.0)


def test_agreement_with_the_vendor_report_on_the_excerpt():
    m, s = va.agreement(HERE / "data" / "vendor" / "moticon_normal_excerpt.txt",
                        HERE / "data" / "vendor" / "moticon_gait_report_excerpt.xlsx")
    assert s["vendor_steps"] >= 5
    assert s["matched_pct"] >= 90.0
    assert s["ic_median_abs_ms"] <= 20.0
    assert s["to_iqr_ms"] <= 30.0
