"""One request through the gateway, from admission to its log row: the only owner of an exchange's life.

``serve`` runs every phase of a chat request and is the only code that decides
its outcome: admit (validate, resolve the model, limits, reserve credit) ->
route (``router.open_upstream``) -> deliver (a whole answer, or the relayed
stream) -> settle (charge, release the reservation, count tokens, queue the log
row). Settlement runs in a ``finally``, so no path, an exception or a client that
went away included, leaks a reservation. Transports only adapt to it: the
``/v1`` ASGI app (``chat/proxy/app.py``) and the in-process client of the
playground, agent and orchestrator (``chat/proxy/inprocess.py``) each pass a
``Delivery``. A response-cache hit (``chat/proxy/cache.py``) is one more ``Outcome``, settled here.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

import orjson
from django.conf import settings

from accounts.principals import Principal
from chat.proxy import accounting, capacity, limits, log_row, metrics, router, strategies, upstream_call
from chat.proxy import cache as response_cache
from chat.proxy.attempt import sent_count
from chat.proxy.errors import ProxyError
from chat.proxy.overhead import HEADER as OVERHEAD_HEADER
from chat.proxy.overhead import overhead_ms
from chat.proxy.relay import StreamState, relay_stream
from chat.proxy.tokens import TokenCount, estimate_completion
from chat.proxy.trace import Trace, TracedAttempts
from gateway_project.middleware import new_request_id
from models_catalog.selectors import Snapshot, asnapshot

__all__ = ["Delivery", "Exchange", "Outcome", "new_request_id", "serve"]
log = logging.getLogger(__name__)
ENDPOINT = "chat/completions"


class Outcome(enum.Enum):
    PENDING = "pending"
    REFUSED = "refused"  # before routing: validation, the model, the key's allowlist, limits, credits
    FAILED = "failed"  # no upstream could answer, or the answer broke (after the stream opened: status 200)
    SERVED = "served"
    CACHED = "cached"  # answered from the response cache: no upstream call, no reservation, no tokens
    DISCONNECTED = "disconnected"  # the client went away before the end


@dataclass
class Exchange:
    request_id: str
    principal: Principal
    source: str
    endpoint: str = ENDPOINT
    body: dict | None = None
    stream: bool = False
    client_wants_usage: bool = False
    started: float = field(default_factory=time.monotonic)
    requested_model: str = ""
    model_ids: tuple[str, ...] = ()
    snapshot: Snapshot | None = None
    admission: limits.Admission | None = None
    plan: router.Plan | None = None
    first_slot: router.Reserved | None = None  # the first account's capacity slot, taken with the admission
    reservation: accounting.Reservation | None = None
    attempts: list[router.Attempt] = field(default_factory=list)
    model_used: str = ""
    tokens: TokenCount = field(default_factory=TokenCount)
    ttft_ms: int | None = None
    response_body: dict | None = None
    finish_reasons: list[str] = field(default_factory=list)  # a stream's (a whole answer's are in its body)
    stream_opened: bool = False
    outcome: Outcome = Outcome.PENDING
    status: int = 0
    error: ProxyError | None = None
    settled: bool = False
    upstream_wait_s: float = 0.0  # waiting on the upstream outside the attempts (reading a whole answer)
    cache: response_cache.Lookup | None = None
    trace: Trace = field(init=False)

    def __post_init__(self) -> None:
        self.trace = Trace(self.request_id, self.principal, self.source, self.started)
        self.attempts = TracedAttempts(self.trace)  # the router's appends are the trace's attempt events

    @property
    def call(self) -> upstream_call.UpstreamCall:
        return upstream_call.for_endpoint(self.endpoint)

    @property
    def deadline(self) -> float:
        return self.started + settings.GATEWAY.request_deadline_s

    def gateway_headers(self) -> dict[str, str]:
        headers = {"x-request-id": self.request_id}
        if self.admission is not None:
            headers.update(self.admission.headers)
        if self.model_used:
            headers["x-gateway-model"] = self.model_used
        headers["x-gateway-attempts"] = str(sent_count(self.attempts))
        if self.cache is not None:
            headers["x-gateway-cache"] = self.cache.result
        headers[OVERHEAD_HEADER] = self.overhead_ms()
        return headers

    def overhead_ms(self) -> str:
        """The time the gateway itself added so far: since the start, minus every wait on the upstream."""
        return overhead_ms(self.started, self.upstream_wait_s + sum(a.waited_s for a in self.attempts))

    def _first_byte(self, at: float | None = None) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = int(((at or time.monotonic()) - self.started) * 1000)
            self.trace.first_byte(self.ttft_ms)

    def _conclude(self, outcome: Outcome, error: ProxyError | None = None) -> None:
        """Set the outcome, once; what the client saw is 200 once a stream opened, else the error's status."""
        if self.outcome is not Outcome.PENDING:
            return
        self.outcome, self.error = outcome, error
        if outcome is Outcome.DISCONNECTED:
            self.status = 200 if self.stream_opened else 499
        elif error is not None and not self.stream_opened:
            self.status = error.status
            error.headers = {**error.headers, OVERHEAD_HEADER: self.overhead_ms()}
        else:
            self.status = 200


