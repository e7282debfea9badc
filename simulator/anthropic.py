"""A simulator of Anthropic's Messages API, mounted by the simulator app under ``/anthropic/v1``.

``GET /anthropic/v1/models`` and ``POST /anthropic/v1/messages`` (whole or
SSE), with Anthropic's headers (``x-api-key``, ``anthropic-version``), error
shape and stream event sequence: ``message_start``, per block
``content_block_start``/``content_block_delta``/``content_block_stop`` (tool
input as ``input_json_delta`` fragments), ``message_delta`` with cumulative
usage, ``message_stop``; ``ping`` in between. It refuses what the real API
refuses and translators get wrong (UPSTREAM-ANTHROPIC.md section 7): empty text
blocks, ``tool_use`` without its ``tool_result`` in the next user turn, a
missing ``max_tokens``, a system role, trailing whitespace in a final assistant
turn. Faults come from the simulator's ``model_faults`` (``/_sim/config``):
``overloaded`` (529), ``429``, ``500``, ``404``, ``midstream`` (an ``error``
event after the first block).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable

PREFIX = "/anthropic/v1"
MODELS = [
    {"type": "model", "id": "claude-sonnet-4-6", "display_name": "Claude Sonnet 4.6",
     "created_at": "2026-02-17T00:00:00Z"},
    {"type": "model", "id": "claude-haiku-4-5", "display_name": "Claude Haiku 4.5",
     "created_at": "2025-10-15T00:00:00Z"},
]
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
                429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}

Send = Callable[[dict], Awaitable[None]]


class AnthropicReply(Exception):
    """Answer at once with Anthropic's error shape."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        self.status = status
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict:
        return {"type": "error", "error": {"type": _ERROR_TYPES.get(self.status, "api_error"), "message": self.message},
                "request_id": "req_" + secrets.token_hex(12)}


