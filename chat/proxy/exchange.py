"""One request through the gateway, from admission to its log row.

The ASGI app and the in-process callers (playground, agent, orchestrator) use
the same steps, so limits, credits, logs and routing hold for every token:
``prepare`` (validate, resolve, admit, reserve) -> ``router.open_upstream`` ->
relay (theirs) -> ``finish`` (charge, release, log).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal

import aiohttp
import orjson
from django.conf import settings

from accounts.principals import Principal
from chat.logbuffer import log_buffer
from chat.proxy import accounting, clock, limits, router
from chat.proxy.errors import ProxyError
from chat.proxy.validation import validate_chat
from models_catalog.selectors import Snapshot, asnapshot

log = logging.getLogger(__name__)


def new_request_id() -> str:
    return "req_" + secrets.token_hex(12)


@dataclass
class Exchange:
    request_id: str
    principal: Principal
    body: dict
    source: str
    stream: bool
    client_wants_usage: bool
    started: float = field(default_factory=time.monotonic)
    requested_model: str = ""
    model_ids: tuple[str, ...] = ()
    snapshot: Snapshot | None = None
    admission: limits.Admission | None = None
    reservation: accounting.Reservation | None = None
    attempts: list[router.Attempt] = field(default_factory=list)
    model_used: str = ""
    status: int = 0
    error: ProxyError | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    usage_reported: bool = False
    ttft_ms: int | None = None
    disconnected: bool = False
    response_body: dict | None = None
    finished: bool = False

    @property
    def deadline(self) -> float:
        return self.started + settings.GATEWAY.request_deadline_s

    def gateway_headers(self) -> dict[str, str]:
        headers = {"x-request-id": self.request_id}
        if self.admission is not None:
            headers.update(self.admission.headers)
        if self.model_used:
            headers["x-gateway-model"] = self.model_used
        headers["x-gateway-attempts"] = str(sum(1 for a in self.attempts if not a.reason.startswith("skipped")))
        return headers

    def mark_first_byte(self) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = int((time.monotonic() - self.started) * 1000)


def _apply_preset(body: dict, params: dict) -> dict:
    if not params:
        return body
    merged = dict(params)
    merged.update(body)  # the request's own values win over the preset's defaults
    return merged


def refuse_when_log_backlogged() -> None:
    """Raise 503 while the request-log queue is full: back-pressure, so that no log row is ever dropped."""
    if not log_buffer().accepting():
        raise ProxyError(503, "The gateway is catching up on writing request logs; retry in a second.",
                         code="log_backlog", headers={"retry-after": "1"})


async def prepare(*, principal: Principal, body: dict, source: str, request_id: str | None = None) -> Exchange:
    """Validate, resolve the model, admit against limits and reserve credit. Raise ProxyError when refused."""
    refuse_when_log_backlogged()
    validate_chat(body)
    snapshot = await asnapshot()
    requested = body["model"].strip()
    route = snapshot.resolve(requested)
    if route is None:
        raise ProxyError(404, f"The model {requested!r} does not exist on this gateway; GET /v1/models lists "
                         "what you can use.", code="model_not_found", param="model")
    model_ids = list(route.models)
    for extra in body.get("models") or []:  # OpenRouter's own fallback list
        extra_route = snapshot.resolve(extra)
        for model_id in extra_route.models if extra_route else (extra,):
            if model_id not in model_ids:
                model_ids.append(model_id)
    if principal.allowed_models and not any(m in principal.allowed_models or requested in principal.allowed_models
                                             for m in model_ids):
        raise ProxyError(403, f"This key may not use {requested!r}.", code="model_not_allowed", param="model")
    if principal.allowed_models and requested not in principal.allowed_models:
        model_ids = [m for m in model_ids if m in principal.allowed_models]
    body = _apply_preset(body, route.params)
    stream = bool(body.get("stream"))
    exchange = Exchange(
        request_id=request_id or new_request_id(),
        principal=principal,
        body=body,
        source=source,
        stream=stream,
        client_wants_usage=bool((body.get("stream_options") or {}).get("include_usage")),
        requested_model=requested,
        model_ids=tuple(model_ids),
        snapshot=snapshot,
    )
    primary = model_ids[0]
    exchange.admission = await limits.admit(principal, primary, snapshot.daily_limit(primary))
    exchange.reservation = await accounting.reserve(
        principal=principal, models=[snapshot.models[m] for m in model_ids if m in snapshot.models],
        body=body, request_id=exchange.request_id,
    )
    return exchange


async def open_upstream(exchange: Exchange) -> router.Opened:
    """Route the exchange; on failure the error is kept on the exchange and raised."""
    try:
        opened = await router.open_upstream(
            principal=exchange.principal, snapshot=exchange.snapshot, model_ids=exchange.model_ids,
            body=exchange.body, stream=exchange.stream, attempts=exchange.attempts, deadline=exchange.deadline,
        )
    except ProxyError as error:
        exchange.error = error
        exchange.status = error.status
        raise
    exchange.model_used = opened.model.model_id
    return opened


def note_usage(exchange: Exchange, usage: dict | None) -> None:
    if isinstance(usage, dict):
        exchange.prompt_tokens = int(usage.get("prompt_tokens") or 0)
        exchange.completion_tokens = int(usage.get("completion_tokens") or 0)
        exchange.usage_reported = True


async def read_whole(exchange: Exchange, opened: router.Opened) -> tuple[bytes, dict | None]:
    """Read the upstream's whole answer in OpenAI's shape and account for it; 504 when it does not finish in time.

    Returns the bytes to relay unchanged and their parsed form (None when they are not a JSON object).
    Tokens are counted from the text only when the upstream reported no usage.
    """
    try:
        raw = await asyncio.wait_for(opened.response.read(), timeout=max(exchange.deadline - time.monotonic(), 1))
    except (TimeoutError, OSError, aiohttp.ClientError) as exc:
        error = ProxyError(504, "The upstream did not finish its answer in time.", code="upstream_timeout")
        exchange.error, exchange.status = error, 504
        raise error from exc
    finally:
        opened.response.release()
    raw = opened.adapter.chat_response(raw, model=opened.model.model_id)
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        note_usage(exchange, parsed.get("usage"))
        if not exchange.usage_reported:
            exchange.prompt_tokens = estimate_prompt_tokens(exchange.body)
            text = "".join(str((c.get("message") or {}).get("content") or "") for c in parsed.get("choices") or [])
            exchange.completion_tokens = max(len(text) // 4, 1)
        exchange.response_body = parsed
    else:
        parsed = None
    exchange.status = 200
    exchange.mark_first_byte()
    return raw, parsed


def estimate_prompt_tokens(body: dict) -> int:
    """A rough count (4 characters a token) for when the upstream reported none."""
    chars = 0
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            chars += len(content)
        elif isinstance(content, list):
            chars += sum(len(p.get("text", "")) for p in content if isinstance(p, dict))
    return max(chars // 4, 1)


def cost_of(exchange: Exchange) -> Decimal:
    model = exchange.snapshot.models.get(exchange.model_used) if exchange.snapshot else None
    if model is None:
        return Decimal("0")
    return model.prompt_price * exchange.prompt_tokens + model.completion_price * exchange.completion_tokens


async def finish(exchange: Exchange) -> None:
    """Charge what was used, release the rest of the reservation, count tokens, queue the log row. Once."""
    if exchange.finished:
        return
    exchange.finished = True
    if exchange.model_used and not exchange.usage_reported and exchange.status == 200:
        exchange.prompt_tokens = exchange.prompt_tokens or estimate_prompt_tokens(exchange.body)
    cost = cost_of(exchange) if exchange.model_used else Decimal("0")
    try:
        if exchange.reservation is not None:
            await accounting.settle(exchange.reservation, cost=cost if exchange.model_used else Decimal("0"))
    except Exception:
        log.exception("settling request %s failed", exchange.request_id)
    total = exchange.prompt_tokens + exchange.completion_tokens
    if exchange.admission is not None:
        await limits.charge_tokens(exchange.admission, total)
    _record(exchange, cost)


def _record(exchange: Exchange, cost: Decimal) -> None:
    error = exchange.error
    keep = settings.GATEWAY.log_bodies
    log_buffer().add(
        {
            "request_id": exchange.request_id,
            "created_at": clock.utcnow(),
            "user_id": exchange.principal.user_id,
            "key_id": exchange.principal.key_id,
            "key_prefix": exchange.principal.key_prefix,
            "source": exchange.source,
            "endpoint": "chat/completions",
            "model_requested": exchange.requested_model[:200],
            "model_used": exchange.model_used,
            "stream": exchange.stream,
            "status": exchange.status or (error.status if error else 0),
            "error_type": (error.code or error.type) if error else "",
            "error_message": error.message[:2000] if error else "",
            "attempts": [a.as_log() for a in exchange.attempts],
            "prompt_tokens": exchange.prompt_tokens,
            "completion_tokens": exchange.completion_tokens,
            "total_tokens": exchange.prompt_tokens + exchange.completion_tokens,
            "cost": cost,
            "ttft_ms": exchange.ttft_ms,
            "latency_ms": int((time.monotonic() - exchange.started) * 1000),
            "client_disconnected": exchange.disconnected,
            "request_body": exchange.body if keep else None,
            "response_body": exchange.response_body if keep else None,
        }
    )


def record_refusal(*, principal: Principal | None, request_id: str, body: dict | None, source: str,
                   error: ProxyError, started: float) -> None:
    """Log a request refused before routing (validation, limits, credits)."""
    if principal is None or error.code == "log_backlog":
        return  # unauthenticated noise is not a user's request; a backlog refusal would only grow the backlog
    log_buffer().add(
        {
            "request_id": request_id,
            "created_at": clock.utcnow(),
            "user_id": principal.user_id,
            "key_id": principal.key_id,
            "key_prefix": principal.key_prefix,
            "source": source,
            "endpoint": "chat/completions",
            "model_requested": str((body or {}).get("model") or "")[:200],
            "model_used": "",
            "stream": bool((body or {}).get("stream")),
            "status": error.status,
            "error_type": error.code or error.type,
            "error_message": error.message[:2000],
            "attempts": [],
            "latency_ms": int((time.monotonic() - started) * 1000),
            "request_body": body if settings.GATEWAY.log_bodies else None,
        }
    )
