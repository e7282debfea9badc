"""SSE over POST for the playground: ``POST /api/conversations/{id}/messages/stream``.

Channels runs ``http_request`` to completion before it reads the next ASGI
message, so a consumer that streamed inside ``handle()`` would never hear the
client leave. ``StreamingHttpConsumer`` runs ``handle()`` as a task instead and
cancels it from ``disconnect()``, which Channels always calls: a client that
goes away (or presses stop) stops the upstream request at once.
"""

from __future__ import annotations

import asyncio
import logging

import orjson
from asgiref.sync import sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.http import AsyncHttpConsumer
from django.middleware.csrf import _does_token_match  # Django's own masked/unmasked token comparison

from accounts import principals
from accounts.principals import Principal
from chat import selectors
from chat.conversations import astream_turn
from chat.proxy.auth import _jwt_user_id, credential_from
from gateway_project.errors import ApiError

log = logging.getLogger(__name__)


def sse_event(event: str, data) -> bytes:
    """One server-sent event whose data is JSON."""
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class StreamingHttpConsumer(AsyncHttpConsumer):
    """An AsyncHttpConsumer whose ``handle()`` is cancelled when the client disconnects."""

    task: asyncio.Task | None = None

    async def http_request(self, message) -> None:
        if "body" in message:
            self.body.append(message["body"])
        if not message.get("more_body"):
            self.task = asyncio.ensure_future(self._run(b"".join(self.body)))

    async def _run(self, body: bytes) -> None:
        try:
            await self.handle(body)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("streaming consumer failed")

    async def disconnect(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()
            try:
                await self.task
            except asyncio.CancelledError:
                pass

    async def http_disconnect(self, message) -> None:
        await self.disconnect()
        raise StopConsumer()

    async def send_json(self, status: int, data: dict) -> None:
        await self.send_response(status, orjson.dumps(data), headers=[(b"content-type", b"application/json")])

    async def send_api_error(self, error: ApiError) -> None:
        """The management API's error shape, ``{"message", "extra"}``."""
        await self.send_json(error.status_code, {"message": error.message, "extra": error.extra})


def _session_csrf_ok(scope) -> bool:
    headers = dict(scope.get("headers") or [])
    cookies = scope.get("cookies") or {}
    token = headers.get(b"x-csrftoken", b"").decode("latin-1")
    secret = cookies.get("csrftoken", "")
    if len(secret) != 32 or len(token) not in (32, 64):
        return False
    try:
        return _does_token_match(token, secret)
    except Exception:  # a malformed token is simply a mismatch
        return False


async def principal_from_scope(scope) -> Principal:
    """Return the caller: a JWT bearer, or a logged-in session that sent its CSRF token; else raise 401/403."""
    token = credential_from(dict(scope.get("headers") or []))
    if token:
        user_id = _jwt_user_id(token)
        principal = await principals.aprincipal_for_user(user_id) if user_id is not None else None
        if principal is None:
            raise ApiError("The access token is invalid or expired.", status_code=401)
        return principal
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        raise ApiError("Authentication credentials were not provided.", status_code=401)
    if not _session_csrf_ok(scope):
        raise ApiError("CSRF check failed: send the X-CSRFToken header.", status_code=403)
    principal = await principals.aprincipal_for_user(user.id)
    if principal is None:
        raise ApiError("The account is disabled.", status_code=401)
    return principal


class ConversationStreamConsumer(StreamingHttpConsumer):
    """Answer one message as SSE: ``token`` (a JSON string), then ``done`` or ``error``."""

    async def handle(self, body: bytes) -> None:
        try:
            principal = await principal_from_scope(self.scope)
            conversation = await sync_to_async(selectors.conversation_get)(
                user_id=principal.user_id, conversation_id=int(self.scope["url_route"]["kwargs"]["conversation_id"])
            )
            if conversation is None:
                raise ApiError("Not found.", status_code=404)
            try:
                data = orjson.loads(body or b"{}")
            except orjson.JSONDecodeError:
                raise ApiError("The body must be JSON: {\"content\": \"...\"}.") from None
            content = data.get("content") if isinstance(data, dict) else None
            if not isinstance(content, str):
                raise ApiError("content is required.", extra={"param": "content"})
            events = astream_turn(principal=principal, conversation=conversation, content=content)
            first = await anext(events)
        except ApiError as error:
            await self.send_api_error(error)
            return
        await self.send_headers(headers=[
            (b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no"),
        ])
        try:
            await self.send_body(sse_event(*first), more_body=True)
            async for event in events:
                await self.send_body(sse_event(*event), more_body=True)
        finally:
            await events.aclose()
        await self.send_body(b"")
