"""Anthropic's Messages API behind OpenAI's chat-completions protocol.

Requests: system/developer messages become ``system``; tool results become
``tool_result`` blocks at the front of the next user turn; consecutive turns of
one role are merged; ``tools``/``tool_choice``/``stop``/``max_tokens`` are
mapped as UPSTREAM-ANTHROPIC.md section 5 says. Answers: text blocks join into
``message.content``, ``tool_use`` blocks become ``tool_calls``, ``stop_reason``
maps to ``finish_reason``, usage is renamed. Streams: each Anthropic event
becomes zero or more OpenAI chunks; the OpenAI tool-call ``index`` counts tool
blocks (it is not Anthropic's block index).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import orjson

from models_catalog.adapters.base import Adapter

API_VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 4096
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _text(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _image_block(part: dict) -> dict | None:
    url = (part.get("image_url") or {}).get("url") if isinstance(part.get("image_url"), dict) else part.get("image_url")
    if not isinstance(url, str) or not url:
        return None
    if url.startswith("data:") and ";base64," in url:
        media, _, data = url[5:].partition(";base64,")
        if media == "application/pdf":
            return {"type": "document", "source": {"type": "base64", "media_type": media, "data": data}}
        return {"type": "image", "source": {"type": "base64", "media_type": media, "data": data}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def _user_blocks(content) -> list[dict]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks: list[dict] = []
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and part.get("text"):
            blocks.append({"type": "text", "text": part["text"]})
        elif part.get("type") == "image_url":
            block = _image_block(part)
            if block is not None:
                blocks.append(block)
    return blocks


def _arguments(raw) -> dict:
    if isinstance(raw, dict):
        return raw
    try:
        value = orjson.loads(raw or "{}")
    except orjson.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _assistant_blocks(message: dict) -> list[dict]:
    blocks: list[dict] = []
    text = _text(message.get("content"))
    if text:  # Anthropic refuses empty text blocks
        blocks.append({"type": "text", "text": text})
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        blocks.append({"type": "tool_use", "id": call.get("id") or "toolu_" + secrets.token_hex(12),
                       "name": function.get("name", ""), "input": _arguments(function.get("arguments"))})
    return blocks


def _tool_result(message: dict) -> dict:
    return {"type": "tool_result", "tool_use_id": message.get("tool_call_id", ""),
            "content": _text(message.get("content")) or str(message.get("content") or "")}


def convert_messages(messages: list[dict]) -> tuple[str, list[dict]]:
    """Return (system prompt, Anthropic turns) for OpenAI ``messages``."""
    system: list[str] = []
    turns: list[dict] = []
    for message in messages:
        role = message.get("role")
        if role in ("system", "developer"):
            system.append(_text(message.get("content")))
            continue
        if role == "tool":
            role, blocks = "user", [_tool_result(message)]
        elif role == "assistant":
            blocks = _assistant_blocks(message)
        else:
            role, blocks = "user", _user_blocks(message.get("content"))
        if not blocks:
            continue
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:  # tool results first in their user turn, text after
        if turn["role"] == "user":
            turn["content"].sort(key=lambda b: b["type"] != "tool_result")
    if turns and turns[-1]["role"] == "assistant":
        last = turns[-1]["content"][-1]
        if last["type"] == "text":
            last["text"] = last["text"].rstrip()
    return "\n".join(s for s in system if s), turns


def _tool_choice(choice, parallel) -> dict | None:
    mapped: dict | None = None
    if choice == "auto":
        mapped = {"type": "auto"}
    elif choice == "required":
        mapped = {"type": "any"}
    elif choice == "none":
        mapped = {"type": "none"}
    elif isinstance(choice, dict) and (choice.get("function") or {}).get("name"):
        mapped = {"type": "tool", "name": choice["function"]["name"]}
    if parallel is False:
        mapped = mapped or {"type": "auto"}
        if mapped["type"] != "none":
            mapped["disable_parallel_tool_use"] = True
    return mapped


def convert_request(body: dict) -> dict:
    """Return the Messages API body for an OpenAI chat-completions ``body``."""
    system, turns = convert_messages(body.get("messages") or [])
    out: dict = {
        "model": body["model"],
        "max_tokens": body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS,
        "messages": turns,
    }
    if system:
        out["system"] = system
    if body.get("temperature") is not None:
        out["temperature"] = min(float(body["temperature"]), 1.0)
    if body.get("top_p") is not None:
        out["top_p"] = body["top_p"]
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    stops = [s for s in stops if isinstance(s, str) and s.strip()]
    if stops:
        out["stop_sequences"] = stops
    tools = []
    for tool in body.get("tools") or []:
        function = tool.get("function") or {}
        entry = {"name": function.get("name", ""),
                 "input_schema": function.get("parameters") or {"type": "object", "properties": {}}}
        if function.get("description"):
            entry["description"] = function["description"]
        tools.append(entry)
    if tools:
        out["tools"] = tools
        choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if choice is not None:
            out["tool_choice"] = choice
    if body.get("stream"):
        out["stream"] = True
    return out


def _usage(usage: dict) -> dict:
    cached = int(usage.get("cache_read_input_tokens") or 0)
    prompt = int(usage.get("input_tokens") or 0) + cached
    completion = int(usage.get("output_tokens") or 0)
    out = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    if cached:
        out["prompt_tokens_details"] = {"cached_tokens": cached}
    return out


def convert_response(data: dict, *, model: str) -> dict:
    """Return the OpenAI chat.completion for an Anthropic Message."""
    text = "".join(b.get("text", "") for b in data.get("content") or [] if b.get("type") == "text")
    calls = [
        {"id": b.get("id"), "type": "function",
         "function": {"name": b.get("name", ""), "arguments": orjson.dumps(b.get("input") or {}).decode()}}
        for b in data.get("content") or [] if b.get("type") == "tool_use"
    ]
    message: dict = {"role": "assistant", "content": text or None}
    if calls:
        message["tool_calls"] = calls
    return {
        "id": data.get("id") or "msg_" + secrets.token_hex(12),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": data.get("model") or model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": FINISH_REASONS.get(data.get("stop_reason"), "stop"),
                     "native_finish_reason": data.get("stop_reason")}],
        "usage": _usage(data.get("usage") or {}),
    }


class StreamTranslator:
    """One Anthropic stream into OpenAI chunks; holds the state a stream needs (ids, tool counter, usage)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.id = "msg_" + secrets.token_hex(12)
        self.created = int(time.time())
        self.tool_index = -1
        self.tools_by_block: dict[int, int] = {}
        self.args_seen: set[int] = set()
        self.usage: dict = {}
        self.finished = False

    def _chunk(self, delta: dict, finish: str | None = None, **extra) -> bytes:
        data = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}
        data.update(extra)
        return b"data: " + orjson.dumps(data) + b"\n\n"

    def _tool_args(self, block: int, text: str) -> bytes:
        return self._chunk({"tool_calls": [{"index": self.tools_by_block[block], "function": {"arguments": text}}]})

    def __call__(self, event: bytes) -> list[bytes]:
        data = None
        for line in event.split(b"\n"):
            if line.startswith(b"data:"):
                data = line[5:].strip()
        if not data:
            return []  # ping frames without data, comments
        try:
            parsed = orjson.loads(data)
        except orjson.JSONDecodeError:
            return []
        kind = parsed.get("type") if isinstance(parsed, dict) else None
        handler = getattr(self, f"_on_{kind}", None)
        return handler(parsed) if handler else []  # unknown and ping events are skipped

    def _on_message_start(self, event: dict) -> list[bytes]:
        message = event.get("message") or {}
        self.id = message.get("id") or self.id
        self.model = message.get("model") or self.model
        self.usage.update(message.get("usage") or {})
        return [self._chunk({"role": "assistant", "content": ""})]

    def _on_content_block_start(self, event: dict) -> list[bytes]:
        block, index = event.get("content_block") or {}, int(event.get("index", 0))
        if block.get("type") == "tool_use":
            self.tool_index += 1
            self.tools_by_block[index] = self.tool_index
            call = {"index": self.tool_index, "id": block.get("id"), "type": "function",
                    "function": {"name": block.get("name", ""), "arguments": ""}}
            return [self._chunk({"tool_calls": [call]})]
        if block.get("type") == "text" and block.get("text"):
            return [self._chunk({"content": block["text"]})]
        return []

    def _on_content_block_delta(self, event: dict) -> list[bytes]:
        delta, index = event.get("delta") or {}, int(event.get("index", 0))
        if delta.get("type") == "text_delta" and delta.get("text"):
            return [self._chunk({"content": delta["text"]})]
        if delta.get("type") == "input_json_delta" and delta.get("partial_json") and index in self.tools_by_block:
            self.args_seen.add(index)
            return [self._tool_args(index, delta["partial_json"])]
        if delta.get("type") == "thinking_delta" and delta.get("thinking"):
            return [self._chunk({"reasoning": delta["thinking"]})]
        return []

    def _on_content_block_stop(self, event: dict) -> list[bytes]:
        index = int(event.get("index", 0))
        if index in self.tools_by_block and index not in self.args_seen:
            return [self._tool_args(index, "{}")]
        return []

    def _on_message_delta(self, event: dict) -> list[bytes]:
        self.usage.update(event.get("usage") or {})  # cumulative: the last value wins
        reason = (event.get("delta") or {}).get("stop_reason")
        if reason and not self.finished:
            self.finished = True
            return [self._chunk({}, FINISH_REASONS.get(reason, "stop"))]
        return []

    def _on_message_stop(self, event: dict) -> list[bytes]:
        out = [] if self.finished else [self._chunk({}, "stop")]
        usage = {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                 "choices": [], "usage": _usage(self.usage)}
        return [*out, b"data: " + orjson.dumps(usage) + b"\n\n", b"data: [DONE]\n\n"]

    def _on_error(self, event: dict) -> list[bytes]:
        error = event.get("error") or {}
        message = str(error.get("message") or "upstream error")
        return [self._chunk({}, "error", error={"code": 502, "message": message,
                                                "metadata": {"type": error.get("type", "")}})]


