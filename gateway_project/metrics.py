"""Prometheus metrics: the families, their multiprocess store, and the text one scrape returns.

Every gateway process writes its samples into memory-mapped files in one directory
(``PROMETHEUS_MULTIPROC_DIR``, by default one per deployment under the system's temporary
directory: ``gateway_project.config``), and a scrape of any process sums every process's
files, so several workers add up. Recording adds up in memory and is written to this
process's mapped file once a second (chat.proxy.metrics.flush): no Redis or database round
trip (docs/decisions/0016-metrics-and-logs.md).

Cleaning at start (``_clean``): a process removes the files left by an earlier process with
its own pid and the live gauges of processes that no longer run; the counters of a dead
process are kept while the server that started it (the parent, uvicorn's supervisor with
``--workers``) still runs, and dropped with everything else of an earlier run.

``GATEWAY_METRICS=0`` turns recording off (``ENABLED``); ``/metrics`` then answers 404.
The recording side is ``chat/proxy/metrics.py``; the endpoint, with what it reads at scrape
time (the pool's health, the log writer), is ``chat/metrics_endpoint.py``.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from django.conf import settings

ENABLED = settings.GATEWAY.metrics
DIRECTORY = Path(settings.GATEWAY.metrics_dir)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clean(directory: Path) -> None:
    """Drop what an earlier run, a process with this pid before, and dead processes' live gauges left."""
    directory.mkdir(parents=True, exist_ok=True)
    me, parent = os.getpid(), os.getppid()
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        run_file = directory / "run"
        try:
            previous = int(run_file.read_text().strip() or 0)
        except (OSError, ValueError):
            previous = 0
        new_run = previous != parent and not (previous > 1 and _alive(previous))
        if new_run:
            run_file.write_text(str(parent))
        for path in directory.glob("*.db"):
            pid_text = path.stem.rpartition("_")[2]
            if not pid_text.isdigit():
                continue
            pid = int(pid_text)
            if pid == me or (not _alive(pid) and (new_run or path.name.startswith("gauge_live"))):
                path.unlink(missing_ok=True)


if ENABLED:
    _clean(DIRECTORY)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(DIRECTORY)  # prometheus_client names its files from it

    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess, values

    values.ValueClass = values.MultiProcessValue()  # even if something imported prometheus_client before

    _LATENCY = (0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
    REQUESTS = Counter("gateway_requests", "Requests answered, by route, model and HTTP status.",
                       ["route", "model", "status"], registry=None)
    DURATION = Histogram("gateway_request_duration_seconds", "Whole request time, admission to settlement.",
                         ["route", "model"], buckets=_LATENCY, registry=None)
    TTFT = Histogram("gateway_ttft_seconds", "Time to the first byte of the answer.", ["route", "model"],
                     buckets=_LATENCY, registry=None)
    ATTEMPTS = Counter("gateway_upstream_attempts", "Upstream attempts sent, by model, account and outcome.",
                       ["model", "account", "outcome"], registry=None)
    TOKENS = Counter("gateway_tokens", "Tokens counted, by model and direction (prompt, completion).",
                     ["model", "direction"], registry=None)
    COST = Counter("gateway_cost_usd", "Cost charged, in US dollars, by model.", ["model"], registry=None)
    REJECTIONS = Counter("gateway_rejections", "Requests refused before routing, by reason.", ["reason"],
                         registry=None)
    CACHE = Counter("gateway_cache", "Response cache lookups, by result.", ["result"], registry=None)
    OPEN_STREAMS = Gauge("gateway_open_streams", "Streamed answers being relayed now.", registry=None,
                         multiprocess_mode="livesum")
    IN_FLIGHT = Gauge("gateway_in_flight", "/v1 requests being served now.", registry=None,
                      multiprocess_mode="livesum")
    LOG_QUEUE = Gauge("gateway_log_queue_depth", "Request-log rows waiting to be written.", registry=None,
                      multiprocess_mode="livesum")
    LOG_STREAM = Gauge("gateway_log_stream_backlog",
                       "Request-log rows waiting in the Redis stream for a writer (GATEWAY_LOG_QUEUE=redis).",
                       registry=None, multiprocess_mode="livemax")
    LOG_FAILURES = Counter("gateway_log_write_failures", "Request-log rows that could not be written (set aside).",
                           registry=None)


def record_cache(result: str) -> None:
    """Count one response-cache lookup: ``hit``, ``miss``, ``store``, ... (the cache calls this)."""
    if ENABLED:
        CACHE.labels(result).inc()


class _Extra:
    def __init__(self, families: list) -> None:
        self.families = families

    def collect(self):
        return self.families


def render(extra: list) -> bytes:
    """The Prometheus text of every process's samples plus ``extra`` families read for this scrape."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(DIRECTORY))
    registry.register(_Extra(extra))
    return generate_latest(registry)


def mark_dead() -> None:
    """At shutdown: this process's live gauges stop counting (its counters stay for the run)."""
    if ENABLED:
        multiprocess.mark_process_dead(os.getpid(), path=str(DIRECTORY))
