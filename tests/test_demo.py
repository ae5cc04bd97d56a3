"""`gaitpf demo` end to end (short configuration): the reported change recovers the simulated truth."""
from __future__ import annotations

import json

from gaitpf.cli.main import main
from gaitpf.demo import DemoConfig, session_plan, true_asymmetry


def test_session_plan_is_an_improving_antalgic_patient():
    plan = session_plan(DemoConfig(n_sessions=8))
    asym = [true_asymmetry(s["gait"]) for s in plan]
    assert asym[0] > 4.0 and asym[-1] < 2.0          # |SA| of stance time, % (SI ≈ 14 % → ≈ 4 %)
    assert all(s["gait"]["affected_side"] == "left" and s["gait"]["heel_offload_pct"] > 0 for s in plan)
    pain = [s["metadata"]["pain_vas"] for s in plan]
    assert pain[0] > pain[-1] and all(0 <= p <= 10 for p in pain)


def test_demo_recovers_the_simulated_change(tmp_path, capsys):
    out = tmp_path / "demo"
    main(["demo", "--out", str(out), "--sessions", "3", "--trials", "2", "--duration-s", "60", "--no-pdf",
          "--n-boot", "1000"])
    text = capsys.readouterr().out
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["sessions"] == ["S01", "S02", "S03"]
    ch = summary["change"]
    print(f"demo change {ch['estimate']:+.2f} (95% CI {ch['ci'][0]:+.2f} to {ch['ci'][1]:+.2f}), "
          f"true {ch['true']:+.2f}, MDC95 {ch['mdc95']:.2f}")
    assert ch["ci"][0] <= ch["true"] <= ch["ci"][1]
    assert ch["true_within_ci"] is True
    assert ch["exceeds_mdc"] in (True, "True")
    inside = [s["ci"][0] <= s["true"] <= s["ci"][1] for s in summary["per_session"].values()]
    assert sum(inside) >= 2
    assert "HEADLINE: stance-time asymmetry (|SA|)" in text and "relative (95% CI" in text
    assert "MDC95" in text and "report: " in text
    assert (out / "PF-DEMO_report.html").stat().st_size > 50_000
    assert len(list((out / "PF-DEMO").rglob("*.h5"))) == 6
    # a second run replaces its own subject folder
    main(["demo", "--out", str(out), "--sessions", "2", "--trials", "1", "--duration-s", "40", "--no-pdf",
          "--n-boot", "400"])
    assert len(list((out / "PF-DEMO").rglob("*.h5"))) == 2
