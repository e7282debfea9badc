"""``POST /v1/completions`` (OpenAI's legacy completions): a prompt in, ``text_completion`` out, streamed too.

The request becomes a chat completion with the prompt as the one user message,
so every provider of the catalog serves it and it takes the same admission,
routing, fallbacks and accounting as chat (``chat.proxy.exchange.serve`` with
``endpoint="completions"``). The answer, whole or each stream chunk, is
re-rendered as ``text_completion``; usage chunks keep their shape, and a
mid-stream failure stays the ``{"error": {...}}`` event then ``[DONE]``, which
the OpenAI SDK raises as ``APIError``.
"""

from __future__ import annotations

import secrets

import orjson

from chat.proxy import exchange as ex
from chat.proxy.errors import ProxyError
from chat.proxy.inbound.sse import chat_events

ENDPOINT = "completions"
# Copied as they are: the chat request takes the same names and meanings.
_COPIED = ("model", "models", "max_tokens", "temperature", "top_p", "n", "stop", "stream", "stream_options",
           "presence_penalty", "frequency_penalty", "seed", "user", "logit_bias")


def _bad(message: str, param: str, code: str = "invalid_value") -> ProxyError:
    return ProxyError(400, message, param=param, code=code)


def _prompt(body: dict) -> str:
    prompt = body.get("prompt")
    if isinstance(prompt, list) and len(prompt) == 1 and isinstance(prompt[0], str):
        prompt = prompt[0]
    if isinstance(prompt, list):
        raise _bad("prompt must be one string (or a list holding one string); send one request per prompt.",
                   "prompt", "unsupported_value")
    if not isinstance(prompt, str) or not prompt:
        raise _bad("prompt is required: a non-empty string.", "prompt", "missing_required_parameter")
    return prompt


def to_chat(body: dict) -> dict:
    """The chat request for a legacy completions ``body``; raise a 400 for what has no chat equivalent."""
    prompt = _prompt(body)
    if body.get("echo"):
        raise _bad("echo is not supported: the prompt is not repeated in the answer.", "echo", "unsupported_value")
    if body.get("suffix"):
        raise _bad("suffix is not supported (no insertion models behind this gateway).", "suffix",
                   "unsupported_value")
    best_of = body.get("best_of")
    if best_of is not None and best_of != 1 and best_of != body.get("n", 1):
        raise _bad("best_of is not supported; use n.", "best_of", "unsupported_value")
    chat = {name: body[name] for name in _COPIED if name in body}
    chat["messages"] = [{"role": "user", "content": prompt}]
    return chat


class Inbound:
    """One legacy completions request: its chat body and its delivery."""

    endpoint = ENDPOINT

    async def chat_body(self, body: dict) -> dict:
        return to_chat(body)

    def delivery(self, inner: ex.Delivery) -> ex.Delivery:
        return _CompletionsDelivery(inner)


def _choices(choices: list, whole: bool) -> list[dict]:
    out = []
    for choice in choices or []:
        if not isinstance(choice, dict):
            continue
        part = (choice.get("message") if whole else choice.get("delta")) or {}
        out.append({"text": part.get("content") or "", "index": choice.get("index", 0), "logprobs": None,
                    "finish_reason": choice.get("finish_reason")})
    return out


def render(chat: dict, completion_id: str) -> dict:
    """A ``chat.completion`` (or chunk) as a ``text_completion``."""
    whole = chat.get("object") != "chat.completion.chunk"
    rendered = {"id": completion_id, "object": "text_completion", "created": chat.get("created", 0),
                "model": chat.get("model", ""), "choices": _choices(chat.get("choices"), whole)}
    if chat.get("usage"):
        rendered["usage"] = chat["usage"]
    return rendered


class _CompletionsDelivery:
    def __init__(self, inner: ex.Delivery) -> None:
        self._inner = inner
        self._id = "cmpl-" + secrets.token_hex(12)

    async def whole(self, exchange: ex.Exchange, raw: bytes, parsed: dict | None) -> None:
        if parsed is None:
            raise ProxyError(502, "The upstream answered something that is not JSON.", code="upstream_error")
        rendered = render(parsed, self._id)
        await self._inner.whole(exchange, orjson.dumps(rendered), rendered)

    async def open_stream(self, exchange: ex.Exchange) -> None:
        await self._inner.open_stream(exchange)

    async def stream_data(self, data: bytes) -> None:
        out = []
        for event, parsed in chat_events(data):
            if parsed is None or parsed.get("error"):
                out.append(event)  # comments, [DONE] and error events keep their shape
            else:
                out.append(b"data: " + orjson.dumps(render(parsed, self._id)) + b"\n\n")
        await self._inner.stream_data(b"".join(out))

    async def close_stream(self) -> None:
        await self._inner.close_stream()
