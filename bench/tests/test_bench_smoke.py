"""The benchmark runs end to end in its quick mode against the real stack and reports every figure.

Not a timing test: nothing here asserts speed, only that each figure is
measured, nothing failed, and every answered request left its log row (the
request-log flusher ran and drained on SIGTERM).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
POINT_FIGURES = ("rps", "p50_ms", "p99_ms", "requests", "errors")


def test_quick_benchmark_reports_every_figure_without_errors(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--duration", "0.3", "--streams", "100", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text())

    assert results["errors"] == 0
    assert results["mode"] == "quick"
    (run,) = results["runs"]
    seen = {(p["stream"], p["concurrency"]) for p in run["points"]}
    assert seen == {(s, c) for s in (False, True) for c in (1, 16, 64)}
    for point in run["points"]:
        for side in ("gateway", "direct"):
            for figure in POINT_FIGURES:
                assert point[side][figure] is not None, (point, side, figure)
            assert point[side]["errors"] == 0
            assert point[side]["requests"] > 0
        assert point["added_p50_ms"] is not None
        if point["stream"]:
            assert point["gateway"]["ttft_p50_ms"] is not None
            assert point["direct"]["ttft_p50_ms"] is not None
            assert point["added_ttft_p50_ms"] is not None

    held = run["slow_streams"]
    assert held["streams"] == 100
    assert held["completed"] == 100 and held["errors"] == 0
    assert all(mb > 0 for mb in held["rss_mb_per_process"])
    assert all(mb > 0 for mb in run["peak_rss_mb_per_process"])

    assert run["sigterm_exit_code"] in (0, -signal.SIGTERM)
    assert run["request_logs_written"] == run["answered_200"] > 0

    figures = results["headline"]["1"]
    for name in ("p50_added_ms_c1", "rps_c64_nonstream", "ttft_added_ms_c1", "stream_rss_mb"):
        assert figures[name] is not None
    assert "| workers |" in proc.stdout  # the summary table