class Delivery(Protocol):
    """How a transport hands the answer to its client."""

    async def whole(self, exchange: Exchange, raw: bytes, parsed: dict | None) -> None:
        """Deliver a whole answer (``parsed`` is None when it is not a JSON object); raise ProxyError to refuse it."""

    async def open_stream(self, exchange: Exchange) -> None:
        """Start a streamed answer (headers for HTTP)."""

    async def stream_data(self, data: bytes) -> None:
        """Deliver SSE events, whole, as they arrive."""

    async def close_stream(self) -> None:
        """End the streamed answer."""


async def serve(*, principal: Principal, source: str, load_body: Callable[[], Awaitable[dict]],
                delivery: Delivery, request_id: str | None = None,
                wait_disconnect: Callable[[], Awaitable[None]] | None = None, endpoint: str = ENDPOINT,
                cache_policy: response_cache.CachePolicy | None = None) -> Exchange:
    """Run one chat request to its end and return the settled exchange. Raise ProxyError when it is refused or
    fails before anything was delivered; ``asyncio.CancelledError`` passes through (the client went away)."""
    exchange = Exchange(request_id=request_id or new_request_id(), principal=principal, source=source,
                        endpoint=endpoint)
    try:
        try:
            await _admit(exchange, await load_body(), cache_policy)
        except ProxyError as error:
            exchange._conclude(Outcome.REFUSED, error)
            raise
        if exchange.cache is not None and exchange.cache.hit:
            await _deliver_cached(exchange, delivery)
            return exchange
        opened = await router.open_upstream(
            plan=exchange.plan, model_ids=exchange.model_ids, body=exchange.body, stream=exchange.stream,
            attempts=exchange.attempts, deadline=exchange.deadline, call=exchange.call, reserved=exchange.first_slot,
        )
        exchange.model_used = opened.model.model_id
        if exchange.stream:
            await _relay(exchange, opened, delivery, wait_disconnect)
        else:
            await _deliver_whole(exchange, opened, delivery)
    except ProxyError as error:
        exchange._conclude(Outcome.FAILED, error)
        raise
    except (asyncio.CancelledError, ConnectionError):  # the client went away (a broken socket, a closed iterator)
        exchange._conclude(Outcome.DISCONNECTED)
        raise
    except Exception as exc:
        log.exception("request %s failed in the gateway", exchange.request_id)
        error = ProxyError(500, "The gateway failed while serving this request.", code="internal_error")
        exchange._conclude(Outcome.FAILED, error)
        if exchange.stream_opened:
            raise
        raise error from exc
    finally:
        await _settle_even_if_cancelled(exchange)
    return exchange


async def _settle_even_if_cancelled(exchange: Exchange) -> None:
    """Settle; a cancellation that arrives meanwhile waits until the reservation is released.

    Only the credit settlement waits on anything (the database); without a reservation settling cannot be
    interrupted, so the common case pays no extra task.
    """
    if exchange.reservation is None:
        await _settle(exchange)
        return
    settling = asyncio.ensure_future(_settle(exchange))
    try:
        await asyncio.shield(settling)
    except asyncio.CancelledError:
        await settling
        raise


def _apply_preset(body: dict, params: dict) -> dict:
    if not params:
        return body
    merged = dict(params)
    merged.update(body)  # the request's own values win over the preset's defaults
    return merged


