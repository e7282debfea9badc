"""The gateway as a Python API for in-process callers: the playground, the agent, the orchestrator.

Every call goes through the same steps as ``/v1/chat/completions`` (limits,
credits, routing, fallbacks, logs), with ``source`` naming the caller in the
request log. Failures raise ``ProxyError`` (status, message, code) before the
first chunk; a failure after it arrives as a final ``{"error": {...}}`` chunk.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import orjson

from accounts.principals import Principal
from chat.proxy import exchange as ex
from chat.proxy.errors import ProxyError
from chat.proxy.events import data_of
from chat.proxy.relay import relay_stream

__all__ = ["ProxyError", "complete", "stream"]


async def _admit(*, principal: Principal, body: dict, source: str) -> ex.Exchange:
    """Return the prepared exchange for ``body``; a refusal is logged, then raised."""
    started = time.monotonic()
    request_id = ex.new_request_id()
    try:
        return await ex.prepare(principal=principal, body=body, source=source, request_id=request_id)
    except ProxyError as error:
        ex.record_refusal(principal=principal, request_id=request_id, body=body, source=source, error=error,
                          started=started)
        raise


async def complete(*, principal: Principal, body: dict, source: str) -> dict:
    """Return the parsed chat.completion for ``body`` (``stream`` is forced off)."""
    exchange = await _admit(principal=principal, body={**body, "stream": False}, source=source)
    try:
        opened = await ex.open_upstream(exchange)
        _, parsed = await ex.read_whole(exchange, opened)
        if parsed is None:
            exchange.error = ProxyError(502, "The upstream answered something that is not JSON.", code="upstream_error")
            exchange.status = 502
            raise exchange.error
        parsed.setdefault("_gateway", {})["requestId"] = exchange.request_id
        return parsed
    except asyncio.CancelledError:
        exchange.disconnected = True  # the caller went away: the upstream request is dropped with us
        exchange.status = exchange.status or 499
        raise
    finally:
        await ex.finish(exchange)


async def stream(*, principal: Principal, body: dict, source: str) -> AsyncIterator[dict]:
    """Yield parsed chunks (OpenAI ``chat.completion.chunk`` dicts) as they arrive.

    The last chunk that carries ``usage`` is yielded too. Closing the iterator early
    (a client went away) cancels the upstream request and still logs the usage so far.
    """
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    exchange = await _admit(principal=principal, body=body, source=source)
    try:
        opened = await ex.open_upstream(exchange)
    except ProxyError:
        await ex.finish(exchange)
        raise
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def emit(data: bytes) -> None:
        await queue.put(data)

    async def run() -> None:
        try:
            await relay_stream(opened, exchange, emit)
        finally:
            await queue.put(None)

    task = asyncio.ensure_future(run())
    try:
        while True:
            data = await queue.get()
            if data is None:
                break
            for event in data.split(b"\n\n"):
                payload = data_of(event)
                if not payload or payload == b"[DONE]":
                    continue
                try:
                    chunk = orjson.loads(payload)
                except orjson.JSONDecodeError:
                    continue
                if isinstance(chunk, dict):
                    chunk.setdefault("_gateway", {})["requestId"] = exchange.request_id
                    yield chunk
    finally:
        if not task.done():
            exchange.disconnected = True
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        await ex.finish(exchange)
