"""The soak script runs briefly against the real stack and its invariants hold.

Not a timing test: it asserts that every request sent left a log row, every paid answer a
charge, nothing failed beyond the injected faults and the gateway's memory stayed flat.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.soak import KINDS

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_soak_keeps_logs_charges_and_memory_in_step_with_the_traffic(tmp_path):
    out = tmp_path / "soak.json"
    proc = subprocess.run(
        [sys.executable, "bench/soak.py", "--duration", "20", "--concurrency", "8", "--json", str(out),
         "--log", str(tmp_path / "soak.log")],
        cwd=ROOT, capture_output=True, text=True, timeout=400,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    traffic = result["traffic"]
    assert set(traffic["sent_by_kind"]) == set(KINDS)  # every kind of request and fault was played
    assert traffic["sent"] > 0
    assert result["log_rows"] == traffic["sent"]
    assert result["charges"] == traffic["paid_answered"] > 0
    assert traffic["unexpected"] == []
    assert result["rss_end_mb"] - result["rss_start_mb"] <= result["max_rss_growth_mb"]
    assert result["gateway_log_problems"] == []
    assert result["violations"] == []
    assert "invariants: all hold" in proc.stdout
