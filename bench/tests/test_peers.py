"""The peers report: ratios are this gateway's figure over the peer's, from the same run; errors are shown where
they happened and decide the exit status; a contestant's processes do not outlive it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import peers


def _figures(name: str, whole: tuple[float, float], stream: tuple[float, float], cpu_c64: float,
             stream_errors: tuple[int, int] = (0, 0)) -> dict:
    points = []
    for is_stream, (rps_c1, rps_c64) in ((False, whole), (True, stream)):
        for concurrency, rps in ((1, rps_c1), (64, rps_c64)):
            errors = stream_errors[concurrency == 64] if is_stream else 0
            points.append({"stream": is_stream, "concurrency": concurrency, "rps": rps, "errors": errors,
                           "added_p50_ms": 1.0, "added_p99_ms": 2.0, "added_ttft_ms": 1.5 if is_stream else None,
                           "cpu_ms_per_request": cpu_c64 if concurrency == 64 else cpu_c64 * 2})
    return {"name": name, "workers": 1, "points": points, "peak_rss_mb": 100.0}


def test_ratios_compare_the_one_worker_gateway_with_each_peer():
    results = [
        _figures("this gateway, 1w", (400, 1200), (300, 900), 0.6),
        _figures("openai-forward, 1w", (200, 800), (300, 600), 1.5),
        _figures("LiteLLM, 2w", (50, 100), (20, 40), 15.0),
    ]
    got = peers.ratios(results)
    assert got["openai-forward, 1w"] == {"rps_whole_c1": 2.0, "rps_whole_c64": 1.5, "rps_stream_c1": 1.0,
                                         "rps_stream_c64": 1.5, "cpu_per_request_c64": 0.4}
    assert got["LiteLLM, 2w"]["rps_whole_c64"] == 12.0 and got["LiteLLM, 2w"]["cpu_per_request_c64"] == 0.04
    assert "this gateway, 1w" not in got


def test_a_missing_figure_gives_no_ratio_and_the_table_has_a_row_per_contestant():
    ours = _figures("this gateway, 1w", (400, 1200), (300, 900), 0.6)
    failed = _figures("openai-forward, 1w", (200, 0), (300, 600), 1.5)
    assert peers.ratios([ours, failed])["openai-forward, 1w"]["rps_whole_c64"] is None
    rows = peers.table([ours, failed]).splitlines()
    assert len(rows) == 4 and rows[2].startswith("| this gateway, 1w | 400 | 1200 |")


def test_the_table_shows_each_points_errors_beside_its_rate_and_a_total_per_contestant():
    ours = _figures("this gateway, 1w", (400, 1200), (300, 900), 0.6)
    failing = _figures("LiteLLM, 1w", (30, 60), (0.0, 0.0), 20.0, stream_errors=(1, 64))
    head, _, ours_row, failing_row = peers.table([ours, failing]).splitlines()
    cells = [c.strip() for c in failing_row.strip("|").split("|")]
    columns = [c.strip() for c in head.strip("|").split("|")]
    assert dict(zip(columns, cells, strict=True)) == {
        "contestant": "LiteLLM, 1w", "req/s c=1": "30", "req/s c=64": "60", "added p50 c=1": "1.0",
        "added p99 c=1": "2.0", "streams/s c=1": "0.0 (1 error)", "streams/s c=64": "0.0 (64 errors)",
        "added TTFT c=1": "1.5", "CPU ms/req c=64": "20.0", "peak RSS MB": "100.0", "errors": "65",
    }
    assert ours_row.endswith("| 100.0 | 0 |") and "error" not in ours_row


def test_the_errors_line_names_who_failed_and_counts_a_contestant_that_did_not_start():
    ours = _figures("this gateway, 1w", (400, 1200), (300, 900), 0.6)
    failing = _figures("LiteLLM, 2w", (30, 60), (0.0, 0.0), 20.0, stream_errors=(1, 64))
    assert peers.error_report([ours], []) == (0, "errors: 0")
    assert peers.error_report([ours, failing], ["openai-forward, 1w"]) == (
        66, "errors: 66 (LiteLLM, 2w: 65, openai-forward, 1w: did not start)")


def test_an_unknown_contestant_is_refused_rather_than_run_as_nothing(capsys):
    with pytest.raises(SystemExit) as exit_:
        peers.main(["--only", "gateway,litelm"])
    assert exit_.value.code == 2
    assert "unknown contestant(s) litelm" in capsys.readouterr().err


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; whoever adopted it reaps it in its own time


def test_stop_kills_a_worker_that_outlives_its_server():
    """A supervisor that dies on SIGTERM and leaves a worker that ignores it: the worker is gone after stop()."""
    worker = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(60)"
    server = (f"import subprocess, sys, time; w = subprocess.Popen([sys.executable, '-c', {worker!r}], "
              "stdout=subprocess.PIPE, text=True); w.stdout.readline(); print(w.pid, flush=True); time.sleep(60)")
    proc = subprocess.Popen([sys.executable, "-c", server], stdout=subprocess.PIPE, text=True)
    worker_pid = int(proc.stdout.readline())  # written once the worker ignores SIGTERM
    try:
        peers.Contestant("server", 1, "/", {}, proc=proc).stop(grace=0.5)
        deadline = time.monotonic() + 2
        while _alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.returncode == -15
        assert not _alive(worker_pid)
    finally:
        for pid in (proc.pid, worker_pid):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
