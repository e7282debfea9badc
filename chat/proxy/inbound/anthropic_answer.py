"""A chat-completions answer back in Anthropic's Messages shape: the whole message, or its event stream.

``AnthropicDelivery`` wraps the transport's own ``Delivery``: a whole answer is
rewritten into one ``message``; a stream of ``chat.completion.chunk`` events is
rewritten, as it arrives, into ``message_start``, ``ping``,
``content_block_start`` / ``content_block_delta`` (``text_delta``,
``input_json_delta``) / ``content_block_stop``, ``message_delta`` (stop reason
and usage) and ``message_stop``. An upstream's keep-alive comment becomes a
``ping``; a failure mid-stream becomes one Anthropic ``error`` event and the
stream ends there, as Anthropic's does.
"""

from __future__ import annotations

import secrets

import orjson

from chat.proxy import exchange as ex
from chat.proxy.errors import ANTHROPIC, ProxyError
from chat.proxy.events import data_of
from chat.proxy.tokens import estimate_prompt

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "function_call": "tool_use",
                "content_filter": "refusal"}


def _stop_reason(finish: object) -> str:
    return STOP_REASONS.get(finish, "end_turn") if isinstance(finish, str) else "end_turn"


def _message_id(exchange: ex.Exchange) -> str:
    return "msg_" + exchange.request_id.removeprefix("req_")


def _input(arguments: object) -> dict:
    """A tool call's JSON arguments as the object Anthropic's ``input`` must be."""
    if isinstance(arguments, dict):
        return arguments
    try:
        parsed = orjson.loads(arguments) if isinstance(arguments, str) and arguments.strip() else {}
    except orjson.JSONDecodeError:
        return {"arguments": arguments}
    return parsed if isinstance(parsed, dict) else {"value": parsed}


