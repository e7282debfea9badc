"""The /v1 ASGI app: authenticate, validate, admit, route, relay, settle, record.

A bare ASGI callable rather than a Django view or a Channels consumer: it pays
neither the view stack nor a thread hop per request (docs/decisions/0001-hot-path.md).
"""

from __future__ import annotations

import asyncio
import logging
import time

from django.conf import settings

from chat.proxy import auth, catalog_api, passthrough, paths, upstream
from chat.proxy import exchange as ex
from chat.proxy.asgi_io import encode_headers, read_body, refuse_declared_oversize, send_whole
from chat.proxy.errors import ProxyError
from chat.proxy.relay import relay_stream
from chat.proxy.validation import parse_json_object

log = logging.getLogger(__name__)


class ProxyApp:
    """Serve ``/v1/*``. ``in_flight`` counts requests being served by this process."""

    in_flight = 0

    async def startup(self) -> None:
        upstream.session()

    async def shutdown(self) -> None:
        from chat.proxy.state import store

        await store().flush_charges()
        await upstream.close()

    async def __call__(self, scope, receive, send) -> None:
        ProxyApp.in_flight += 1
        try:
            await self._serve(scope, receive, send)
        finally:
            ProxyApp.in_flight -= 1

    async def _serve(self, scope, receive, send) -> None:
        request_id = ex.new_request_id()
        headers = dict(scope["headers"])
        method = scope["method"]
        try:
            segments = paths.normalise(scope.get("raw_path") or scope["path"].encode())
            route, params = paths.match(method, segments)
            refuse_declared_oversize(headers, settings.GATEWAY.max_body_bytes)  # before authentication
            principal = await auth.authenticate(headers)
            if route.name in ("chat_completions", "chat_completions_api"):
                await self._chat(scope, receive, send, headers, principal, request_id)
            elif route.name == "models_list":
                await send_whole(send, 200, await catalog_api.list_models(principal), {"x-request-id": request_id})
            elif route.name == "model_detail":
                body = await catalog_api.get_model(principal, params["id"])
                await send_whole(send, 200, body, {"x-request-id": request_id})
            else:
                await passthrough.forward(scope, receive, send, principal, request_id, segments[1:])
        except ProxyError as error:
            await send_whole(send, error.status, error.body(), {"x-request-id": request_id, **error.headers})
        except ConnectionResetError:
            return

    async def _chat(self, scope, receive, send, headers, principal, request_id: str) -> None:
        from django.conf import settings

        started = time.monotonic()
        body = None
        try:
            raw = await read_body(receive, settings.GATEWAY.max_body_bytes)
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            body = parse_json_object(raw, content_type)
            exchange = await ex.prepare(principal=principal, body=body, source="api", request_id=request_id)
        except ProxyError as error:
            ex.record_refusal(principal=principal, request_id=request_id, body=body, source="api", error=error,
                              started=started)
            raise
        try:
            opened = await ex.open_upstream(exchange)
        except ProxyError:
            await ex.finish(exchange)
            raise
        try:
            if exchange.stream:
                await self._stream(receive, send, exchange, opened)
            else:
                await self._whole(send, exchange, opened)
        finally:
            await ex.finish(exchange)

    async def _whole(self, send, exchange: ex.Exchange, opened) -> None:
        raw, _ = await ex.read_whole(exchange, opened)
        await send_whole(send, 200, raw, exchange.gateway_headers())

    async def _stream(self, receive, send, exchange: ex.Exchange, opened) -> None:
        head = {"cache-control": "no-cache", "x-accel-buffering": "no", **exchange.gateway_headers()}
        await send({
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream; charset=utf-8"), *encode_headers(head)],
        })
        exchange.status = 200

        async def emit(data: bytes) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": True})

        relay = asyncio.ensure_future(relay_stream(opened, exchange, emit))
        watcher = asyncio.ensure_future(_wait_disconnect(receive))
        done, _ = await asyncio.wait({relay, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if watcher in done and relay not in done:
            exchange.disconnected = True
            relay.cancel()  # closing the upstream response cancels the upstream request
            try:
                await relay
            except asyncio.CancelledError:
                pass
            return
        watcher.cancel()
        relay.result()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _wait_disconnect(receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
