"""Server-sent events over POST: the framing, and a Channels consumer that every SSE endpoint builds on.

A subclass of ``SseConsumer`` says how to read its input (``prepare``, which
raises ``ApiError`` for a 400) and what to stream (``events``, an async
iterator of ``(name, data)``). The base authenticates the caller (JWT bearer
or the session), answers 401/400 as ``{"message", "extra"}`` before any event,
and runs the stream in a task of its own so the consumer keeps reading its
ASGI channel: a client that goes away cancels the work at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import orjson
from channels.generic.http import AsyncHttpConsumer
from rest_framework.exceptions import APIException
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import AccessToken

from accounts.principals import Principal, aprincipal_for_user
from gateway_project.errors import ApiError, api_exception_handler

log = logging.getLogger(__name__)

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def sse_event(name: str, data: Any) -> bytes:
    """Return one SSE event: ``event: NAME``, ``data: JSON`` and the blank line that ends it."""
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS) + b"\n\n"


class SseConsumer(AsyncHttpConsumer):
    """An authenticated SSE endpoint over POST. Subclasses implement ``prepare`` and ``events``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._work: asyncio.Task | None = None
        self._responded = False

    # ------------------------------------------------------------ for subclasses

    async def prepare(self, *, principal: Principal, data: dict) -> Any:
        """Validate ``data`` and return what ``events`` needs; raise ``ApiError`` or a DRF ValidationError (400)."""
        raise NotImplementedError

    def events(self, *, principal: Principal, prepared: Any) -> AsyncIterator[tuple[str, dict]]:
        """Yield ``(event name, JSON-able data)`` pairs; the stream ends when the iterator does."""
        raise NotImplementedError

    # ------------------------------------------------------------ plumbing

    async def http_request(self, message: dict) -> None:
        """Collect the body, then serve it in a task so ``http.disconnect`` still reaches this consumer."""
        if "body" in message:
            self.body.append(message["body"])
        if not message.get("more_body") and self._work is None:
            self._work = asyncio.ensure_future(self._serve(b"".join(self.body)))
        # No StopConsumer here: the ASGI server sends ``http.disconnect`` once the response is complete
        # or the client has gone, and ``http_disconnect`` ends the consumer through ``disconnect()``.

    async def disconnect(self) -> None:
        """Cancel the stream if it is still running (the client went away) and wait for its cleanup."""
        work = self._work
        if work is not None and not work.done():
            work.cancel()
            try:
                await work
            except asyncio.CancelledError:
                pass

    async def _serve(self, body: bytes) -> None:
        try:
            await self.handle(body)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("SSE endpoint %s failed", self.scope.get("path"))
            if not self._responded:
                await self.send_error(ApiError("The gateway failed to answer this request.", status_code=500))

    async def handle(self, body: bytes) -> None:
        principal = await self.authenticate()
        if principal is None:
            await self.send_error(ApiError("Authentication credentials were not provided or are invalid.",
                                           status_code=401))
            return
        try:
            data = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            await self.send_error(ApiError("The body must be JSON."))
            return
        if not isinstance(data, dict):
            await self.send_error(ApiError("The body must be a JSON object."))
            return
        try:
            prepared = await self.prepare(principal=principal, data=data)
        except APIException as error:
            await self.send_error(error)
            return
        await self.send_headers(status=200, headers=SSE_HEADERS)
        await self.send_body(b": stream open\n\n", more_body=True)  # headers reach the client at once
        try:
            async for name, payload in self.events(principal=principal, prepared=prepared):
                await self.send_body(sse_event(name, payload), more_body=True)
        except Exception:
            log.exception("SSE stream %s failed", self.scope.get("path"))
            await self.send_body(sse_event("error", {"error": "The gateway failed to finish this answer.",
                                                     "status": 500}), more_body=True)
        await self.send_body(b"")

    async def send_headers(self, *, status: int = 200, headers=None) -> None:
        self._responded = True
        await super().send_headers(status=status, headers=headers)

    async def send_error(self, error: APIException) -> None:
        """Answer with the management API's error shape (made by its one exception handler)."""
        response = api_exception_handler(error, {})
        await self.send_response(response.status_code, orjson.dumps(response.data, option=orjson.OPT_NON_STR_KEYS),
                                 headers=[(b"content-type", b"application/json")])

    async def authenticate(self) -> Principal | None:
        """Return the caller's principal from a JWT bearer or the session, or None."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.scope.get("headers", [])}
        auth = headers.get("authorization", "")
        if auth:
            scheme, _, raw = auth.partition(" ")
            if scheme.lower() != "bearer" or not raw.strip():
                return None
            try:
                token = AccessToken(raw.strip())
            except TokenError:
                return None
            user_id = token.get(jwt_settings.USER_ID_CLAIM)
            return await aprincipal_for_user(int(user_id)) if user_id is not None else None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not _same_origin(headers):
            return None
        return await aprincipal_for_user(user.id)


def _same_origin(headers: dict[str, str]) -> bool:
    """Whether a cookie-authenticated POST comes from our own pages.

    Browsers send ``Origin`` on every cross-site POST, so refusing a foreign
    origin keeps another site from spending a signed-in user's credits.
    """
    origin = headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc.lower() == headers.get("host", "").lower()


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """Return the ``(event name, decoded data)`` pairs in an SSE text; the inverse of ``sse_event`` for clients."""
    events: list[tuple[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            events.append((name, orjson.loads("\n".join(data))))
    return events
