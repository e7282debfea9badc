"""Server-sent events: the framing, and a Channels consumer that every SSE endpoint builds on.

Endpoints answer POST (a body says what to stream) unless they set ``methods``
(the live trace streams answer GET, for the browser's ``EventSource``).

A subclass of ``SseConsumer`` says how to read its input (``prepare``, which
raises ``ApiError`` for a 400 or 404) and what to stream (``events``, an async
iterator of ``(name, data)``). The base authenticates the caller (see
``authenticate``), answers 401/403/400 as ``{"message", "extra"}`` before any
event, and runs the stream in a task of its own so the consumer keeps reading
its ASGI channel: a client that goes away cancels the work at once, and the
event iterator is closed so it can clean up.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import orjson
from channels.generic.http import AsyncHttpConsumer
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404
from django.middleware.csrf import CsrfViewMiddleware
from rest_framework.exceptions import APIException

from accounts.principals import Principal, aprincipal_for_jwt, arequire_principal
from gateway_project.errors import ApiError, api_exception_handler

log = logging.getLogger(__name__)

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class RawText(str):
    """Event data sent as it is, one ``data:`` line per line (HTML for the htmx SSE extension), not as JSON."""


def sse_event(name: str, data: Any) -> bytes:
    """Return one SSE event: ``event: NAME``, ``data: JSON`` (or a ``RawText`` as is) and the blank line that ends it."""
    if isinstance(data, RawText):
        body = b"\ndata: ".join(line.encode() for line in data.splitlines() or [""])
    else:
        body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)
    return b"event: " + name.encode() + b"\ndata: " + body + b"\n\n"


def error_data(message: str, status: int, code: str = "") -> dict:
    """The one shape of every SSE ``error`` event: ``{"message", "code", "status"}``."""
    return {"message": message, "code": code, "status": status}


class SseConsumer(AsyncHttpConsumer):
    """An authenticated SSE endpoint over POST. Subclasses implement ``prepare`` and ``events``."""

    methods: tuple[str, ...] = ("POST",)  # what gateway_project.routing sends here; GET for EventSource streams

    # The event sent when ``events`` fails after the stream has started.
    failure_event: tuple[str, dict] = ("error", error_data("The gateway failed to finish this answer.", 500))

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._work: asyncio.Task | None = None
        self._responded = False

    # ------------------------------------------------------------ for subclasses

    async def prepare(self, *, principal: Principal, data: dict) -> Any:
        """Validate ``data`` and return what ``events`` needs; raise ``ApiError`` or a DRF ValidationError."""
        raise NotImplementedError

    def events(self, *, principal: Principal, prepared: Any) -> AsyncIterator[tuple[str, Any]]:
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
        try:
            principal = await self.authenticate(body)
            prepared = await self.prepare(principal=principal, data=_json_object(body))
        except (APIException, Http404) as error:  # ApiError, a DRF ValidationError, or errors.found()'s Missing
            await self.send_error(error)
            return
        await self.send_headers(status=200, headers=SSE_HEADERS)
        await self.send_body(b": stream open\n\n", more_body=True)  # headers reach the client at once
        try:
            async with aclosing(self.events(principal=principal, prepared=prepared)) as events:
                async for name, payload in events:
                    await self.send_body(sse_event(name, payload), more_body=True)
        except Exception:
            log.exception("SSE stream %s failed", self.scope.get("path"))
            await self.send_body(sse_event(*self.failure_event), more_body=True)
        await self.send_body(b"")

    async def send_headers(self, *, status: int = 200, headers=None) -> None:
        self._responded = True
        await super().send_headers(status=status, headers=headers)

    async def send_error(self, error: APIException | Http404) -> None:
        """Answer with the management API's error shape (made by its one exception handler)."""
        response = api_exception_handler(error, {})
        await self.send_response(response.status_code, orjson.dumps(response.data, option=orjson.OPT_NON_STR_KEYS),
                                 headers=[(b"content-type", b"application/json")])

    async def authenticate(self, body: bytes) -> Principal:
        """Return the caller's principal; raise ``ApiError`` 401 (no or bad credentials) or 403 (CSRF).

        A caller is a JWT bearer, or a logged-in session whose request passes
        Django's own CSRF check (the ``X-CSRFToken`` header, and a same-site
        ``Origin`` when the browser sends one), as for every form of our pages.
        """
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in self.scope.get("headers", [])}
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme:
            bearer = token.strip() if scheme.lower() == "bearer" else ""
            principal = await aprincipal_for_jwt(bearer) if bearer else None
            if principal is None:
                raise ApiError("The access token is invalid or expired.", status_code=401)
            return principal
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            raise ApiError("Authentication credentials were not provided.", status_code=401)
        if not csrf_passes(self.scope, body):
            raise ApiError("CSRF check failed: send the X-CSRFToken header from a page of this site.",
                           status_code=403)
        return await arequire_principal(user.id)


def csrf_passes(scope: dict, body: bytes) -> bool:
    """Return whether a request passes ``CsrfViewMiddleware``, exactly as a Django view behind it would."""
    request = ASGIRequest(scope, io.BytesIO(body))
    check = CsrfViewMiddleware(lambda request: None)
    try:
        check.process_request(request)
        return check.process_view(request, None, (), {}) is None
    except DisallowedHost:
        return False


def _json_object(body: bytes) -> dict:
    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise ApiError("The body must be JSON.") from None
    if not isinstance(data, dict):
        raise ApiError("The body must be a JSON object.")
    return data