class AnthropicMessages(Adapter):
    """Anthropic's ``POST /v1/messages``; ``base_url`` is the API root, e.g. ``https://api.anthropic.com/v1``."""

    def chat_request(self, *, base_url: str, api_key: str, body: dict) -> tuple[str, dict[str, str], bytes]:
        return f"{base_url}/messages", self.headers(api_key), orjson.dumps(convert_request(body))

    def headers(self, api_key: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "anthropic-version": API_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        return headers

    def models_request(self, *, base_url: str, api_key: str) -> tuple[str, dict[str, str]]:
        headers = self.headers(api_key)
        headers.pop("Content-Type")
        return f"{base_url}/models?limit=1000", headers

    def chat_response(self, raw: bytes, *, model: str) -> bytes:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return raw
        if not isinstance(data, dict) or data.get("type") != "message":
            return raw
        return orjson.dumps(convert_response(data, model=model))

    def stream_translator(self, *, model: str) -> Callable[[bytes], list[bytes]]:
        return StreamTranslator(model)

    def error_message(self, raw: bytes) -> tuple[str, dict]:
        message, metadata = super().error_message(raw)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return message, metadata
        error = data.get("error") if isinstance(data, dict) else None
        if isinstance(error, dict) and error.get("type"):
            metadata = {**metadata, "type": error["type"]}
        return message, metadata
