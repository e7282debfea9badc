"""Bound every request body of the pages, the management API and the SSE endpoints, before anything reads it.

Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only counts form fields, and Channels'
consumers buffer whatever arrives, so a raw body of any size would be held in
memory before authentication. ``BodyLimit`` wraps those ASGI apps: a declared
``Content-Length`` past the limit is answered 413 at once, and a body that
streams past it (chunked, or longer than declared) is cut off: the app behind
sees the client leave, and the client gets the 413. The /v1 app bounds its own
bodies the same way (``chat.proxy.asgi_io``) and answers in the OpenAI shape.
"""

from __future__ import annotations

import orjson
from django.conf import settings

from gateway_project.errors import ApiError, api_exception_handler


def declared_length(headers: dict[bytes, bytes]) -> int | None:
    """The request's ``Content-Length`` as a number; None when it sent none or one that is not a number."""
    raw = headers.get(b"content-length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


def body_limit() -> int:
    """The largest body a page, REST or SSE request may send: Django's upload bound, else the /v1 one."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or settings.GATEWAY.max_body_bytes


async def send_too_large(send, limit: int) -> None:
    """Answer 413 in the management API's error shape and close the connection."""
    response = api_exception_handler(ApiError(f"The request body is larger than {limit} bytes.", status_code=413), {})
    body = orjson.dumps(response.data)
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: refuse a request body past ``body_limit()`` bytes with 413, reading no more of it."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit()
        declared = declared_length(dict(scope["headers"]))
        if declared is not None and declared > limit:
            await send_too_large(send, limit)
            return
        seen = 0
        cut = False
        started = False

        async def bounded_receive() -> dict:
            nonlocal seen, cut
            if cut:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    cut = True  # what the app has is dropped with it; it sees a client that left
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: dict) -> None:
            nonlocal started
            if cut and not started:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, bounded_receive, guarded_send)
        if cut and not started:
            await send_too_large(send, limit)
