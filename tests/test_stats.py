"""Statistics of session comparison: hand-computed values and bootstrap coverage."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.signal import lfilter

from gaitpf.sessions import reliability, stats
from gaitpf.sessions.progress import describe_change


# ------------------------------------------------------------------ hand-computed values
def test_mdc95_formula():
    assert reliability.mdc95(1.0) == pytest.approx(1.96 * math.sqrt(2.0))
    assert reliability.mdc95(0.5) == pytest.approx(1.3859, abs=1e-4)


def test_sem_trial_to_trial_hand():
    # session 1: trials 1, 3 (SS 2, df 1); session 2: 2, 4, 6 (SS 8, df 2); one-trial session ignored
    out = reliability.sem_trial_to_trial([[1.0, 3.0], [2.0, 4.0, 6.0], [9.0]])
    assert out["df"] == 3
    assert out["sem_trial"] == pytest.approx(math.sqrt(10 / 3))
    assert out["sem"] == pytest.approx(math.sqrt(10 / 3) / math.sqrt(2.5))
    assert np.isnan(reliability.sem_trial_to_trial([[1.0], [2.0]])["sem"])


def test_sem_split_half_hand():
    out = reliability.sem_split_half([(1.0, 2.0), (3.0, 5.0), (np.nan, 1.0)])
    assert out["df"] == 2
    assert out["sem_half"] == pytest.approx(math.sqrt(5 / 4))
    assert out["sem"] == pytest.approx(math.sqrt(5 / 4) / math.sqrt(2))


def test_theil_sen_hand():
    # pairwise slopes: 2, 0.5, 4/3, -1, 1, 3 -> median (1 + 4/3)/2
    out = reliability.theil_sen([1, 2, 3, 4], [1, 3, 2, 5])
    assert out["slope"] == pytest.approx((1 + 4 / 3) / 2)
    assert out["intercept"] == pytest.approx(2.5 - out["slope"] * 2.5)
    assert out["slope_ci_low"] <= out["slope"] <= out["slope_ci_high"]
    assert np.isnan(reliability.theil_sen([1, 2], [3, 4])["slope"])


def test_change_vs_baseline_numbers():
    rng = np.random.default_rng(0)
    base_boot = 6.1 + 0.2 * rng.standard_normal(4000)
    boot = 4.8 + 0.2 * rng.standard_normal(4000)
    ch = stats.change_vs_baseline(6.1, base_boot, 4.8, boot, confidence=0.95)
    assert ch["change_abs"] == pytest.approx(-1.3)
    assert ch["change_rel_pct"] == pytest.approx(-1.3 / 6.1 * 100)   # −21.3 %
    # SD of the difference = 0.2·√2 → 95 % half-width ≈ 1.96·0.283 = 0.554
    assert ch["change_abs_ci_low"] == pytest.approx(-1.3 - 0.554, abs=0.04)
    assert ch["change_abs_ci_high"] == pytest.approx(-1.3 + 0.554, abs=0.04)
    assert ch["change_rel_ci_low"] < ch["change_rel_pct"] < ch["change_rel_ci_high"]


def test_describe_change_names_the_index_and_both_changes():
    row = pd.Series({"value": 4.8, "change_abs": -1.3, "change_abs_ci_low": -2.0, "change_abs_ci_high": -0.6,
                     "change_rel_pct": -21.3, "change_rel_ci_low": -31.0, "change_rel_ci_high": -10.0})
    text = describe_change("stance_time_s", "sa_pct", row, {"mdc95": 1.0, "method": "split-half (x)"}, 0.95,
                           unit_word=" points", baseline_label="S1", label="S8")
    assert text.startswith("stance-time asymmetry (|SA|) 6.1% (S1) → 4.8% (S8): −1.3 points (95% CI −2.0 to −0.6)")
    assert "−21% relative (95% CI −31% to −10%)" in text
    assert "a real change: the CI excludes 0 and the change exceeds the MDC95 1.0 points (split-half)" in text
    small = row.copy()
    small["change_abs"] = -0.8          # CI excludes 0, but below the MDC: not real
    text = describe_change("stance_time_s", "sa_pct", small, {"mdc95": 1.0, "mdc_label": "within session (x)"},
                           0.95, unit_word=" points", baseline_label="S1", label="S8")
    assert "not a real change: the CI excludes 0 but the change does not exceed the MDC95 1.0 points " \
           "(within session)" in text
    wide = row.copy()
    wide["change_abs_ci_high"] = 0.2    # above the MDC but the CI includes 0: not real
    text = describe_change("stance_time_s", "sa_pct", wide, {"mdc95": 1.0, "method": "x"}, 0.95,
                           unit_word=" points", baseline_label="S1", label="S8")
    assert "not a real change: the change exceeds the MDC95 1.0 points (x) but its CI includes 0" in text


def test_index_magnitude():
    assert stats.index_values(0.8, 1.0, "sr", magnitude=True) == pytest.approx(1.25)
    assert stats.index_values(1.0, 0.9, "si_pct", magnitude=True) == pytest.approx(100 * 0.1 / 0.95)
    with pytest.raises(ValueError, match="unknown symmetry index"):
        stats.index_values(1, 1, "xx")


def test_block_bootstrap_weights():
    rng = np.random.default_rng(1)
    w = stats.block_bootstrap_weights(7, block_len=3, n_boot=50, rng=rng)
    assert w.shape == (50, 7)
    assert np.all(w.sum(axis=1) == 7)
    # one block of the full length visits every item exactly once (circular)
    full = stats.block_bootstrap_weights(5, block_len=5, n_boot=10, rng=rng)
    assert np.all(full == 1)


def test_cycles_keep_left_right_together():
    strides = pd.DataFrame({
        "side": ["right", "left", "right", "left", "right", "left", "left"],
        "ic_s": [-0.2, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0],
        "steady": [True, True, True, True, True, True, False],
        "m": [10.0, 1.0, 20.0, 2.0, np.nan, 3.0, 99.0],
    })
    c = stats.cycles_from_strides(strides, metrics=["m"])
    assert c.n_cycles == 3
    assert c.sums["left"][:, 0].tolist() == [1.0, 2.0, 3.0]
    assert c.sums["right"][:, 0].tolist() == [30.0, 0.0, 0.0]   # the early right stride joins cycle 0
    assert c.counts["right"][:, 0].tolist() == [2.0, 0.0, 0.0]  # NaN not counted
    bm = stats.bootstrap_means(c, params=stats.BootstrapParams(n_boot=200, block_len=1))
    assert bm.point["left"][0] == pytest.approx(2.0)
    assert bm.point["right"][0] == pytest.approx(15.0)
    halves = c.split(2)
    assert [h.n_cycles for h in halves] == [2, 1]


def test_auto_block_length_grows_with_correlation():
    rng = np.random.default_rng(3)
    e = rng.standard_normal(200)
    white = stats.auto_block_length(e)
    ar = stats.auto_block_length(lfilter([1.0], [1.0, -0.7], e))
    assert white == math.ceil(200 ** (1 / 3))
    assert ar > white


def test_expanded_interval_is_wider():
    x = np.random.default_rng(2).standard_normal(2000)
    lo0, hi0 = stats.percentile_ci(x, 0.95)
    lo1, hi1 = stats.percentile_ci(x, 0.95, df=8, scale=1.1)
    assert lo1 < lo0 and hi1 > hi0


# ------------------------------------------------------------------ coverage on AR(1) strides
def _coverage(block_len, *, rho=0.6, n=120, reps=300, seed=11):
    """Share of 95 % CIs of |SA| (left vs right mean stance time) that contain the truth."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((reps, n, 2))
    e[..., 1] = 0.6 * e[..., 0] + 0.8 * e[..., 1]          # left/right of one cycle correlated
    z = lfilter([math.sqrt(1 - rho**2)], [1.0, -rho], e, axis=1)
    left, right = 0.62 + 0.02 * z[..., 0], 0.70 + 0.02 * z[..., 1]
    truth = stats.index_values(0.62, 0.70, "sa_pct", magnitude=True)
    hits, widths = 0, []
    for r in range(reps):
        c = stats.CycleData(("stance_time_s",), {"left": left[r][:, None], "right": right[r][:, None]},
                            {"left": np.ones((n, 1)), "right": np.ones((n, 1))})
        bm = stats.bootstrap_means(c, params=stats.BootstrapParams(n_boot=500, block_len=block_len, seed=r))
        sa = stats.index_values(bm.boot["left"][:, 0], bm.boot["right"][:, 0], "sa_pct", magnitude=True)
        lo, hi = stats.percentile_ci(sa, 0.95, df=bm.df, scale=bm.scale)
        hits += bool(lo <= truth <= hi)
        widths.append(hi - lo)
    return hits / reps, float(np.mean(widths))


def test_block_bootstrap_covers_at_nominal_rate_and_plain_does_not():
    block_cov, block_w = _coverage(None)
    plain_cov, plain_w = _coverage(1)
    print(f"AR(1) rho=0.6, 120 cycles, 300 reps: block coverage {block_cov:.3f} (mean width {block_w:.3f}), "
          f"plain iid coverage {plain_cov:.3f} (mean width {plain_w:.3f})")
    # nominal 95 %: Monte-Carlo SE of the coverage with 300 reps ≈ 1.3 points
    assert 0.90 <= block_cov <= 0.99
    assert plain_cov <= 0.80
    assert plain_w < 0.75 * block_w


def test_bootstrap_params_validation():
    with pytest.raises(ValueError):
        stats.BootstrapParams(n_boot=10)
    with pytest.raises(ValueError):
        stats.BootstrapParams(confidence=1.5)
