"""Recording /v1 metrics: one call per settled exchange, plus the in-flight and open-stream gauges.

Each function writes to this process's memory-mapped metric files (gateway_project/metrics.py):
no Redis or database round trip, nothing awaited. With ``GATEWAY_METRICS=0`` every call returns
at once. Labels stay bounded: models are the catalog's (never what a client typed for an unknown
model), a user's own upstream account is ``byok``, rejection reasons and attempt outcomes are
fixed words.
"""

from __future__ import annotations

import logging
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


def _child(family, *labels: str):
    """``family.labels(*labels)``, kept: the labels are bounded, and a lookup here costs a tenth of ``labels``."""
    key = (id(family), labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = family.labels(*labels)
    return child


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
    _child(families.REQUESTS, route, model, str(exchange.status)).inc()
    _child(families.DURATION, route, model).observe(time.monotonic() - exchange.started)
    if exchange.ttft_ms is not None:
        _child(families.TTFT, route, model).observe(exchange.ttft_ms / 1000)
    for attempt in exchange.attempts:
        if attempt.sent:
            _child(families.ATTEMPTS, attempt.model, _account(attempt.account), outcome_of(attempt)).inc()
    tokens = exchange.tokens
    if tokens.prompt:
        _child(families.TOKENS, model, "prompt").inc(tokens.prompt)
    if tokens.completion:
        _child(families.TOKENS, model, "completion").inc(tokens.completion)
    if cost:
        _child(families.COST, model).inc(float(cost))
    if exchange.outcome.value == "refused" and exchange.error is not None:
        _child(families.REJECTIONS, reason_of(exchange.error)).inc()


def answered(route: str, status: int, *, model: str = "", error: ProxyError | None = None) -> None:
    """Record a /v1 answer that is not an exchange's: the model list, the pass-through, a refused key or path."""
    if not ENABLED:
        return
    _child(families.REQUESTS, route, model, str(status)).inc()
    if error is not None and status < 500:
        _child(families.REJECTIONS, reason_of(error)).inc()


def request_started() -> None:
    if ENABLED:
        families.IN_FLIGHT.inc()


def request_ended() -> None:
    if ENABLED:
        families.IN_FLIGHT.dec()


def stream_opened() -> None:
    if ENABLED:
        families.OPEN_STREAMS.inc()


def stream_closed() -> None:
    if ENABLED:
        families.OPEN_STREAMS.dec()