def _usage(exchange: ex.Exchange) -> dict:
    return {"input_tokens": exchange.tokens.prompt, "output_tokens": exchange.tokens.completion,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def message_from(answer: dict, exchange: ex.Exchange) -> dict:
    """The Anthropic ``message`` for a whole chat completion (its tokens already counted on ``exchange``)."""
    choices = answer.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    reply = choice.get("message") if isinstance(choice.get("message"), dict) else {}
    content: list[dict] = []
    if isinstance(reply.get("content"), str) and reply["content"]:
        content.append({"type": "text", "text": reply["content"]})
    for call in reply.get("tool_calls") or []:
        if not isinstance(call, dict):
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        content.append({"type": "tool_use", "id": call.get("id") or "toolu_" + secrets.token_hex(12),
                        "name": function.get("name") or "", "input": _input(function.get("arguments"))})
    if not content:
        content.append({"type": "text", "text": ""})
    finish = choice.get("finish_reason")
    return {"id": _message_id(exchange), "type": "message", "role": "assistant",
            "model": exchange.model_used or exchange.requested_model, "content": content,
            "stop_reason": "tool_use" if reply.get("tool_calls") and finish != "length" else _stop_reason(finish),
            "stop_sequence": None, "usage": _usage(exchange)}


def _event(name: str, data: dict) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps({"type": name, **data}) + b"\n\n"


class StreamTranslator:
    """Rewrites one exchange's chunk stream into Anthropic's events; fed whole SSE events, in order."""

    def __init__(self, exchange: ex.Exchange) -> None:
        self.exchange = exchange
        self.index = -1  # the open content block's index, or the last one's
        self.open: str | None = None  # "text" or "tool_use"
        self.tool_index: int | None = None
        self.tool_id: str | None = None
        self.stop_reason = "end_turn"
        self.usage: dict | None = None
        self.deltas = 0
        self.ended = False

    def start(self) -> bytes:
        exchange = self.exchange
        message = {"id": _message_id(exchange), "type": "message", "role": "assistant",
                   "model": exchange.model_used or exchange.requested_model, "content": [], "stop_reason": None,
                   "stop_sequence": None,
                   "usage": {"input_tokens": estimate_prompt(exchange.body or {}), "output_tokens": 1,
                             "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}
        return _event("message_start", {"message": message}) + _event("ping", {})

    def feed(self, data: bytes) -> bytes:
        out: list[bytes] = []
        for event in data.split(b"\n\n"):
            if self.ended or not event.strip():
                continue
            payload = data_of(event)
            if payload is None:
                out.append(_event("ping", {}))  # a keep-alive comment
            elif payload == b"[DONE]":
                out.append(self.finish())
            else:
                out.extend(self._chunk(payload))
        return b"".join(out)

    def _chunk(self, payload: bytes) -> list[bytes]:
        try:
            chunk = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return []
        if not isinstance(chunk, dict):
            return []
        if chunk.get("error"):
            return [self._error(chunk["error"])]
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        out: list[bytes] = []
        for choice in (chunk.get("choices") or [])[:1]:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict):
                if isinstance(delta.get("content"), str) and delta["content"]:
                    out.extend(self._text(delta["content"]))
                for call in delta.get("tool_calls") or []:
                    if isinstance(call, dict):
                        out.extend(self._tool(call))
            if isinstance(choice, dict) and choice.get("finish_reason"):
                self.stop_reason = _stop_reason(choice["finish_reason"])
        return out

    def _close(self) -> list[bytes]:
        if self.open is None:
            return []
        self.open = None
        return [_event("content_block_stop", {"index": self.index})]

    def _begin(self, block: dict) -> list[bytes]:
        out = self._close()
        self.index += 1
        self.open = block["type"]
        return [*out, _event("content_block_start", {"index": self.index, "content_block": block})]

    def _text(self, text: str) -> list[bytes]:
        out = [] if self.open == "text" else self._begin({"type": "text", "text": ""})
        self.deltas += 1
        return [*out, _event("content_block_delta",
                             {"index": self.index, "delta": {"type": "text_delta", "text": text}})]

    def _tool(self, call: dict) -> list[bytes]:
        out: list[bytes] = []
        position = call.get("index", 0)
        call_id = call.get("id")
        function = call.get("function") if isinstance(call.get("function"), dict) else {}
        if self.open != "tool_use" or position != self.tool_index or (call_id and call_id != self.tool_id):
            self.tool_index, self.tool_id = position, call_id or "toolu_" + secrets.token_hex(12)
            out += self._begin({"type": "tool_use", "id": self.tool_id, "name": function.get("name") or "",
                                "input": {}})
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            self.deltas += 1
            out.append(_event("content_block_delta", {"index": self.index,
                                                      "delta": {"type": "input_json_delta", "partial_json": arguments}}))
        return out

    def _error(self, error: object) -> bytes:
        self.ended = True
        message = error.get("message") if isinstance(error, dict) else None
        failure = ProxyError(502, message if isinstance(message, str) else "The upstream failed mid-stream.")
        return failure.sse_event_for(ANTHROPIC)

    def finish(self) -> bytes:
        """Close the open block and end the message (nothing after an error event)."""
        if self.ended:
            return b""
        self.ended = True
        usage = self.usage or {}
        tokens = self.exchange.tokens
        prompt = int(usage.get("prompt_tokens") or tokens.prompt or estimate_prompt(self.exchange.body or {}))
        completion = int(usage.get("completion_tokens") or tokens.completion or max(self.deltas, 1))
        out = self._close()
        out.append(_event("message_delta", {"delta": {"stop_reason": self.stop_reason, "stop_sequence": None},
                                            "usage": {"input_tokens": prompt, "output_tokens": completion}}))
        out.append(_event("message_stop", {}))
        return b"".join(out)


class AnthropicDelivery:
    """A ``Delivery`` that speaks Anthropic's Messages API over another one (the HTTP transport's)."""

    def __init__(self, inner: ex.Delivery) -> None:
        self._inner = inner
        self._stream: StreamTranslator | None = None

    async def whole(self, exchange: ex.Exchange, raw: bytes, parsed: dict | None) -> None:
        if parsed is None:
            raise ProxyError(502, "The upstream answered something that is not JSON.", code="upstream_error")
        message = message_from(parsed, exchange)
        await self._inner.whole(exchange, orjson.dumps(message), message)

    async def open_stream(self, exchange: ex.Exchange) -> None:
        self._stream = StreamTranslator(exchange)
        await self._inner.open_stream(exchange)
        await self._inner.stream_data(self._stream.start())

    async def stream_data(self, data: bytes) -> None:
        out = self._stream.feed(data)
        if out:
            await self._inner.stream_data(out)

    async def close_stream(self) -> None:
        tail = self._stream.finish()
        if tail:
            await self._inner.stream_data(tail)
        await self._inner.close_stream()
