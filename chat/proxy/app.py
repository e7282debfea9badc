"""The /v1 ASGI app: authenticate, dispatch, and adapt HTTP to the exchange (chat/proxy/exchange.py).

A bare ASGI callable rather than a Django view or a Channels consumer: it pays
neither the view stack nor a thread hop per request (docs/decisions/0001-hot-path.md).
"""

from __future__ import annotations

import logging

from django.conf import settings

from chat.proxy import auth, catalog_api, passthrough, paths, upstream
from chat.proxy import exchange as ex
from chat.proxy.asgi_io import encode_headers, read_body, refuse_declared_oversize, send_whole
from chat.proxy.cache import CachePolicy
from chat.proxy.errors import ProxyError
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
        async def load_body() -> dict:
            raw = await read_body(receive, settings.GATEWAY.max_body_bytes)
            return parse_json_object(raw, headers.get(b"content-type", b"").decode("latin-1"))

        await ex.serve(principal=principal, source="api", load_body=load_body, delivery=_HttpDelivery(send),
                       request_id=request_id, wait_disconnect=lambda: _wait_disconnect(receive),
                       cache_policy=CachePolicy.from_headers(headers))


class _HttpDelivery:
    """An exchange's answer as ASGI HTTP messages: one JSON body, or an SSE stream."""

    def __init__(self, send) -> None:
        self._send = send

    async def whole(self, exchange: ex.Exchange, raw: bytes, parsed: dict | None) -> None:
        await send_whole(self._send, 200, raw, exchange.gateway_headers())

    async def open_stream(self, exchange: ex.Exchange) -> None:
        head = {"cache-control": "no-cache", "x-accel-buffering": "no", **exchange.gateway_headers()}
        await self._send({
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/event-stream; charset=utf-8"), *encode_headers(head)],
        })

    async def stream_data(self, data: bytes) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": True})

    async def close_stream(self) -> None:
        await self._send({"type": "http.response.body", "body": b"", "more_body": False})


async def _wait_disconnect(receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
