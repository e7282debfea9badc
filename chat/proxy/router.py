"""Routing: which model on which upstream key, in what order, and what to do when one fails.

``open_upstream`` walks the plan (each model of the route, on each usable key,
best capacity first), skips what the shared state says is spent, and returns
the first answer worth relaying. Failures caused by the request itself go
straight back; 429, 5xx, timeouts and 404 move on. When a round ends with
nothing, it waits for the earliest window to reopen (or backs off with jitter)
and tries again, all inside one deadline per request. Nothing here has sent a
byte to the client: fallback and retry happen only before the first byte.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field

import aiohttp
import orjson
from asgiref.sync import sync_to_async
from django.conf import settings

from accounts.principals import Principal
from chat.proxy import pool, upstream
from chat.proxy.errors import ProxyError
from chat.proxy.events import data_of
from chat.proxy.pool import Credential
from models_catalog import adapters
from models_catalog import health as model_health
from models_catalog.selectors import ModelInfo, Snapshot

log = logging.getLogger(__name__)
CLIENT_ERRORS = {400, 413, 422}
MAX_INLINE_WAIT_S = 15.0  # longest wait for a window to reopen inside one request


@dataclass
class Attempt:
    model: str
    key: str
    account: str
    status: int | None
    latency_ms: int
    reason: str

    def as_log(self) -> dict:
        return {"model": self.model, "key": self.key, "account": self.account, "status": self.status,
                "latencyMs": self.latency_ms, "reason": self.reason}


@dataclass
class Opened:
    """An upstream answer worth relaying: a 200 whose first event (for streams) is not an error."""

    response: aiohttp.ClientResponse
    model: ModelInfo
    cred: Credential
    adapter: adapters.Adapter
    first_events: list[bytes] = field(default_factory=list)
    buffered: bytes = b""


@dataclass
class Plan:
    models: list[ModelInfo]
    byok: Credential | None
    pool: list[Credential]


async def credentials_for(model: ModelInfo, principal: Principal) -> list[Credential]:
    """Keys to try for ``model``: the user's own first, then the server pool (OpenRouter),
    or the provider's own key (other providers)."""
    from accounts import crypto

    if model.provider.kind == "openrouter":
        creds: list[Credential] = []
        if principal.byok_encrypted:
            try:
                secret = crypto.decrypt(principal.byok_encrypted)
                creds.append(pool.credential(secret, source="byok", account=f"byok-{principal.user_id}"))
            except crypto.DecryptionError:
                log.error("user %s's own key does not decrypt; using the pool", principal.user_id)
        return creds + await pool.server_pool()
    secret = ""
    if model.provider.api_key_encrypted:
        secret = crypto.decrypt(model.provider.api_key_encrypted)
    return [pool.credential(secret or f"provider:{model.provider.slug}", source="provider",
                            account=f"provider-{model.provider.slug}")]


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


async def _first_data_events(response: aiohttp.ClientResponse, deadline: float) -> tuple[list[bytes], bytes]:
    """Read until the first complete ``data:`` event; return the events read and what is left over."""
    buffer = b""
    events: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        chunk = await asyncio.wait_for(response.content.readany(), timeout=remaining)
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


async def _model_gone(model: ModelInfo) -> None:
    from models_catalog.services import model_mark_gone

    try:
        await sync_to_async(model_mark_gone, thread_sensitive=False)(model_id=model.model_id)
    except Exception:
        log.exception("could not disable %s after its 404", model.model_id)


