"""The gateway as a Python API for in-process callers: the playground, the agent, the orchestrator.

Every call is one exchange (``chat.proxy.exchange.serve``), exactly as for
``/v1/chat/completions``: limits, credits, routing, fallbacks, logs, with
``source`` naming the caller in the request log. This module only adapts the
answer to Python: a dict, or an async iterator of chunk dicts. Failures raise
``ProxyError`` (status, message, code) before the first chunk; a failure after
it arrives as a final ``{"error": {...}}`` chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import orjson

from accounts.principals import Principal
from chat.proxy import exchange as ex
from chat.proxy.errors import ProxyError
from chat.proxy.events import data_of

__all__ = ["ProxyError", "complete", "stream", "worth_next_model"]


class _Answer:
    """Collects what an exchange delivers: the parsed whole answer, or the stream's events on a queue."""

    def __init__(self) -> None:
        self.parsed: dict | None = None
        self.request_id = ""
        self.events: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def whole(self, exchange: ex.Exchange, raw: bytes, parsed: dict | None) -> None:
        if parsed is None:
            raise ProxyError(502, "The upstream answered something that is not JSON.", code="upstream_error")
        parsed.setdefault("_gateway", {})["requestId"] = exchange.request_id
        self.parsed = parsed

    async def open_stream(self, exchange: ex.Exchange) -> None:
        self.request_id = exchange.request_id

    async def stream_data(self, data: bytes) -> None:
        await self.events.put(data)

    async def close_stream(self) -> None:
        return None


def worth_next_model(error: ProxyError) -> bool:
    """Whether another model may succeed where this one failed (rate limits, gone models, upstream faults).

    The rule of every in-process caller that tries its models in turn (the agent, the synthesis).
    """
    return error.status in (404, 408, 429) or error.status >= 500


async def complete(*, principal: Principal, body: dict, source: str) -> dict:
    """Return the parsed chat.completion for ``body`` (``stream`` is forced off)."""
    answer = _Answer()

    async def load_body() -> dict:
        return {**body, "stream": False}

    await ex.serve(principal=principal, source=source, load_body=load_body, delivery=answer)
    return answer.parsed


async def stream(*, principal: Principal, body: dict, source: str) -> AsyncIterator[dict]:
    """Yield parsed chunks (OpenAI ``chat.completion.chunk`` dicts) as they arrive.

    The last chunk that carries ``usage`` is yielded too. Closing the iterator early
    (a client went away) cancels the upstream request and still logs the usage so far.
    """
    answer = _Answer()

    async def load_body() -> dict:
        return {**body, "stream": True, "stream_options": {"include_usage": True}}

    async def run() -> None:
        try:
            await ex.serve(principal=principal, source=source, load_body=load_body, delivery=answer)
        finally:
            await answer.events.put(None)

    task = asyncio.ensure_future(run())
    try:
        while (data := await answer.events.get()) is not None:
            for chunk in _chunks(data):
                chunk.setdefault("_gateway", {})["requestId"] = answer.request_id
                yield chunk
        await task  # a refusal or a failure before the first chunk: raise it here
    finally:
        if not task.done():
            task.cancel()  # the exchange settles as disconnected
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _chunks(data: bytes) -> list[dict]:
    chunks = []
    for event in data.split(b"\n\n"):
        payload = data_of(event)
        if not payload or payload == b"[DONE]":
            continue
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            continue
        if isinstance(chunk, dict):
            chunks.append(chunk)
    return chunks
