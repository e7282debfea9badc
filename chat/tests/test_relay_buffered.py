"""The relay forwards events that were already read with the first event (a short stream can arrive in one read)."""

from __future__ import annotations

import asyncio

from accounts.principals import Principal
from chat.proxy.exchange import Exchange
from chat.proxy.relay import StreamState, relay_stream
from chat.proxy.router import Opened
from models_catalog.adapters.base import OpenAICompatible


class _Content:
    async def readany(self) -> bytes:
        return b""  # the upstream has nothing more: everything came in the first read


class _Response:
    content = _Content()

    def close(self) -> None:
        pass


def test_events_buffered_with_the_first_event_are_relayed():
    first = b'data: {"choices":[{"delta":{"role":"assistant","content":""}}]}\n\n'
    rest = (b'data: {"choices":[{"delta":{"content":"Hi"}}]}\n\n'
            b'data: {"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1}}\n\n'
            b"data: [DONE]\n\n")
    opened = Opened(response=_Response(), model=type("M", (), {"model_id": "m"})(), cred=None,
                    adapter=OpenAICompatible(), first_events=[first], buffered=rest)
    exchange = Exchange(request_id="req_1", principal=Principal(user_id=1, email="a@b", role="user"), body={},
                        source="api", stream=True, client_wants_usage=False)
    sent: list[bytes] = []

    async def emit(data: bytes) -> None:
        sent.append(data)

    state = StreamState(exchange.tokens, exchange.client_wants_usage)
    asyncio.run(relay_stream(opened, state, emit))
    out = b"".join(sent)
    assert b'"Hi"' in out and out.endswith(b"data: [DONE]\n\n")
    assert b"error" not in out
    assert state.error is None and exchange.tokens.completion == 1
