"""``POST /v1/responses`` and ``GET /v1/responses/{id}``: OpenAI's Responses API over the gateway's one chat path.

The request becomes a chat completion (``responses_request``) after the stored
history of ``previous_response_id``, and is served by ``chat.proxy.exchange.serve``
with ``endpoint="responses"``: the same admission, routing, fallbacks, limits,
accounting and log row as chat. This module's ``Delivery`` renders the chat
answer as a Response object, or the chat stream as the Responses event
sequence (``responses_render``), and stores the response, unless the request
said ``store: false``, before its answer or terminal event goes out
(``responses_store``).
"""

from __future__ import annotations

import logging

import orjson

from accounts.principals import Principal
from chat.proxy import exchange as ex
from chat.proxy.errors import ProxyError
from chat.proxy.inbound import responses_store
from chat.proxy.inbound.responses_render import Rendered, ResponsesStream, from_chat
from chat.proxy.inbound.responses_request import to_chat
from chat.proxy.inbound.sse import chat_events, is_done

ENDPOINT = "responses"
log = logging.getLogger(__name__)


def _not_found(response_id: str, param: str | None) -> ProxyError:
    return ProxyError(404, f"No stored response with id {response_id[:100]!r} (unknown, expired, not stored, or "
                      "another user's).", code="response_not_found", param=param, type="invalid_request_error")


async def retrieve(principal: Principal, response_id: str) -> bytes:
    """The stored Response object of ``principal``'s ``response_id``, as a non-stream create returned it."""
    found = await responses_store.load(principal, response_id)
    if found is None:
        raise _not_found(response_id, None)
    return orjson.dumps(found[0])


class Inbound:
    """One Responses request: its chat body (history included) and its delivery."""

    endpoint = ENDPOINT

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.request: dict = {}
        self.history: list[dict] = []  # the conversation up to this turn's answer, as chat messages

    async def chat_body(self, body: dict) -> dict:
        if body.get("store") is not None and not isinstance(body["store"], bool):
            raise ProxyError(400, "store must be true or false.", code="invalid_type", param="store")
        if body.get("max_output_tokens") is not None and (
                isinstance(body["max_output_tokens"], bool) or not isinstance(body["max_output_tokens"], int)):
            raise ProxyError(400, "max_output_tokens must be an integer.", code="invalid_type",
                             param="max_output_tokens")
        history: list[dict] = []
        previous = body.get("previous_response_id")
        if previous is not None:
            found = await responses_store.load(self.principal, previous) if isinstance(previous, str) else None
            if found is None:
                raise _not_found(str(previous), "previous_response_id")
            history = found[1]
        chat, new = to_chat(body, history)
        self.request, self.history = body, history + new
        return chat

    @property
    def stores(self) -> bool:
        return self.request.get("store") is not False

    async def save(self, rendered: Rendered, *, streaming: bool = False) -> None:
        """Store ``rendered`` unless the request said ``store: false``. Mid-stream nothing can be refused any more:
        a store that cannot be reached is logged, and the answer still goes out."""
        if not self.stores:
            return
        try:
            await responses_store.save(self.principal, rendered.obj(), self.history + rendered.assistant_messages())
        except ProxyError:
            if not streaming:
                raise
            log.warning("response %s could not be stored", rendered.id)

    def delivery(self, inner: ex.Delivery) -> ex.Delivery:
        return _ResponsesDelivery(self, inner)


class _ResponsesDelivery:
    def __init__(self, inbound: Inbound, inner: ex.Delivery) -> None:
        self._inbound = inbound
        self._inner = inner
        self._stream: ResponsesStream | None = None

    async def whole(self, exchange: ex.Exchange, raw: bytes, parsed: dict | None) -> None:
        if parsed is None:
            raise ProxyError(502, "The upstream answered something that is not JSON.", code="upstream_error")
        rendered = from_chat(Rendered(self._inbound.request, exchange.model_used), parsed)
        await self._inbound.save(rendered)
        answer = rendered.obj()
        await self._inner.whole(exchange, orjson.dumps(answer), answer)

    async def open_stream(self, exchange: ex.Exchange) -> None:
        await self._inner.open_stream(exchange)
        self._stream = ResponsesStream(Rendered(self._inbound.request, exchange.model_used))
        await self._inner.stream_data(self._stream.start())

    async def stream_data(self, data: bytes) -> None:
        stream = self._stream
        out = []
        for event, parsed in chat_events(data):
            if stream.ended:
                break
            if parsed is not None:
                out.append(stream.chunk(parsed))
            elif is_done(event):
                out.append(stream.completed())
            elif event.startswith(b":"):
                out.append(event)  # keep-alive comments; SDKs skip them
            if stream.ended:
                await self._inbound.save(stream.r, streaming=True)  # stored before the terminal event goes out
        await self._inner.stream_data(b"".join(out))

    async def close_stream(self) -> None:
        stream = self._stream
        if stream is not None and not stream.ended:
            ending = stream.close_items() + stream.failed("The upstream stream ended without finishing.")
            await self._inbound.save(stream.r, streaming=True)
            await self._inner.stream_data(ending)
        await self._inner.close_stream()
