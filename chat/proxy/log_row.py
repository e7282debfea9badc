"""The request-log row of a ``/v1`` request, built here and nowhere else, and queued for the flusher."""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings

from accounts.principals import Principal
from chat.log_stream import stream_queue
from chat.logbuffer import log_buffer
from chat.proxy import clock
from chat.proxy.errors import ProxyError
from chat.proxy.tokens import TokenCount

MODEL_CHARS = 200  # RequestLog.model_requested
ENDPOINT_CHARS = 60  # RequestLog.endpoint
MESSAGE_CHARS = 2000
BACKLOG = "log_backlog"


def _queue():
    """Where rows go: this process's buffer, or the Redis stream a writer process drains (GATEWAY_LOG_QUEUE)."""
    return stream_queue() if settings.GATEWAY.log_queue == "redis" else log_buffer()


def refuse_when_backlogged() -> None:
    """Raise 503 while the request-log queue is full: back-pressure, so that no log row is ever dropped."""
    if not _queue().accepting():
        raise ProxyError(503, "The gateway is catching up on writing request logs; retry in a second.",
                         code=BACKLOG, headers={"retry-after": "1"})


def queue(
    *,
    principal: Principal | None,
    request_id: str,
    source: str,
    endpoint: str,
    started: float,
    status: int,
    error: ProxyError | None = None,
    attempts: Sequence[dict] = (),
    model_requested: str = "",
    model_used: str = "",
    stream: bool = False,
    tokens: TokenCount | None = None,
    cost: Decimal = Decimal("0"),
    ttft_ms: int | None = None,
    disconnected: bool = False,
    request_body: dict | None = None,
    response_body: dict | None = None,
    trace: Sequence[dict] = (),
    cache_hit: bool = False,
) -> None:
    """Queue one request's log row. A request nobody was authenticated for is not a user's request, and a
    refusal for a full log queue would only add to it: no row for either."""
    if principal is None or (error is not None and error.code == BACKLOG):
        return
    tokens = tokens or TokenCount()
    keep_bodies = settings.GATEWAY.log_bodies
    _queue().add(
        {
            "request_id": request_id,
            "created_at": clock.utcnow(),
            "user_id": principal.user_id,
            "key_id": principal.key_id,
            "key_prefix": principal.key_prefix,
            "source": source,
            "endpoint": endpoint[:ENDPOINT_CHARS],
            "model_requested": model_requested[:MODEL_CHARS],
            "model_used": model_used,
            "stream": stream,
            "status": status,
            "error_type": (error.code or error.type) if error else "",
            "error_message": error.message[:MESSAGE_CHARS] if error else "",
            "attempts": list(attempts),
            "prompt_tokens": tokens.prompt,
            "completion_tokens": tokens.completion,
            "total_tokens": tokens.total,
            "cost": cost,
            "generation_id": tokens.generation_id,
            "ttft_ms": ttft_ms,
            "latency_ms": int((time.monotonic() - started) * 1000),
            "client_disconnected": disconnected,
            "cache_hit": cache_hit,
            "request_body": request_body if keep_bodies else None,
            "response_body": response_body if keep_bodies else None,
            "trace": list(trace),
        }
    )
