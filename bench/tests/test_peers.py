"""The peers report's arithmetic: ratios are this gateway's figure over the peer's, from the same run."""

from bench import peers


def _figures(name: str, whole: tuple[float, float], stream: tuple[float, float], cpu_c64: float) -> dict:
    points = []
    for is_stream, (rps_c1, rps_c64) in ((False, whole), (True, stream)):
        for concurrency, rps in ((1, rps_c1), (64, rps_c64)):
            points.append({"stream": is_stream, "concurrency": concurrency, "rps": rps, "added_p50_ms": 1.0,
                           "added_p99_ms": 2.0, "added_ttft_ms": 1.5 if is_stream else None,
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