async def _admit(exchange: Exchange, body: dict, cache_policy: response_cache.CachePolicy | None = None) -> None:
    """Validate, resolve the model, admit against limits and reserve credit. Raise ProxyError when refused."""
    log_row.refuse_when_backlogged()
    exchange.body = body
    exchange.call.validate(body)
    principal = exchange.principal
    snapshot = await asnapshot()
    requested = body["model"].strip()
    exchange.trace.accepted(model=requested, stream=bool(body.get("stream")))
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
    exchange.body = body
    exchange.stream = bool(body.get("stream"))
    exchange.client_wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    exchange.requested_model = requested
    exchange.cache = response_cache.prepare(principal=principal, body=body, model_ids=tuple(model_ids),
                                            stream=exchange.stream, policy=cache_policy)
    exchange.model_ids = await strategies.order(tuple(model_ids), strategy=strategies.requested(route.strategy, body),
                                                snapshot=snapshot, principal=principal)
    exchange.snapshot = snapshot
    exchange.plan = await router.plan(principal=principal, snapshot=snapshot, model_ids=exchange.model_ids)
    # The first account's capacity rides along with the admission (one round trip), unless the answer may come
    # from the cache, which takes no capacity.
    first = exchange.plan.first() if exchange.cache is None or exchange.cache.bypass else None
    windows = capacity.counters(first[0], first[1], exchange.plan.health[first[1].account]) if first else []
    primary = exchange.model_ids[0]
    exchange.admission = await limits.admit(principal, primary, snapshot.daily_limit(primary), then=windows)
    if windows:
        exchange.first_slot = router.Reserved(first[0].model_id, first[1].key_id, windows,
                                            capacity.verdict(windows, exchange.admission.then))
    if await response_cache.fetch(exchange.cache):
        exchange.trace.admitted(exchange.admission, None)
        return  # a hit counts as a request, and costs nothing: no reservation
    exchange.reservation = await accounting.reserve(
        principal=principal, models=[snapshot.models[m] for m in model_ids if m in snapshot.models],
        body=body, request_id=exchange.request_id,
    )
    exchange.trace.admitted(exchange.admission, exchange.reservation.hold.amount if exchange.reservation else None)


async def _deliver_whole(exchange: Exchange, opened: router.Opened, delivery: Delivery) -> None:
    """Read the upstream's whole answer in OpenAI's shape, account for it and deliver it; 504 when it is late."""
    reading = time.monotonic()
    try:
        async with asyncio.timeout(max(exchange.deadline - time.monotonic(), 1)):
            raw = await opened.response.read()
    except OSError as exc:  # TimeoutError included
        raise ProxyError(504, "The upstream did not finish its answer in time.", code="upstream_timeout") from exc
    finally:
        opened.response.release()
        exchange.upstream_wait_s += time.monotonic() - reading
    raw = exchange.call.answer(opened.adapter, raw, model=opened.model.model_id)
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        exchange.tokens.note_usage(parsed.get("usage"), parsed.get("id"))
        exchange.tokens.estimate(exchange.body, estimate_completion(parsed))
        exchange.response_body = parsed
    else:
        parsed = None
        exchange.tokens.estimate(exchange.body, 0)
    exchange._first_byte()
    await delivery.whole(exchange, raw, parsed)
    exchange._conclude(Outcome.SERVED)
    if parsed is not None and "error" not in parsed:
        await response_cache.keep(exchange.cache, raw=raw, model=exchange.model_used, stream=False)


async def _deliver_cached(exchange: Exchange, delivery: Delivery) -> None:
    """Deliver the cached answer of an identical earlier request."""
    exchange.model_used = exchange.cache.model
    try:
        parsed = orjson.loads(exchange.cache.raw)
    except orjson.JSONDecodeError:
        parsed = None
    exchange.response_body = parsed if isinstance(parsed, dict) else None
    exchange._first_byte()
    await delivery.whole(exchange, exchange.cache.raw, exchange.response_body)
    exchange._conclude(Outcome.CACHED)


