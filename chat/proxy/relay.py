"""Relay an upstream SSE stream to the client, event by event, as it arrives.

Events are forwarded whole (an event is what ends in a blank line), never
re-encoded; the gateway reads the usage chunk for accounting and drops it when
the client did not ask for it (naive clients index ``choices[0]``). After the
first byte nothing can fall back: an upstream failure becomes one OpenAI-style
error event, then ``data: [DONE]``, and the stream ends.
"""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
from django.conf import settings

from chat.proxy.errors import ProxyError
from chat.proxy.events import data_of
from chat.proxy.exchange import Exchange, note_usage
from chat.proxy.router import Opened

DONE = b"data: [DONE]\n\n"


class StreamState:
    def __init__(self) -> None:
        self.done = False
        self.failed = False
        self.content_events = 0


def inspect(event: bytes, exchange: Exchange, state: StreamState) -> bytes | None:
    """Account for one event; return the bytes to forward (None to drop it)."""
    data = data_of(event)
    if data is None:
        return event  # comments (keep-alives) pass; clients skip them
    if data == b"[DONE]":
        state.done = True
        return event
    if b'"usage"' in data or b'"error"' in data:
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            return event
        if isinstance(parsed, dict):
            if parsed.get("error"):
                state.failed = True
                return event
            if parsed.get("usage"):
                note_usage(exchange, parsed["usage"])
                if not parsed.get("choices") and not exchange.client_wants_usage:
                    return None
    state.content_events += 1
    return event


async def relay_stream(opened: Opened, exchange: Exchange, emit) -> None:
    """Forward the stream through ``emit(bytes)`` until it ends; never raises for upstream failures."""
    translate = opened.adapter.stream_translator(model=opened.model.model_id)
    state = StreamState()
    idle = settings.GATEWAY.upstream_timeout_s

    async def forward(events: list[bytes]) -> None:
        out = []
        for event in events:
            for piece in translate(event) if translate else (event,):
                kept = inspect(piece, exchange, state)
                if kept is not None:
                    out.append(kept)
        if out:
            await emit(b"".join(out))
            exchange.mark_first_byte()

    buffer = opened.buffered
    try:
        await forward(opened.first_events)
        while True:
            if b"\n\n" in buffer:
                *events, buffer = buffer.split(b"\n\n")
                await forward([e + b"\n\n" for e in events if e])
            if state.done or state.failed:
                break
            chunk = await asyncio.wait_for(opened.response.content.readany(), timeout=idle)
            if not chunk:
                break
            buffer += chunk.replace(b"\r\n", b"\n")
        if state.failed:
            exchange.status = 200
            exchange.error = ProxyError(502, "The upstream failed mid-stream.", code="upstream_stream_error")
            await emit(DONE)
        elif not state.done:
            raise ConnectionError("upstream closed the stream early")
    except (TimeoutError, ConnectionError, OSError, aiohttp.ClientError) as exc:
        message = "The upstream stopped responding mid-stream." if isinstance(exc, TimeoutError) else \
            "The upstream connection broke mid-stream."
        error = ProxyError(502, message, code="upstream_stream_error")
        exchange.error = error
        await emit(error.sse_event() + DONE)
    finally:
        opened.response.close()
        if not exchange.usage_reported:
            exchange.completion_tokens = state.content_events  # about one token per chunk upstream
        exchange.status = exchange.status or 200