async def open_upstream(
    *,
    principal: Principal,
    snapshot: Snapshot,
    model_ids: tuple[str, ...],
    body: dict,
    stream: bool,
    attempts: list[Attempt],
    deadline: float,
) -> Opened:
    """Return the first good upstream answer, or raise the ProxyError the client should see."""
    cfg = settings.GATEWAY
    models = [snapshot.models[m] for m in model_ids if m in snapshot.models and snapshot.models[m].enabled]
    if not models:
        raise ProxyError(404, f"Model {model_ids[0]!r} is not available on this gateway.", code="model_not_found",
                         param="model")
    creds_by_model = {m.model_id: await credentials_for(m, principal) for m in models}
    if not any(creds_by_model.values()):
        raise ProxyError(503, "No upstream key is configured: add your own key in Settings, or ask an admin to "
                         "add one to the pool.", code="no_upstream_key")
    accounts = [c.account for creds in creds_by_model.values() for c in creds]
    gone: set[str] = set()
    suspects: list[tuple[Credential, str, str]] = []  # (key, model, "key"|"model"): blamed once served elsewhere
    failed: set[tuple[str, str]] = set()  # (key, model) pairs this request is not sent to again
    last_error: ProxyError | None = None
    round_no = 0
    while True:
        health = await pool.read_health(accounts)
        now = time.time()
        earliest: float | None = None
        only_daily = True
        for model in models:
            if model.model_id in gone:
                continue
            creds = creds_by_model[model.model_id]
            # Most capacity first; the user's own key keeps its place in front.
            ordered = sorted(creds, key=lambda c: (c.source != "byok", -health[c.account].capacity(now)))
            for cred in ordered:
                blocked = health[cred.account].blocked(cred, model.model_id, now)
                if blocked is not None:
                    reason, until = blocked
                    if round_no == 0:
                        attempts.append(Attempt(model.model_id, cred.masked, cred.account, None, 0, f"skipped: {reason}"))
                    if reason != "account_daily_quota":
                        only_daily = False
                        earliest = until if earliest is None else min(earliest, until)
                    continue
                if (cred.key_id, model.model_id) in failed:
                    continue
                if _real(attempts) >= cfg.max_attempts:
                    break
                outcome = await _attempt(model, cred, body, stream, attempts, deadline, health[cred.account],
                                         suspects)
                await model_health.arecord(attempt=attempts[-1].as_log(), stream=stream, tools=bool(body.get("tools")),
                                           until=None if isinstance(outcome, Opened) else outcome[2])
                if isinstance(outcome, Opened):
                    await _blame(suspects)
                    return outcome
                kind, error, until = outcome
                if kind in ("retry", "next"):
                    failed.add((cred.key_id, model.model_id))
                last_error = error
                if kind != "daily":
                    only_daily = False
                if kind == "client":
                    raise error
                if kind == "gone":
                    gone.add(model.model_id)
                    await _model_gone(model)
                    break
                if kind == "daily":
                    health[cred.account] = pool.Health({"day_until": str(until)})
                elif kind == "limited":
                    earliest = until if earliest is None else min(earliest, until)
                    health[cred.account] = await _refresh(cred.account)
        round_no += 1
        time_left = deadline - time.monotonic()
        if _real(attempts) >= cfg.max_attempts or earliest is None:
            break
        wait = max(earliest - time.time(), 0.05) + random.uniform(0, 0.1)
        if wait > min(time_left, MAX_INLINE_WAIT_S):
            break
        await asyncio.sleep(wait)
    raise _exhausted(attempts, last_error, earliest, only_daily)


async def _blame(suspects: list[tuple[Credential, str, str]]) -> None:
    """The request was served, so what failed before was not the request's fault: count it, once per request."""
    for cred, model_id, what in dict.fromkeys(suspects):
        if what == "key":
            await pool.note_key_failure(cred)
        else:
            await pool.note_model_failure(cred, model_id)


def _real(attempts: list[Attempt]) -> int:
    """Attempts that reached (or tried to reach) the upstream, as opposed to skips."""
    return sum(1 for a in attempts if not a.reason.startswith("skipped"))


async def _refresh(account: str) -> pool.Health:
    return (await pool.read_health([account], fresh=True))[account]


def _exhausted(attempts: list[Attempt], last_error: ProxyError | None, earliest: float | None, only_daily: bool) -> ProxyError:
    limited = [a for a in attempts if a.status == 429 or "rate_limited" in a.reason or "quota" in a.reason]
    if limited and (last_error is None or last_error.status == 429):
        if only_daily:
            return ProxyError(429, "Every upstream account has used its daily quota for these models; "
                              "try again after the quota resets.", code="upstream_quota_exhausted",
                              headers={"x-should-retry": "false"})
        wait = max(int((earliest or time.time() + 60) - time.time()) + 1, 1)
        return ProxyError(429, f"Every upstream account is rate limited for these models; retry in {wait} s.",
                          code="upstream_rate_limited", headers={"retry-after": str(wait)})
    if last_error is not None:
        return last_error
    return ProxyError(503, "No upstream could serve this request.", code="upstream_unavailable")