async def _send_json(send: Send, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"request-id", b"req_" + secrets.token_hex(12).encode())]
    raw += [(k.lower().encode(), str(v).encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def _words(blocks) -> int:
    if isinstance(blocks, str):
        return len(blocks.split())
    total = 0
    for block in blocks or []:
        if isinstance(block, dict):
            total += len(str(block.get("text") or block.get("content") or "").split()) + 1
    return total


def _check(body: dict) -> None:
    """Refuse the requests the real API refuses."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise AnthropicReply(400, "model: Field required")
    if not isinstance(body.get("max_tokens"), int):
        raise AnthropicReply(400, "max_tokens: Field required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise AnthropicReply(400, "messages: Field required")
    pending: set[str] = set()
    for n, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise AnthropicReply(400, f"messages.{n}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list) or not blocks:
            raise AnthropicReply(400, f"messages.{n}: content must be non-empty")
        results = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
        if pending and not pending <= results:
            raise AnthropicReply(400, f"messages.{n}: `tool_use` ids were found without `tool_result` blocks "
                                      "immediately after")
        pending = set()
        for block in blocks:
            if block.get("type") == "text" and not block.get("text"):
                raise AnthropicReply(400, f"messages.{n}: text content blocks must be non-empty")
            if block.get("type") == "tool_use":
                if not isinstance(block.get("input"), dict):
                    raise AnthropicReply(400, f"messages.{n}: tool_use.input must be an object")
                pending.add(block.get("id"))
    last = messages[-1]
    if last["role"] == "assistant" and isinstance(last["content"], list):
        tail = last["content"][-1]
        if tail.get("type") == "text" and tail["text"] != tail["text"].rstrip():
            raise AnthropicReply(400, "final assistant content cannot end with trailing whitespace")
    for stop in body.get("stop_sequences") or []:
        if not str(stop).strip():
            raise AnthropicReply(400, "each stop sequence must contain non-whitespace")


def _compose(body: dict) -> dict:
    """The Message the simulated Claude answers (content blocks, stop reason, usage)."""
    messages = body["messages"]
    last = messages[-1]
    content = last["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    results = [b for b in blocks if b.get("type") == "tool_result"]
    said = " ".join(b.get("text", "") for b in blocks if b.get("type") == "text")
    tools = body.get("tools") or []
    choice = body.get("tool_choice") or {}
    input_tokens = sum(_words(m["content"]) + 3 for m in messages) + _words(body.get("system") or "")
    if tools and not results and choice.get("type") != "none":
        tool = tools[0]
        if choice.get("type") == "tool":
            tool = next((t for t in tools if t["name"] == choice.get("name")), tool)
        props = list(((tool.get("input_schema") or {}).get("properties") or {}).keys())
        tool_input = {props[0]: said[:100]} if props else {}
        out = [{"type": "text", "text": "Let me check."},
               {"type": "tool_use", "id": "toolu_" + secrets.token_hex(12), "name": tool["name"], "input": tool_input}]
        stop, output = "tool_use", 12
    else:
        if results:
            said = "the tool said " + " ".join(str(r.get("content") or "") for r in results)
        words = f"Hello from {body['model']}. You said: {said}".split()
        stop = "end_turn"
        if body["max_tokens"] < len(words):
            words, stop = words[: body["max_tokens"]], "max_tokens"
        out = [{"type": "text", "text": " ".join(words)}]
        output = len(words)
    return {"id": "msg_" + secrets.token_hex(12), "type": "message", "role": "assistant", "model": body["model"],
            "content": out, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": output,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}}


def _fault(state, model: str) -> str | None:
    return state.model_faults.get(model) or state.model_faults.get("*")


def _raise_fault(fault: str | None, model: str) -> None:
    if fault == "overloaded":
        raise AnthropicReply(529, "Overloaded")
    if fault == "429":
        raise AnthropicReply(429, "Number of request tokens has exceeded your per-minute rate limit",
                             {"retry-after": "3"})
    if fault == "500":
        raise AnthropicReply(500, "Internal server error")
    if fault == "404":
        raise AnthropicReply(404, f"model: {model}")


def _event(name: str, data: dict) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def stream_events(message: dict, *, fail_midway: bool = False) -> list[bytes]:
    """Anthropic's SSE sequence for ``message``, as the real API sends it."""
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None,
             "usage": {**message["usage"], "output_tokens": 1}}
    events = [_event("message_start", {"type": "message_start", "message": start}), _event("ping", {"type": "ping"})]
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            events.append(_event("content_block_start", {"type": "content_block_start", "index": index,
                                                         "content_block": {"type": "text", "text": ""}}))
            words = block["text"].split(" ")
            for i, word in enumerate(words):
                events.append(_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                             "delta": {"type": "text_delta",
                                                                       "text": word if i == 0 else " " + word}}))
        else:
            events.append(_event("content_block_start", {"type": "content_block_start", "index": index,
                                                         "content_block": {**block, "input": {}}}))
            raw = json.dumps(block["input"])
            cut = max(len(raw) // 2, 1)
            for piece in ("", raw[:cut], raw[cut:]):  # the first delta is often empty, fragments are not JSON
                events.append(_event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                             "delta": {"type": "input_json_delta",
                                                                       "partial_json": piece}}))
        events.append(_event("content_block_stop", {"type": "content_block_stop", "index": index}))
        if fail_midway:
            events.append(_event("error", {"type": "error", "error": {"type": "overloaded_error",
                                                                      "message": "Overloaded"}}))
            return events
    events.append(_event("message_delta", {"type": "message_delta",
                                           "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                           "usage": {"output_tokens": message["usage"]["output_tokens"]}}))
    events.append(_event("message_stop", {"type": "message_stop"}))
    return events


async def handle(state, method: str, path: str, headers: dict[str, str], raw: bytes, send: Send) -> None:
    """Serve one request under ``/anthropic/v1``; ``state`` is the simulator's (faults, recorded requests)."""
    try:
        await _serve(state, method, path.removeprefix(PREFIX), headers, raw, send)
    except AnthropicReply as reply:
        await _send_json(send, reply.status, reply.body(), reply.headers)


async def _serve(state, method: str, route: str, headers: dict[str, str], raw: bytes, send: Send) -> None:
    key = headers.get("x-api-key", "")
    if not key or key.startswith("sk-bad"):
        raise AnthropicReply(401, "invalid x-api-key")
    if not headers.get("anthropic-version"):
        raise AnthropicReply(400, "anthropic-version: header is required")
    if method == "GET" and route == "/models":
        await _send_json(send, 200, {"data": MODELS, "has_more": False, "first_id": MODELS[0]["id"],
                                     "last_id": MODELS[-1]["id"]})
        return
    if method != "POST" or route != "/messages":
        raise AnthropicReply(404, f"Not found: {method} {route}")
    try:
        body = json.loads(raw)
    except ValueError:
        raise AnthropicReply(400, "invalid JSON body") from None
    if not isinstance(body, dict):
        raise AnthropicReply(400, "body must be an object")
    if state.record_requests:
        state.requests.append({"body": body, "key": key, "api": "anthropic",
                               "headers": {k: v for k, v in headers.items() if k != "x-api-key"}})
    _check(body)
    if body["model"] not in {m["id"] for m in MODELS}:
        raise AnthropicReply(404, f"model: {body['model']}")
    fault = _fault(state, body["model"])
    _raise_fault(fault, body["model"])
    message = _compose(body)
    state.served += 1
    if not body.get("stream"):
        await _send_json(send, 200, message)
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    for event in stream_events(message, fail_midway=fault == "midstream"):
        await send({"type": "http.response.body", "body": event, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
