"""Recording /v1 metrics: one call per settled exchange, plus the in-flight and open-stream gauges.

Each function writes to this process's memory-mapped metric files (gateway_project/metrics.py):
no Redis or database round trip, nothing awaited. With ``GATEWAY_METRICS=0`` every call returns
at once. Labels stay bounded: models are the catalog's (never what a client typed for an unknown
model), a user's own upstream account is ``byok``, rejection reasons and attempt outcomes are
fixed words.
"""

from __future__ import annotations

import bisect
import logging
import math
import time
from decimal import Decimal

from chat.proxy.attempt import Attempt, Verdict
from chat.proxy.errors import ProxyError
from gateway_project import metrics as families

ENABLED = families.ENABLED
log = logging.getLogger(__name__)

# The exchange's endpoint -> the route label; anything else under /v1 is the pass-through.
ROUTES = {"chat/completions": "chat", "embeddings": "embeddings", "messages": "messages",
          "responses": "responses", "completions": "completions", "models": "models"}
# The /v1 app's route names -> the route label.
ROUTE_NAMES = {"chat_completions": "chat", "chat_completions_api": "chat", "models_list": "models",
               "model_detail": "models", "messages": "messages", "messages_count_tokens": "messages",
               "responses": "responses", "response_detail": "responses", "completions": "completions",
               "embeddings": "embeddings"}

# The refusal's error code -> the rejection reason.
REASONS = {
    "rate_limit_exceeded": "rate_limit", "daily_limit_exceeded": "daily_limit", "budget_exceeded": "budget",
    "insufficient_credits": "credits", "log_backlog": "backlog", "limits_unavailable": "limits_unavailable",
    "model_not_found": "model_not_found", "model_not_allowed": "model_not_allowed",
    "paid_model_needs_own_key": "paid_model", "missing_api_key": "auth", "invalid_api_key": "auth",
    "request_too_large": "validation", "not_found": "not_found", "method_not_allowed": "not_found",
}

_OUTCOMES = {Verdict.SERVED: "ok", Verdict.RATE_LIMITED: "rate_limited", Verdict.DAILY_QUOTA: "quota",
             Verdict.MODEL_GONE: "gone", Verdict.REQUEST_REFUSED: "client_error"}


_children: dict[tuple, object] = {}
_counts: dict[object, float] = {}  # counter (or gauge) child -> what to add at the next flush
_observed: dict[object, list[float]] = {}  # histogram child -> the values observed since the last flush
_live = {"in_flight": 0, "open_streams": 0}  # this process's gauges, set (not added) at each flush


def _child(family, *labels: str):
    """``family.labels(*labels)``, kept: the labels are bounded, and a lookup here costs a tenth of ``labels``."""
    key = (id(family), labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = family.labels(*labels)
    return child


def _add(child, amount: float = 1.0) -> None:
    _counts[child] = _counts.get(child, 0.0) + amount


def _observe_later(child, value: float) -> None:
    found = _observed.get(child)
    if found is None:
        _observed[child] = [value]
    else:
        found.append(value)


def flush() -> None:
    """Write what was recorded since the last flush into this process's metric files."""
    global _counts, _observed
    if not ENABLED:
        return
    counts, observed, _counts, _observed = _counts, _observed, {}, {}
    for child, amount in counts.items():
        child.inc(amount)
    for child, values in observed.items():
        observe_many(child, values)
    families.IN_FLIGHT.set(_live["in_flight"])
    families.OPEN_STREAMS.set(_live["open_streams"])


def observe_many(child, values: list[float]) -> None:
    """``child.observe(v)`` for each value, with one write per bucket and one for the sum.

    prometheus-client (pinned) keeps a histogram child's sum in ``_sum`` and one value per bucket,
    not cumulative, in ``_buckets`` beside ``_upper_bounds``: what ``observe`` itself updates.
    """
    per_bucket = [0] * len(child._upper_bounds)
    for value in values:
        per_bucket[bisect.bisect_left(child._upper_bounds, value)] += 1
    child._sum.inc(math.fsum(values))
    for bucket, count in zip(child._buckets, per_bucket, strict=True):
        if count:
            bucket.inc(count)


def route_of(endpoint: str) -> str:
    return ROUTES.get(endpoint) or ROUTES.get(endpoint.split("/", 1)[0]) or "passthrough"


def reason_of(error: ProxyError) -> str:
    """Why a request was refused, as one word (any 400-class input error is ``validation``)."""
    return REASONS.get(error.code or "") or ("validation" if error.status in (400, 415, 422) else "other")


def outcome_of(attempt: Attempt) -> str:
    """An upstream attempt's outcome from its typed verdict (and, for failures, what failed)."""
    outcome = _OUTCOMES.get(attempt.verdict)
    if outcome is not None:
        return outcome
    if attempt.verdict is Verdict.KEY_REFUSED:
        return attempt.reason  # key_rejected, key_out_of_credits
    if attempt.reason == "timeout":
        return "timeout"
    if attempt.reason.startswith("connect_error"):
        return "connect_error"
    if attempt.reason.startswith("stream_error"):
        return "stream_error"
    return "server_error"


def _account(account: str) -> str:
    return "byok" if account.startswith("byok-") else account


def observe(exchange, cost: Decimal) -> None:
    """Record one settled exchange (``chat.proxy.exchange``): its answer, duration, first byte, attempts,
    tokens, cost or refusal."""
    if not ENABLED:
        return
    try:
        _observe(exchange, cost)
    except Exception:  # a metric never fails a request
        log.exception("recording the metrics of request %s failed", exchange.request_id)


def _observe(exchange, cost: Decimal) -> None:
    route = route_of(exchange.endpoint)
    model = exchange.model_used or (exchange.model_ids[0] if exchange.model_ids else "")
    _add(_child(families.REQUESTS, route, model, str(exchange.status)))
    _observe_later(_child(families.DURATION, route, model), time.monotonic() - exchange.started)
    if exchange.ttft_ms is not None:
        _observe_later(_child(families.TTFT, route, model), exchange.ttft_ms / 1000)
    for attempt in exchange.attempts:
        if attempt.sent:
            _add(_child(families.ATTEMPTS, attempt.model, _account(attempt.account), outcome_of(attempt)))
    tokens = exchange.tokens
    if tokens.prompt:
        _add(_child(families.TOKENS, model, "prompt"), tokens.prompt)
    if tokens.completion:
        _add(_child(families.TOKENS, model, "completion"), tokens.completion)
    if cost:
        _add(_child(families.COST, model), float(cost))
    if exchange.outcome.value == "refused" and exchange.error is not None:
        _add(_child(families.REJECTIONS, reason_of(exchange.error)))


def answered(route: str, status: int, *, model: str = "", error: ProxyError | None = None) -> None:
    """Record a /v1 answer that is not an exchange's: the model list, the pass-through, a refused key or path."""
    if not ENABLED:
        return
    _add(_child(families.REQUESTS, route, model, str(status)))
    if error is not None and status < 500:
        _add(_child(families.REJECTIONS, reason_of(error)))


def request_started() -> None:
    _live["in_flight"] += 1


def request_ended() -> None:
    _live["in_flight"] -= 1


def stream_opened() -> None:
    _live["open_streams"] += 1


def stream_closed() -> None:
    _live["open_streams"] -= 1
