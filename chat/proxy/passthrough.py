"""``/v1/*`` paths the gateway does not serve itself, forwarded to OpenRouter when the operator allows them.

Only the prefixes in ``GATEWAY_PASSTHROUGH_PATHS`` are forwarded (``GATEWAY_PASSTHROUGH=0``
forwards none), never one of the pool account's own endpoints (``ACCOUNT_PATHS``, whatever
the configuration says), and never a path the router did not normalise. A body that names
a ``model`` runs a model, so it passes the key's model allowlist and the rate and daily
limits first, and its log row names the model; on the server pool it runs only a model the
catalog lists enabled and free (the answer is relayed unread, so nothing could be charged).
The caller's own key is used when set, else a pool key; the answer streams back unchanged.
Each forwarded request has a trace, as a chat request has (``accepted``, ``admitted`` when
it runs a model, its ``attempt``, ``first_byte`` and the end), kept with its log row.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from urllib.parse import quote

import orjson
from django.conf import settings

from accounts.principals import Principal
from chat.proxy import limits, log_row, metrics, pool, upstream
from chat.proxy.asgi_io import encode_headers, read_body
from chat.proxy.attempt import Attempt, Verdict
from chat.proxy.errors import ProxyError
from chat.proxy.overhead import HEADER as OVERHEAD_HEADER
from chat.proxy.overhead import overhead_ms
from chat.proxy.pool import Credential
from chat.proxy.router import credentials_for
from chat.proxy.tokens import TokenCount
from chat.proxy.trace import Trace, TracedAttempts
from chat.proxy.validation import parse_json_object
from models_catalog.selectors import ModelInfo, ProviderInfo, Snapshot, asnapshot

# OpenRouter's account API: what the pool key's owner sees, never a user. Compared without case.
ACCOUNT_PATHS = frozenset({
    "key", "keys", "credits", "auth", "activity", "generation", "analytics", "guardrails", "organization",
    "organizations", "workspaces", "byok", "integrations", "billing",
})
# Served by the gateway's own routes; forwarding them would skip admission and accounting.
OWN_PATHS = frozenset({"chat", "models", "messages", "responses", "completions", "embeddings"})

_HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade",
               b"content-length", b"content-encoding", b"host", b"authorization", b"x-client-api-key", b"x-api-key",
               b"cookie"}
_PCHAR = "-._~!$&'()*+,;=:@"


def forwardable(tail: tuple[str, ...]) -> bool:
    """Whether the pass-through may forward the normalised path ``/v1/<tail>`` upstream."""
    cfg = settings.GATEWAY
    if not cfg.passthrough or not tail or tail[0].lower() in ACCOUNT_PATHS | OWN_PATHS:
        return False
    if any("/" in segment for segment in tail):
        return False  # an encoded '/' would become a separator upstream
    return any(tail[:len(parts)] == parts for parts in (tuple(p.split("/")) for p in cfg.passthrough_paths))


def _openrouter_stub() -> ModelInfo:
    provider = ProviderInfo("openrouter", "openrouter", settings.GATEWAY.openrouter_base_url, "")
    return ModelInfo(0, "", "", provider, Decimal(0), Decimal(0), True, True, False, None, 0)


class _Passage:
    """What one forwarded request did, for its log row and its trace."""

    def __init__(self, endpoint: str, principal: Principal, request_id: str) -> None:
        self.started = time.monotonic()
        self.endpoint = endpoint
        self.model_requested = ""
        self.model_used = ""
        self.status = 0
        self.error: ProxyError | None = None
        self.outcome = "refused"  # what an error means so far (an ``Outcome`` value); "failed" once it routes
        self.responded = False  # the upstream's answer has started going back
        self.ttft_ms: int | None = None
        self.trace = Trace(request_id, principal, "api", self.started)
        self.attempts = TracedAttempts(self.trace)  # of ``Attempt``: each one appended is a trace event
        self.runs_model = False  # the body names a model
        self.catalog_model: ModelInfo | None = None  # what the catalog says of it, when it lists it
        self.snapshot: Snapshot | None = None

    def attempted(self, cred: Credential, status: int | None, sent: float, reason: str) -> None:
        verdict = Verdict.SERVED if status is not None and status < 400 else Verdict.FAILED
        waited = time.monotonic() - sent
        self.attempts.append(Attempt(self.model_used, cred.masked, cred.account, status, int(waited * 1000), reason,
                                     verdict=verdict, waited_s=waited))

    def first_byte(self) -> None:
        self.ttft_ms = int((time.monotonic() - self.started) * 1000)
        self.trace.first_byte(self.ttft_ms)


async def _admit(principal: Principal, body: dict, passage: _Passage) -> tuple[bytes | None, limits.Admission]:
    """Apply the key's model allowlist, resolve an alias and count the request against the limits.

    Return the body to send when the alias changed it (else None) and the admission.
    """
    requested = body["model"]
    if not isinstance(requested, str) or not requested.strip():
        raise ProxyError(400, "model must be a non-empty string.", code="invalid_type", param="model")
    requested = requested.strip()
    passage.model_requested = requested[:200]
    passage.snapshot = snapshot = await asnapshot()
    route = snapshot.resolve(requested)
    model_ids = route.models if route is not None else (requested,)
    allowed = principal.allowed_models
    if allowed and requested not in allowed and not any(m in allowed for m in model_ids):
        raise ProxyError(403, f"This key may not use {requested!r}.", code="model_not_allowed", param="model")
    primary = next((m for m in model_ids if not allowed or requested in allowed or m in allowed), model_ids[0])
    admission = await limits.admit(principal, primary, snapshot.daily_limit(primary))
    passage.trace.admitted(admission, None)
    passage.model_used = primary
    passage.runs_model, passage.catalog_model = True, snapshot.models.get(primary)
    if primary == body["model"]:
        return None, admission
    return orjson.dumps({**body, "model": primary}), admission


def _pool_may_run(passage: _Passage) -> None:
    """Refuse a model the server pool would pay for unless the catalog lists it enabled and free.

    The pass-through relays the upstream's answer unread, so it cannot charge credits:
    paid and unlisted models run here only on the caller's own upstream key.
    """
    model = passage.catalog_model
    if model is None or not model.enabled:
        raise ProxyError(404, f"The model {passage.model_used!r} is not in this gateway's catalog; ask an admin to "
                         "add it, or set your own upstream key in your settings.", code="model_not_found", param="model")
    if model.paid:
        raise ProxyError(402, f"{passage.model_used!r} is a paid model; on this route it runs only on your own "
                         "upstream key (set one in your settings).", code="paid_model_needs_own_key", param="model")


async def forward(scope, receive, send, principal: Principal, request_id: str, tail: tuple[str, ...]) -> None:
    """Forward ``/v1/<tail>`` upstream, or raise 404 when it may not be forwarded."""
    if not forwardable(tail):
        raise ProxyError(404, "There is no such /v1 route.", code="not_found")
    passage = _Passage("/".join(tail)[:60], principal, request_id)
    try:
        await _forward(scope, receive, send, principal, tail, passage)
    except ProxyError as error:
        passage.error, passage.status = error, passage.status or error.status
        raise
    except (asyncio.CancelledError, ConnectionError):  # the client went away
        passage.outcome = "disconnected"
        passage.status = passage.status if passage.responded else 499
        raise
    finally:
        _record(principal, request_id, passage)


async def _forward(scope, receive, send, principal: Principal, tail: tuple[str, ...], passage: _Passage) -> None:
    cfg = settings.GATEWAY
    log_row.refuse_when_backlogged()
    body = await read_body(receive, cfg.max_body_bytes)
    headers_in = dict(scope["headers"])
    parsed = parse_json_object(body, headers_in.get(b"content-type", b"").decode("latin-1")) if body.strip() else {}
    requested = parsed.get("model")
    passage.trace.accepted(model=requested.strip()[:200] if isinstance(requested, str) else "",
                           stream=parsed.get("stream") is True)
    admission = None
    if "model" in parsed:
        rewritten, admission = await _admit(principal, parsed, passage)
        body = rewritten or body
    creds = await credentials_for(_openrouter_stub(), principal)
    health = await pool.read_health([c.account for c in creds])
    now = time.time()
    cred = next((c for c in creds if health[c.account].blocked(c, "", now) is None), None)
    if passage.runs_model and cred is not None and cred.source != "byok":
        _pool_may_run(passage)
    passage.outcome = "failed"  # past the refusals: an error from here on is a failure
    if cred is None:
        raise ProxyError(503, "No upstream key is available for this request.", code="no_upstream_key")
    path = "/".join(quote(segment, safe=_PCHAR) for segment in tail)
    query = scope.get("query_string", b"").decode("latin-1")
    url = f"{cfg.openrouter_base_url}/{path}" + (f"?{query}" if query else "")
    headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k not in _HOP_BY_HOP}
    headers["Authorization"] = f"Bearer {cred.secret}"
    passage.status = 502
    sent = time.monotonic()
    response = None
    try:
        async with asyncio.timeout(cfg.upstream_timeout_s):  # the whole exchange, as long as it streams
            response = await upstream.request(scope["method"], url, headers=headers, body=body or None)
            passage.status = response.status
            passage.attempted(cred, response.status, sent, "ok" if response.status < 400 else "upstream_error")
            out = {k.decode("latin-1"): v.decode("latin-1") for k, v in response.headers.raw
                   if k.lower() not in _HOP_BY_HOP}
            out["x-request-id"] = passage.trace.request_id
            out[OVERHEAD_HEADER] = overhead_ms(passage.started, time.monotonic() - sent)
            if admission is not None:
                out.update(admission.headers)
            await send({"type": "http.response.start", "status": response.status, "headers": encode_headers(out)})
            passage.responded = True
            async for chunk in response.iter_chunks():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if passage.ttft_ms is None:
                    passage.first_byte()
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            passage.outcome = "served" if response.status < 400 else "failed"
    except OSError as exc:  # a timeout, a refused or broken connection
        if not passage.attempts:  # no answer came (a break mid-answer already has its attempt)
            passage.attempted(cred, None, sent,
                              "timeout" if isinstance(exc, TimeoutError) else f"connect_error: {type(exc).__name__}")
        raise ProxyError(502, "Could not reach the upstream.", code="upstream_unreachable") from exc
    finally:
        if response is not None:
            response.close()


def _record(principal: Principal, request_id: str, passage: _Passage) -> None:
    served = passage.status == 200
    model_used = passage.model_used if served else ""
    metrics.answered(metrics.route_of(passage.endpoint), passage.status,
                     model=model_used if passage.catalog_model else "", error=passage.error)
    passage.trace.finish(outcome=passage.outcome, status=passage.status, error=passage.error, model_used=model_used,
                         tokens=TokenCount(), cost=Decimal(0), snapshot=passage.snapshot)
    log_row.queue(principal=principal, request_id=request_id, source="api", endpoint=passage.endpoint,
                  started=passage.started, status=passage.status, error=passage.error,
                  attempts=[a.as_log() for a in passage.attempts], model_requested=passage.model_requested,
                  model_used=model_used, ttft_ms=passage.ttft_ms, trace=passage.trace.events)
