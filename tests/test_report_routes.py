"""The report compares the harmonic and TLS routes (A4 omega_D^5 against n0, 002 Fig. 10b)."""

import json

from twolevel.report import write_report


def test_report_shows_a4_against_n0(tmp_path):
    run = tmp_path / "run"
    (run / "stats").mkdir(parents=True)
    (run / "harmonic" / "pss" / "Tf_0.07").mkdir(parents=True)
    groups = [{"model": "pss", "T_f": tf, "units": "pss-ar", "n0": n0, "n0_err": 0.1 * n0}
              for tf, n0 in ((0.062, 0.04), (0.07, 0.4), (0.092, 4.0))]
    (run / "stats" / "stats.json").write_text(json.dumps({"groups": groups}))
    index = {"pss": {repr(tf): {"dir": f"pss/Tf_{tf!r}", "summary": {"A4_omega_D5": a4, "A4_omega_D5_err": 0.1 * a4}}
                     for tf, a4 in ((0.062, 0.5), (0.07, 1.0), (0.092, 3.0))}}
    (run / "harmonic" / "harmonic.json").write_text(json.dumps(index))
    out = tmp_path / "report"
    write_report(run, out)
    fig = out / "figures" / "harmonic" / "a4_vs_n0.png"
    assert fig.is_file() and fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "a4_vs_n0.png" in (out / "index.html").read_text()
