"""The /v1 ASGI app: authenticate, dispatch, and adapt HTTP to the exchange (chat/proxy/exchange.py).

A bare ASGI callable rather than a Django view or a Channels consumer: it pays
neither the view stack nor a thread hop per request (docs/decisions/0001-hot-path.md).
"""

from __future__ import annotations

import logging
import time

from django.conf import settings

from chat.proxy import auth, capacity, catalog_api, cors, metrics, passthrough, paths, upstream
from chat.proxy import exchange as ex
from chat.proxy.asgi_io import encode_headers, read_body, refuse_declared_oversize, send_whole
from chat.proxy.cache import CachePolicy
from chat.proxy.errors import OPENAI, ProxyError
from chat.proxy.inbound import anthropic, completions, responses
from chat.proxy.overhead import HEADER as OVERHEAD_HEADER
from chat.proxy.overhead import overhead_ms
from chat.proxy.validation import parse_json_object

log = logging.getLogger(__name__)
# Inbound APIs translated to chat completions: route name -> the request's translator.
# Routes served as a chat completion through another API's translation (chat/proxy/inbound/), by route name.
_TRANSLATED = {"messages": lambda principal: anthropic.Inbound(), "responses": responses.Inbound,
               "completions": lambda principal: completions.Inbound()}


class ProxyApp:
    """Serve ``/v1/*``. ``in_flight`` counts requests being served by this process."""

    in_flight = 0

    async def startup(self) -> None:
        await capacity.refresh_at_startup()

    async def shutdown(self) -> None:
        from gateway_project import redis_pipe
        from gateway_project.shared_state import store

        await store().flush_charges()
        await redis_pipe.settle()  # every posted command (log rows, health samples) has its reply
        redis_pipe.close_pipe()
        await upstream.close()

    async def __call__(self, scope, receive, send) -> None:
        ProxyApp.in_flight += 1
        metrics.request_started()
        try:
            await self._serve(scope, receive, send)
        finally:
            ProxyApp.in_flight -= 1
            metrics.request_ended()

    async def _serve(self, scope, receive, send) -> None:
        started = time.monotonic()
        request_id = ex.new_request_id()
        headers = dict(scope["headers"])
        method = scope["method"]
        api = OPENAI
        if origin := cors.allowed_origin(headers):
            if cors.is_preflight(method, headers):
                await cors.answer_preflight(send, origin, headers, request_id)
                return
            send = cors.sending_with_cors(send, origin)
        counted, label = False, "unknown"  # the exchange and the pass-through record their own answers
        try:
            segments = paths.normalise(scope.get("raw_path") or scope["path"].encode())
            api = anthropic.api_of(segments)
            route, params = paths.match(method, segments)
            label = metrics.ROUTE_NAMES.get(route.name, "passthrough")
            refuse_declared_oversize(headers, settings.GATEWAY.max_body_bytes)  # before authentication
            principal = await auth.authenticate(headers)
            if route.name in ("chat_completions", "chat_completions_api"):
                counted = True
                await self._chat(scope, receive, send, headers, principal, request_id)
            elif route.name in _TRANSLATED:
                counted = True
                await self._chat(scope, receive, send, headers, principal, request_id,
                                 inbound=_TRANSLATED[route.name](principal))
            elif route.name == "embeddings":
                counted = True
                await self._chat(scope, receive, send, headers, principal, request_id, endpoint="embeddings")
            elif route.name == "messages_count_tokens":
                body = anthropic.count_tokens(await _load_json(receive, headers))
                await send_whole(send, 200, body, {"x-request-id": request_id, OVERHEAD_HEADER: overhead_ms(started)})
                metrics.answered(label, 200)
            elif route.name == "response_detail":
                body = await responses.retrieve(principal, params["response_id"])
                await send_whole(send, 200, body, {"x-request-id": request_id, OVERHEAD_HEADER: overhead_ms(started)})
                metrics.answered(label, 200)
            elif route.name == "models_list":
                body = await catalog_api.list_models(principal)
                await send_whole(send, 200, body, {"x-request-id": request_id, OVERHEAD_HEADER: overhead_ms(started)})
                metrics.answered("models", 200)
            elif route.name == "model_detail":
                body = await catalog_api.get_model(principal, params["id"])
                await send_whole(send, 200, body, {"x-request-id": request_id, OVERHEAD_HEADER: overhead_ms(started)})
                metrics.answered("models", 200)
            else:
                counted = True
                await passthrough.forward(scope, receive, send, principal, request_id, segments[1:])
        except ProxyError as error:
            if not counted:
                metrics.answered(label, error.status, error=error)
            await send_whole(send, error.status, error.body_for(api),
                             {"x-request-id": request_id, OVERHEAD_HEADER: overhead_ms(started), **error.headers})
        except ConnectionResetError:
            return

    async def _chat(self, scope, receive, send, headers, principal, request_id: str, endpoint: str = ex.ENDPOINT,
                    inbound=None) -> None:
        """Serve one exchange; ``inbound`` translates another API's body to chat and renders the answer back."""
        async def load_body() -> dict:
            body = await _load_json(receive, headers)
            return await inbound.chat_body(body) if inbound else body

        delivery = inbound.delivery(_HttpDelivery(send)) if inbound else _HttpDelivery(send)
        await ex.serve(principal=principal, source="api", load_body=load_body, delivery=delivery,
                       request_id=request_id, wait_disconnect=lambda: _wait_disconnect(receive),
                       endpoint=inbound.endpoint if inbound else endpoint,
                       cache_policy=CachePolicy.from_headers(headers))


async def _load_json(receive, headers) -> dict:
    raw = await read_body(receive, settings.GATEWAY.max_body_bytes)
    return parse_json_object(raw, headers.get(b"content-type", b"").decode("latin-1"))


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
