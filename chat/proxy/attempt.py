"""One upstream attempt: send the request to one model on one key, and say what the answer means.

``attempt`` returns a typed ``Result``: a ``Verdict`` (what the router does next),
the ``Opened`` answer when it is worth relaying, the error the client would see,
until when a limit holds, and what a failure blames if the request is later
served elsewhere (docs/decisions/0013-a-failure-blame.md). What an answer says
about the key's account (limit headers, 429s, a refused key) is written through
``chat.proxy.pool`` here, as it arrives.
"""

from __future__ import annotations

import asyncio
import enum
import time
from dataclasses import dataclass, field

import orjson
from django.conf import settings

from chat.proxy import pool, upstream
from chat.proxy.errors import ProxyError
from chat.proxy.events import data_of
from chat.proxy.pool import Credential
from chat.proxy.upstream_call import CHAT, UpstreamCall
from models_catalog import adapters
from models_catalog.health import CLIENT_ERRORS
from models_catalog.selectors import ModelInfo


class Verdict(enum.Enum):
    SERVED = "served"  # a 200 worth relaying
    REQUEST_REFUSED = "request_refused"  # the request's own fault (400-class, context length): straight back
    KEY_REFUSED = "key_refused"  # 401, 402, 403: the key's breaker is open; the next key
    RATE_LIMITED = "rate_limited"  # a 429 of the account or of the model: elsewhere, or wait until it lifts
    DAILY_QUOTA = "daily_quota"  # the account's daily quota is spent
    MODEL_GONE = "model_gone"  # 404: the model is gone everywhere; the next model
    FAILED = "failed"  # 5xx, timeout, an error event, a broken connection: the next key or model


class Blame(enum.Enum):
    """What a failure is counted against once the same request was served elsewhere."""

    MODEL = "model"  # the model on the key's account
    KEY = "key"


@dataclass
class Attempt:
    """One line of the request log's ``attempts``: sent upstream, or skipped (``sent`` False) on what state said."""

    model: str
    key: str
    account: str
    status: int | None
    latency_ms: int
    reason: str
    sent: bool = True
    verdict: Verdict | None = None  # what the answer meant (None for a skip; the trace's "why it moved on")
    waited_s: float = 0.0  # time waiting on the upstream (the x-gateway-overhead-ms header leaves it out)

    def as_log(self) -> dict:
        return {"model": self.model, "key": self.key, "account": self.account, "status": self.status,
                "latencyMs": self.latency_ms, "reason": self.reason}


def sent_count(attempts: list[Attempt]) -> int:
    """The attempts that reached (or tried to reach) the upstream, as opposed to skips."""
    return sum(1 for a in attempts if a.sent)


@dataclass
class Opened:
    """An upstream answer worth relaying: a 200 whose first event (for streams) is not an error."""

    response: upstream.Response
    model: ModelInfo
    cred: Credential
    adapter: adapters.Adapter
    first_events: list[bytes] = field(default_factory=list)
    buffered: bytes = b""


@dataclass(frozen=True)
class Result:
    verdict: Verdict
    record: Attempt
    opened: Opened | None = None
    error: ProxyError | None = None
    until: float | None = None
    blame: Blame | None = None


def _is_context_length(message: str) -> bool:
    """A prompt too long for the model fails the same on every key: the request's fault, whatever the status."""
    lowered = message.lower()
    return "context length" in lowered or "context_length" in lowered or "maximum context" in lowered


def _retry_after(headers) -> float | None:
    for name in ("retry-after-ms", "Retry-After"):
        value = headers.get(name)
        if value:
            try:
                seconds = float(value)
            except ValueError:
                continue
            return seconds / 1000.0 if name == "retry-after-ms" else seconds
    return None


def _upstream_body(body: dict, model: ModelInfo, stream: bool) -> dict:
    payload = dict(body)
    payload.pop("models", None)  # the gateway runs the fallback list itself
    payload["model"] = model.model_id
    if stream and model.provider.kind in ("openrouter", "openai"):
        options = dict(payload.get("stream_options") or {})
        options["include_usage"] = True  # usage is always known: ask for the usage chunk
        payload["stream_options"] = options
    return payload


async def _first_data_events(response: upstream.Response) -> tuple[list[bytes], bytes]:
    """Read until the first complete ``data:`` event; return the events read and what is left over."""
    buffer = b""
    events: list[bytes] = []
    while True:
        chunk = await response.read_chunk()
        if not chunk:
            return events, buffer
        buffer += chunk.replace(b"\r\n", b"\n")
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            events.append(event + b"\n\n")
            if event.startswith(b"data:") or b"\ndata:" in event:
                return events, buffer


def _event_error(event: bytes) -> dict | None:
    data = data_of(event)
    if not data or data == b"[DONE]" or b'"error"' not in data:
        return None
    try:
        parsed = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    return parsed["error"] if isinstance(parsed, dict) and parsed.get("error") else None


def _body_error(raw: bytes) -> dict | None:
    """The ``error`` object of a 200 whose whole body is an error and no answer."""
    if b'"error"' not in raw[:200]:
        return None
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(parsed, dict) or parsed.get("choices") or not isinstance(parsed.get("error"), dict):
        return None
    return parsed["error"]


def _carried_status(error: dict) -> int | None:
    """The HTTP status an error object carries in its ``code``, when it names a refusal (400 to 599)."""
    code = error.get("code")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    return code if isinstance(code, int) and 400 <= code <= 599 else None