async def _relay(exchange: Exchange, opened: router.Opened, delivery: Delivery,
                 wait_disconnect: Callable[[], Awaitable[None]] | None) -> None:
    """Open the client's stream and relay the upstream's into it, until either ends."""
    # The first byte is recorded (and published to live watchers, when there are any) as it happens.
    state = StreamState(exchange.tokens, exchange.client_wants_usage, on_first_byte=exchange._first_byte)
    try:
        await delivery.open_stream(exchange)
        exchange.stream_opened = True
        if wait_disconnect is None:
            await relay_stream(opened, state, delivery.stream_data)
        elif not await _relay_unless_disconnected(relay_stream(opened, state, delivery.stream_data), wait_disconnect):
            exchange._conclude(Outcome.DISCONNECTED)
            return
    finally:
        exchange.tokens.estimate(exchange.body, state.content_events)  # about one token a chunk
        exchange.finish_reasons = state.finish_reasons
    exchange._conclude(Outcome.FAILED if state.error else Outcome.SERVED, state.error)
    await delivery.close_stream()


async def _relay_unless_disconnected(relay: Awaitable[None], wait_disconnect: Callable[[], Awaitable[None]]) -> bool:
    """Run ``relay`` until it ends (True) or the client goes away first (False: the relay is cancelled, which
    closes the upstream response and so cancels the upstream request).

    The relay runs in this task; only the watcher is a task of its own, and it cancels this one when the
    client goes away (one task a stream, not two and a wait).
    """
    this = asyncio.current_task()
    state = {"gone": False, "over": False}

    def client_left(watcher: asyncio.Future) -> None:
        if state["over"] or watcher.cancelled() or watcher.exception() is not None:
            return
        state["gone"] = True
        this.cancel()

    watcher = asyncio.ensure_future(wait_disconnect())
    watcher.add_done_callback(client_left)
    try:
        await relay
    except asyncio.CancelledError:
        if not state["gone"] or this.uncancel() > 0:  # cancelled for another reason too: that one goes on
            raise
        return False
    finally:
        state["over"] = True  # a disconnect noticed from here on cancels nothing
        watcher.cancel()
    return True


def _cost(exchange: Exchange) -> Decimal:
    if exchange.outcome is Outcome.CACHED:
        return Decimal("0")
    model = exchange.snapshot.models.get(exchange.model_used) if exchange.snapshot and exchange.model_used else None
    if model is None:
        return Decimal("0")
    if exchange.tokens.cost is not None:  # what the upstream charged, when it says
        return exchange.tokens.cost
    return model.prompt_price * exchange.tokens.prompt + model.completion_price * exchange.tokens.completion


async def _settle(exchange: Exchange) -> None:
    """Charge what was used, release the rest of the reservation, count tokens, queue the log row. Once; never
    raises."""
    if exchange.settled:
        return
    exchange.settled = True
    cost = _cost(exchange)
    try:
        if exchange.reservation is not None:
            await accounting.settle(exchange.reservation, cost=cost)
    except Exception:
        log.exception("settling request %s failed", exchange.request_id)
    try:
        if exchange.admission is not None:
            await limits.charge_tokens(exchange.admission, exchange.tokens.total)
    except Exception:
        log.exception("charging the tokens of request %s failed", exchange.request_id)
    slot = exchange.first_slot
    if slot is not None and not slot.used and slot.block is None and exchange.admission.then is not None:
        await capacity.release(slot.windows)  # taken at admission and never sent: another request may use it
    metrics.observe(exchange, cost)
    exchange.trace.finish(outcome=exchange.outcome.value, status=exchange.status, error=exchange.error,
                          model_used=exchange.model_used, tokens=exchange.tokens, cost=cost,
                          snapshot=exchange.snapshot, response_body=exchange.response_body,
                          finish_reasons=exchange.finish_reasons)
    body = exchange.body or {}
    log_row.queue(
        principal=exchange.principal, request_id=exchange.request_id, source=exchange.source, endpoint=exchange.endpoint,
        started=exchange.started, status=exchange.status, error=exchange.error,
        attempts=[a.as_log() for a in exchange.attempts],
        model_requested=exchange.requested_model or str(body.get("model") or ""),
        model_used=exchange.model_used, stream=exchange.stream or bool(body.get("stream")),
        tokens=exchange.tokens, cost=cost, ttft_ms=exchange.ttft_ms,
        disconnected=exchange.outcome is Outcome.DISCONNECTED, request_body=exchange.body,
        response_body=exchange.response_body, trace=exchange.trace.events,
        cache_hit=exchange.outcome is Outcome.CACHED,
    )
