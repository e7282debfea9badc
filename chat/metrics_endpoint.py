"""``GET /metrics``: the Prometheus text of every gateway process, outside the Django view stack.

With ``METRICS_TOKEN`` set only ``Authorization: Bearer <token>`` is answered (401 otherwise,
compared in constant time); without it the endpoint answers loopback clients only (403 from
elsewhere; the client address is the one ``ForwardedMiddleware`` settled). Besides what the
processes recorded (gateway_project/metrics.py), a scrape reads, at that moment and never on a
request's path, the server pool's account health from the shared state (remaining requests in
each window, open breakers) and this process's log writer.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time

from django.conf import settings

from chat.proxy import metrics as recording
from gateway_project import metrics as families

log = logging.getLogger(__name__)
PATH = "/metrics"
CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"
_last_set_aside = [0]


async def _text(send, status: int, body: bytes, extra: tuple = ()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), *extra]})
    await send({"type": "http.response.body", "body": body})


def _refusal(scope) -> tuple[int, bytes] | None:
    """Why this caller may not scrape (status, message), or None."""
    token = settings.GATEWAY.metrics_token
    if token:
        given = dict(scope["headers"]).get(b"authorization", b"")
        if not hmac.compare_digest(given, b"Bearer " + token.encode()):
            return 401, b"Send Authorization: Bearer <METRICS_TOKEN>.\n"
        return None
    client = (scope.get("client") or ("", 0))[0]
    try:
        loopback = ipaddress.ip_address(client).is_loopback
    except ValueError:
        loopback = False
    return None if loopback else (403, b"/metrics answers loopback only unless METRICS_TOKEN is set.\n")


async def _pool_families() -> list:
    """The server pool's accounts as the shared state says now: requests left per window, open breakers."""
    from prometheus_client.core import GaugeMetricFamily

    from chat.proxy import pool

    remaining = GaugeMetricFamily("gateway_account_remaining", "Requests left in the account's current window "
                                  "(from the upstream's limit headers).", labels=["account", "window"])
    breakers = GaugeMetricFamily("gateway_breaker_open", "1 while the key's circuit breaker is open.",
                                 labels=["account", "key"])
    try:
        creds = await pool.server_pool()
        health = await pool.read_health([c.account for c in creds], fresh=True)
    except Exception:
        log.warning("could not read the pool's health for /metrics")
        return [remaining, breakers]
    now = time.time()
    for account in dict.fromkeys(c.account for c in creds):
        state = health[account]
        if state.capacity(now) < 1e9:
            window = "day" if _number(state.fields.get("reset")) - now > 3600 else "minute"
            remaining.add_metric([account, window], state.capacity(now))
    for cred in creds:
        block = health[cred.account].blocked(cred, "", now)
        breakers.add_metric([cred.account, cred.masked], 1.0 if block and block.reason == "circuit_open" else 0.0)
    return [remaining, breakers]


def _number(value: str | None) -> float:
    try:
        return float(value or 0)
    except ValueError:
        return 0.0


def sample_log_writer() -> None:
    """Copy this process's log-writer figures into its metric files (the lifespan calls it every second)."""
    if not families.ENABLED:
        return
    from chat.logbuffer import log_buffer

    stats = log_buffer().stats()
    families.LOG_QUEUE.set(stats.queue_depth)
    if stats.rows_set_aside > _last_set_aside[0]:
        families.LOG_FAILURES.inc(stats.rows_set_aside - _last_set_aside[0])
        _last_set_aside[0] = stats.rows_set_aside


async def sample_forever(stop: asyncio.Event) -> None:
    while not stop.is_set():
        sample_log_writer()
        recording.flush()
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass


async def serve_metrics(scope, receive, send) -> None:
    if not families.ENABLED:
        await _text(send, 404, b"Metrics are off (GATEWAY_METRICS=0).\n")
        return
    if scope["method"] not in ("GET", "HEAD"):
        await _text(send, 405, b"Use GET.\n", ((b"allow", b"GET, HEAD"),))
        return
    refused = _refusal(scope)
    if refused is not None:
        extra = ((b"www-authenticate", b"Bearer"),) if refused[0] == 401 else ()
        await _text(send, *refused, extra)
        return
    sample_log_writer()
    recording.flush()  # this process's own requests, up to this one
    extra = await _pool_families()
    body = await asyncio.to_thread(families.render, extra)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", CONTENT_TYPE)]})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