async def attempt(model: ModelInfo, cred: Credential, body: dict, stream: bool, deadline: float,
                  known: pool.Health | None = None, call: UpstreamCall = CHAT) -> Result:
    """Send ``body`` to ``model`` on ``cred`` (``call`` says which upstream operation) and say what it means."""
    cfg = settings.GATEWAY
    adapter = adapters.for_kind(model.provider.kind)
    request = call.request(
        adapter, base_url=model.provider.base_url,
        api_key="" if cred.source == "provider" and cred.secret.startswith("provider:") else cred.secret,
        body=_upstream_body(body, model, stream),
    )
    if request is None:
        return Result(Verdict.FAILED, Attempt(model.model_id, cred.masked, cred.account, None, 0, f"no_{call.name}"),
                      error=ProxyError(400, f"The model {model.model_id!r} does not serve {call.name}.",
                                       code="unsupported_model", param="model"))
    url, headers, payload = request
    headers.setdefault("HTTP-Referer", cfg.openrouter_app_url)
    headers.setdefault("X-Title", cfg.openrouter_app_name)
    started = time.monotonic()
    attempt_deadline = min(deadline, started + cfg.upstream_timeout_s)

    def result(verdict: Verdict, status: int | None, reason: str, **outcome) -> Result:
        waited = time.monotonic() - started
        record = Attempt(model.model_id, cred.masked, cred.account, status, int(waited * 1000), reason,
                         verdict=verdict, waited_s=waited)
        return Result(verdict, record, **outcome)

    response: upstream.Response | None = None
    events: list[bytes] = []
    rest = b""
    try:
        remaining = attempt_deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        # One timer for the whole attempt: sending, the status line, and a whole body or a stream's first event.
        async with asyncio.timeout(remaining):
            response = await upstream.request("POST", url, headers=headers, body=payload)
            if response.status == 200 and stream:
                raw = b""  # a stream is relayed; its first event is read here, to fall back on an error event
                events, rest = await _first_data_events(response)
            else:
                raw = await response.read()
        if response.status == 200:
            error = next((e for e in map(_event_error, events) if e), None)
            if error is not None:
                response.release()
                carried = _carried_status(error)
                if carried is not None and carried < 500:  # a refusal: classified like the status it carries
                    return await _judge(carried, orjson.dumps({"error": error}), response.headers, adapter, model,
                                        cred, result)
                return result(Verdict.FAILED, 200, f"stream_error: {str(error.get('message', ''))[:120]}",
                              error=ProxyError(502, f"Upstream failed: {error.get('message', 'stream error')}",
                                               code="upstream_error"), blame=Blame.MODEL)
            if not stream:
                # OpenRouter answers 200 with {"error": {...}} once a provider was chosen: a failed attempt.
                error = _body_error(raw)
                if error is not None:
                    response.release()
                    return await _judge(_carried_status(error) or 502, raw, response.headers, adapter, model, cred,
                                        result)
            served = result(Verdict.SERVED, 200, "ok", opened=Opened(response, model, cred, adapter, events, rest))
            await pool.note_success(cred, model.model_id, response.headers, known)
            return served
        return await _judge(response.status, raw, response.headers, adapter, model, cred, result)
    except TimeoutError:
        if response is not None:
            response.close()
        return result(Verdict.FAILED, None, "timeout", blame=Blame.MODEL,
                      error=ProxyError(504, "The upstream did not answer in time.", code="upstream_timeout"))
    except OSError as exc:  # refused, reset, a failed name lookup or TLS handshake, an answer that is not HTTP
        if response is not None:
            response.close()
        return result(Verdict.FAILED, None, f"connect_error: {type(exc).__name__}", blame=Blame.KEY,
                      error=ProxyError(502, "Could not reach the upstream.", code="upstream_unreachable"))


async def _judge(status: int, raw: bytes, headers, adapter: adapters.Adapter, model: ModelInfo, cred: Credential,
                 result) -> Result:
    """What a non-200 answer means."""
    message, metadata = adapter.error_message(raw)
    if status == 429:
        retry_after = _retry_after(headers)
        if retry_after is None and isinstance(metadata, dict) and metadata.get("retry_after_seconds") is not None:
            retry_after = float(metadata["retry_after_seconds"])
        scope, until = await pool.note_rate_limited(cred, model.model_id, message, headers, retry_after)
        verdict = Verdict.DAILY_QUOTA if scope == pool.DAILY_QUOTA else Verdict.RATE_LIMITED
        return result(verdict, 429, scope, until=until,
                      error=ProxyError(429, f"Upstream rate limited: {message}", code="upstream_rate_limited"))
    if status == 404:
        return result(Verdict.MODEL_GONE, 404, "model_gone",
                      error=ProxyError(404, f"Model {model.model_id} is no longer served upstream.",
                                       code="model_not_found", param="model"))
    if status in CLIENT_ERRORS or _is_context_length(message):
        return result(Verdict.REQUEST_REFUSED, status, "client_error",
                      error=ProxyError(status if status in CLIENT_ERRORS else 400,
                                       f"Upstream rejected the request: {message}", code="upstream_bad_request"))
    if status in (401, 402, 403):
        await pool.note_auth_failure(cred)
        if status == 402:
            return result(Verdict.KEY_REFUSED, status, "key_out_of_credits",
                          error=ProxyError(502, "An upstream account is out of credits.", code="upstream_credits"))
        return result(Verdict.KEY_REFUSED, status, "key_rejected",
                      error=ProxyError(502, "An upstream key was rejected.", code="upstream_auth"))
    return result(Verdict.FAILED, status, "upstream_error", blame=Blame.MODEL,
                  error=ProxyError(504 if status == 408 else 502, f"Upstream error {status}: {message}",
                                   code="upstream_error"))