async def _attempt(model: ModelInfo, cred: Credential, body: dict, stream: bool, attempts: list[Attempt],
                   deadline: float, known: pool.Health | None = None,
                   suspects: list[tuple[Credential, str, str]] | None = None):
    """Try one (model, key). Return Opened, or (kind, error, until) where kind says what to do next."""
    cfg = settings.GATEWAY
    adapter = adapters.for_kind(model.provider.kind)
    url, headers, payload = adapter.chat_request(
        base_url=model.provider.base_url,
        api_key="" if cred.source == "provider" and cred.secret.startswith("provider:") else cred.secret,
        body=_upstream_body(body, model, stream),
    )
    headers.setdefault("HTTP-Referer", "https://github.com/llm-gateway")
    headers.setdefault("X-Title", "LLM Gateway")
    started = time.monotonic()
    attempt_deadline = min(deadline, started + cfg.upstream_timeout_s)

    suspects = [] if suspects is None else suspects

    def record(status: int | None, reason: str) -> None:
        attempts.append(Attempt(model.model_id, cred.masked, cred.account, status,
                                int((time.monotonic() - started) * 1000), reason))

    response: aiohttp.ClientResponse | None = None
    try:
        remaining = attempt_deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        response = await asyncio.wait_for(
            upstream.session().post(url, data=payload, headers=headers), timeout=remaining
        )
        if response.status == 200:
            if stream:
                events, rest = await _first_data_events(response, attempt_deadline)
                error = next((e for e in map(_event_error, events) if e), None)
                if error is not None:
                    response.release()
                    record(200, f"stream_error: {str(error.get('message', ''))[:120]}")
                    suspects.append((cred, model.model_id, "model"))
                    return "retry", ProxyError(502, f"Upstream failed: {error.get('message', 'stream error')}",
                                               code="upstream_error"), None
                record(200, "ok")
                await pool.note_success(cred, model.model_id, response.headers, known)
                return Opened(response, model, cred, adapter, events, rest)
            record(200, "ok")
            await pool.note_success(cred, model.model_id, response.headers, known)
            return Opened(response, model, cred, adapter)
        raw = await asyncio.wait_for(response.read(), timeout=max(attempt_deadline - time.monotonic(), 0.1))
        status = response.status
        message, metadata = adapter.error_message(raw)
        if status == 429:
            retry_after = _retry_after(response.headers)
            if retry_after is None and isinstance(metadata, dict) and metadata.get("retry_after_seconds") is not None:
                retry_after = float(metadata["retry_after_seconds"])
            scope, until = await pool.note_rate_limited(cred, model.model_id, message, response.headers, retry_after)
            record(429, scope)
            error = ProxyError(429, f"Upstream rate limited: {message}", code="upstream_rate_limited")
            return ("daily" if scope == "account_daily_quota" else "limited"), error, until
        if status == 404:
            record(404, "model_gone")
            return "gone", ProxyError(404, f"Model {model.model_id} is no longer served upstream.",
                                      code="model_not_found", param="model"), None
        if status in CLIENT_ERRORS or _is_context_length(message):
            record(status, "client_error")
            return "client", ProxyError(status if status in CLIENT_ERRORS else 400,
                                        f"Upstream rejected the request: {message}", code="upstream_bad_request"), None
        if status in (401, 403):
            record(status, "key_rejected")
            await pool.note_auth_failure(cred)
            return "next", ProxyError(502, "An upstream key was rejected.", code="upstream_auth"), None
        if status == 402:
            record(status, "key_out_of_credits")
            await pool.note_auth_failure(cred)
            return "next", ProxyError(502, "An upstream account is out of credits.", code="upstream_credits"), None
        record(status, "upstream_error")
        suspects.append((cred, model.model_id, "model"))
        code = 504 if status == 408 else 502
        return "retry", ProxyError(code, f"Upstream error {status}: {message}", code="upstream_error"), None
    except TimeoutError:
        if response is not None:
            response.close()
        record(None, "timeout")
        suspects.append((cred, model.model_id, "model"))
        return "retry", ProxyError(504, "The upstream did not answer in time.", code="upstream_timeout"), None
    except aiohttp.ClientError as exc:
        if response is not None:
            response.close()
        record(None, f"connect_error: {type(exc).__name__}")
        suspects.append((cred, model.model_id, "key"))
        return "retry", ProxyError(502, "Could not reach the upstream.", code="upstream_unreachable"), None
