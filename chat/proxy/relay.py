"""Relay an upstream SSE stream to the client, event by event, as it arrives.

Events are forwarded whole (an event is what ends in a blank line), never
re-encoded; the gateway reads the usage chunk for accounting and drops it when
the client did not ask for it (naive clients index ``choices[0]``). After the
first byte nothing can fall back: an upstream failure becomes one OpenAI-style
error event, then ``data: [DONE]``, and the stream ends. The relay reports what
happened (``StreamState``); the exchange's owner decides what that means.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import orjson
from django.conf import settings

from chat.proxy import metrics
from chat.proxy.errors import ProxyError
from chat.proxy.events import data_of, finish_reasons
from chat.proxy.router import Opened
from chat.proxy.tokens import TokenCount

DONE = b"data: [DONE]\n\n"
FINISH_REASON = b'"finish_reason"'


class StreamState:
    """What the relay saw: the end, an upstream failure, how many content events went out, and when the first.

    ``on_first_byte(at)`` is called once, as the first bytes reach the client (the trace's ``first_byte``).
    """

    def __init__(self, tokens: TokenCount, client_wants_usage: bool,
                 on_first_byte: Callable[[float], None] | None = None) -> None:
        self.tokens = tokens
        self.client_wants_usage = client_wants_usage
        self.on_first_byte = on_first_byte
        self.done = False
        self.failed = False
        self.content_events = 0
        self.first_byte_at: float | None = None
        self.finish_reasons: list[str] = []  # each choice's, as its last chunk says
        self.error: ProxyError | None = None


def sets_finish_reason(data: bytes) -> bool:
    """Whether a chunk gives a choice's ``finish_reason`` (a string; it is null on every other chunk), read
    without parsing the chunk. A quote inside a JSON string is escaped, so text cannot look like the key."""
    at = data.find(FINISH_REASON)
    while at >= 0:
        at += len(FINISH_REASON)
        if data[at:at + 8].lstrip(b": \t")[:1] == b'"':
            return True
        at = data.find(FINISH_REASON, at)
    return False


def inspect(event: bytes, state: StreamState) -> bytes | None:
    """Account for one event; return the bytes to forward (None to drop it). Only the few events that carry
    usage, an error or a finish reason are parsed."""
    data = data_of(event)
    if data is None:
        return event  # comments (keep-alives) pass; clients skip them
    if data == b"[DONE]":
        state.done = True
        return event
    if b'"usage"' in data or b'"error"' in data or sets_finish_reason(data):
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            return event
        if isinstance(parsed, dict):
            if parsed.get("error"):
                state.failed = True
                return event
            state.finish_reasons += finish_reasons(parsed)
            if parsed.get("usage"):
                state.tokens.note_usage(parsed["usage"], parsed.get("id"))
                if not parsed.get("choices") and not state.client_wants_usage:
                    return None
    state.content_events += 1
    return event


async def relay_stream(opened: Opened, state: StreamState, emit: Callable[[bytes], Awaitable[None]]) -> None:
    """Forward the stream through ``emit(bytes)`` until it ends; an upstream failure is kept in ``state.error``."""
    translate = opened.adapter.stream_translator(model=opened.model.model_id)
    idle = settings.GATEWAY.upstream_timeout_s

    async def forward(events: list[bytes]) -> None:
        out = []
        for event in events:
            for piece in translate(event) if translate else (event,):
                kept = inspect(piece, state)
                if kept is not None:
                    out.append(kept)
        if out:
            await emit(b"".join(out))
            if state.first_byte_at is None:  # the one test each batch of events already paid
                state.first_byte_at = time.monotonic()
                if state.on_first_byte is not None:
                    state.on_first_byte(state.first_byte_at)

    buffer = opened.buffered
    loop = asyncio.get_running_loop()
    metrics.stream_opened()
    try:
        await forward(opened.first_events)
        async with asyncio.timeout(None) as quiet:  # armed only while waiting on the upstream: the idle limit
            while True:
                if b"\n\n" in buffer:
                    *events, buffer = buffer.split(b"\n\n")
                    await forward([e + b"\n\n" for e in events if e])
                if state.done or state.failed:
                    break
                quiet.reschedule(loop.time() + idle)
                chunk = await opened.response.read_chunk()
                quiet.reschedule(None)
                if not chunk:
                    break
                buffer += chunk.replace(b"\r\n", b"\n")
        if state.failed:
            state.error = ProxyError(502, "The upstream failed mid-stream.", code="upstream_stream_error")
            await emit(DONE)
        elif not state.done:
            raise ConnectionError("upstream closed the stream early")
    except OSError as exc:  # TimeoutError and ConnectionError included
        message = "The upstream stopped responding mid-stream." if isinstance(exc, TimeoutError) else \
            "The upstream connection broke mid-stream."
        state.error = ProxyError(502, message, code="upstream_stream_error")
        await emit(state.error.sse_event() + DONE)
    finally:
        opened.response.close()
        metrics.stream_closed()
