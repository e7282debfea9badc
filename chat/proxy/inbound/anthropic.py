"""Anthropic's Messages API (``POST /v1/messages``) in, a chat-completions body out.

``to_chat`` checks an Anthropic body and translates it: ``system`` becomes the
first message; text, image and document blocks become content parts; an
assistant's ``tool_use`` blocks become ``tool_calls``; a user turn's
``tool_result`` blocks become ``tool`` messages (placed first, as Anthropic
requires them first); tools, ``tool_choice``, ``stop_sequences``, sampling
and ``thinking`` map to their chat-completions names. Everything else the
exchange does (aliases, limits, routing, accounting, the log row) is the same
as for ``/v1/chat/completions``. The answer goes back through
``chat.proxy.inbound.anthropic_answer``. See docs/decisions/0014-anthropic-inbound.md.
"""

from __future__ import annotations

import orjson

from chat.proxy.errors import ANTHROPIC, OPENAI, ProxyError
from chat.proxy.inbound.anthropic_answer import AnthropicDelivery
from chat.proxy.tokens import estimate_request

__all__ = ["ENDPOINT", "Inbound", "api_of", "count_tokens", "to_chat"]

ENDPOINT = "messages"
ROLES = ("user", "assistant")
TOOL_CHOICES = {"auto": "auto", "any": "required", "none": "none"}
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def api_of(segments: tuple[str, ...]) -> str:
    """Which API's error shape a normalised /v1 path answers in: Anthropic's under /v1/messages."""
    return ANTHROPIC if segments[:2] == ("v1", "messages") else OPENAI


class Inbound:
    """One Messages request: its chat body, and the ``Delivery`` that turns the answer into Anthropic's."""

    endpoint = ENDPOINT

    async def chat_body(self, body: dict) -> dict:
        return to_chat(body)

    def delivery(self, inner):
        return AnthropicDelivery(inner)


def _bad(message: str, code: str = "invalid_value", param: str | None = None) -> ProxyError:
    return ProxyError(400, message, code=code, param=param)


def _need(value: object, kind: type | tuple[type, ...], where: str, what: str) -> None:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise _bad(f"{where} must be {what}.", "invalid_type", where)


def _text_of(blocks: list, where: str) -> str:
    """The text of a ``system`` or ``tool_result`` block list (text blocks only; others refused by the caller)."""
    texts = []
    for i, block in enumerate(blocks):
        _need(block, dict, f"{where}[{i}]", "an object with a type")
        if block.get("type") == "text":
            _need(block.get("text"), str, f"{where}[{i}].text", "a string")
            texts.append(block["text"])
    return "\n".join(texts)


def _image_part(source: object, where: str) -> dict:
    _need(source, dict, f"{where}.source", "an object with a type")
    kind = source.get("type")
    if kind == "base64":
        media = source.get("media_type")
        if media not in IMAGE_TYPES:
            raise _bad(f"{where}.source.media_type must be one of {', '.join(IMAGE_TYPES)}.",
                       param=f"{where}.source.media_type")
        _need(source.get("data"), str, f"{where}.source.data", "a base64 string")
        return {"type": "image_url", "image_url": {"url": f"data:{media};base64,{source['data']}"}}
    if kind == "url":
        _need(source.get("url"), str, f"{where}.source.url", "a string")
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    raise _bad(f"{where}.source.type must be base64 or url; got {kind!r}.", param=f"{where}.source.type")


def _document_part(block: dict, where: str) -> dict:
    source = block.get("source")
    _need(source, dict, f"{where}.source", "an object with a type")
    kind = source.get("type")
    if kind == "text":
        _need(source.get("data"), str, f"{where}.source.data", "a string")
        return {"type": "text", "text": source["data"]}
    name = block.get("title") if isinstance(block.get("title"), str) else "document.pdf"
    if kind == "base64":
        _need(source.get("data"), str, f"{where}.source.data", "a base64 string")
        media = source.get("media_type") if isinstance(source.get("media_type"), str) else "application/pdf"
        return {"type": "file", "file": {"filename": name, "file_data": f"data:{media};base64,{source['data']}"}}
    if kind == "url":
        _need(source.get("url"), str, f"{where}.source.url", "a string")
        return {"type": "file", "file": {"filename": name, "file_data": source["url"]}}
    raise _bad(f"{where}.source.type must be text, base64 or url; got {kind!r}.", param=f"{where}.source.type")


def _part(block: dict, where: str) -> dict | None:
    """A user or assistant content block as a chat content part (None: nothing to send, e.g. thinking)."""
    kind = block.get("type")
    if kind == "text":
        _need(block.get("text"), str, f"{where}.text", "a string")
        return {"type": "text", "text": block["text"]}
    if kind == "image":
        return _image_part(block.get("source"), where)
    if kind == "document":
        return _document_part(block, where)
    if kind in ("thinking", "redacted_thinking"):
        return None  # replayed reasoning: other providers cannot take it back
    raise _bad(f"{where}.type {kind!r} is not supported here (text, image, document, tool_use, tool_result).",
               param=f"{where}.type")


def _tool_message(block: dict, where: str) -> tuple[dict, list[dict]]:
    """A ``tool_result`` block as a ``tool`` message, and its images (sent after it in a user message)."""
    _need(block.get("tool_use_id"), str, f"{where}.tool_use_id", "a string")
    content = block.get("content")
    images: list[dict] = []
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = _text_of(content, f"{where}.content")
        for j, inner in enumerate(content):
            if inner.get("type") == "image":
                images.append(_image_part(inner.get("source"), f"{where}.content[{j}]"))
            elif inner.get("type") != "text":
                part = _part(inner, f"{where}.content[{j}]")
                if part is not None and part.get("type") == "text":
                    text = f"{text}\n{part['text']}" if text else part["text"]
    else:
        raise _bad(f"{where}.content must be a string or a list of blocks.", "invalid_type", f"{where}.content")
    if block.get("is_error") is True:
        text = f"Error: {text}"
    return {"role": "tool", "tool_call_id": block["tool_use_id"], "content": text}, images


def _tool_call(block: dict, where: str) -> dict:
    _need(block.get("id"), str, f"{where}.id", "a string")
    _need(block.get("name"), str, f"{where}.name", "a string")
    arguments = block.get("input", {})
    _need(arguments, dict, f"{where}.input", "an object")
    return {"id": block["id"], "type": "function",
            "function": {"name": block["name"], "arguments": orjson.dumps(arguments).decode()}}


def _turn(message: object, where: str) -> list[dict]:
    """One Anthropic turn as one or more chat messages."""
    _need(message, dict, where, "an object with role and content")
    role = message.get("role")
    if role not in ROLES:
        raise _bad(f"{where}.role must be user or assistant; got {role!r}.", param=f"{where}.role")
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    _need(content, list, f"{where}.content", "a string or a list of content blocks")
    if not content:
        raise _bad(f"{where}.content must hold at least one block.", param=f"{where}.content")
    parts: list[dict] = []
    tool_messages: list[dict] = []
    calls: list[dict] = []
    for i, block in enumerate(content):
        here = f"{where}.content[{i}]"
        _need(block, dict, here, "an object with a type")
        kind = block.get("type")
        if kind == "tool_result" and role == "user":
            tool, images = _tool_message(block, here)
            tool_messages.append(tool)
            parts.extend(images)
        elif kind == "tool_use" and role == "assistant":
            calls.append(_tool_call(block, here))
        elif (part := _part(block, here)) is not None:
            parts.append(part)
    if role == "assistant":
        text = "".join(p["text"] for p in parts if p["type"] == "text")
        reply: dict = {"role": "assistant", "content": text or (None if calls else "")}
        if calls:
            reply["tool_calls"] = calls
        return [reply]
    if tool_messages and not parts:
        return tool_messages
    if parts and all(p["type"] == "text" for p in parts) and len(parts) == 1:
        return [*tool_messages, {"role": "user", "content": parts[0]["text"]}]
    return [*tool_messages, {"role": "user", "content": parts}]


def _system(system: object) -> list[dict]:
    if system is None:
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}] if system else []
    _need(system, list, "system", "a string or a list of text blocks")
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise _bad(f"system[{i}] must be a text block.", param=f"system[{i}]")
    text = _text_of(system, "system")
    return [{"role": "system", "content": text}] if text else []


def _tools(tools: object) -> list[dict]:
    _need(tools, list, "tools", "a list of tool definitions")
    out = []
    for i, tool in enumerate(tools):
        where = f"tools[{i}]"
        _need(tool, dict, where, "an object with a name and an input_schema")
        if tool.get("type") not in (None, "custom"):
            raise _bad(f"{where}.type {tool['type']!r}: Anthropic's server tools are not served by this gateway; "
                       "send custom tools (name, description, input_schema).", param=f"{where}.type")
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise _bad(f"{where}.name is required.", "missing_required_parameter", f"{where}.name")
        schema = tool.get("input_schema", {"type": "object", "properties": {}})
        _need(schema, dict, f"{where}.input_schema", "an object (a JSON schema)")
        function = {"name": tool["name"], "parameters": schema}
        if tool.get("description") is not None:
            _need(tool["description"], str, f"{where}.description", "a string")
            function["description"] = tool["description"]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: object, chat: dict) -> None:
    _need(choice, dict, "tool_choice", "an object with a type (auto, any, tool, none)")
    kind = choice.get("type")
    if kind == "tool":
        _need(choice.get("name"), str, "tool_choice.name", "a string")
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    elif kind in TOOL_CHOICES:
        chat["tool_choice"] = TOOL_CHOICES[kind]
    else:
        raise _bad(f"tool_choice.type must be auto, any, tool or none; got {kind!r}.", param="tool_choice.type")
    if choice.get("disable_parallel_tool_use") is True:
        chat["parallel_tool_calls"] = False


def _sampling(body: dict, chat: dict) -> None:
    for name, high in (("temperature", 1), ("top_p", 1)):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
            raise _bad(f"{name} must be a number between 0 and {high}.", param=name)
        chat[name] = value
    if body.get("top_k") is not None:
        chat["top_k"] = body["top_k"]  # the chat validation checks it
    stops = body.get("stop_sequences")
    if stops is not None:
        if not isinstance(stops, list) or not all(isinstance(s, str) and s.strip() for s in stops):
            raise _bad("stop_sequences must be a list of strings, each with a non-whitespace character.",
                       param="stop_sequences")
        if stops:
            chat["stop"] = stops


def _extras(body: dict, chat: dict) -> None:
    """``thinking``, ``metadata.user_id`` and ``output_config.format`` in chat-completions terms."""
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        chat["reasoning"] = {"max_tokens": budget} if isinstance(budget, int) and budget > 0 else {"enabled": True}
    elif isinstance(thinking, dict) and thinking.get("type") == "adaptive":
        chat["reasoning"] = {"enabled": True}
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        chat["user"] = metadata["user_id"]
    output = body.get("output_config")
    fmt = output.get("format") if isinstance(output, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema" and isinstance(fmt.get("schema"), dict):
        chat["response_format"] = {"type": "json_schema", "json_schema": {"name": "output", "schema": fmt["schema"]}}


def _messages(body: dict) -> list[dict]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages is required: a non-empty list of {role, content} turns.", "missing_required_parameter",
                   "messages")
    chat = _system(body.get("system"))
    for i, message in enumerate(messages):
        chat.extend(_turn(message, f"messages[{i}]"))
    return chat


def to_chat(body: dict) -> dict:
    """Translate an Anthropic Messages body into a chat-completions body; raise a 400 naming what is wrong."""
    if not isinstance(body.get("model"), str) or not body["model"].strip():
        raise _bad("model is required.", "missing_required_parameter", "model")
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        raise _bad("max_tokens is required.", "missing_required_parameter", "max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise _bad("max_tokens must be a whole number of at least 1.", param="max_tokens")
    if body.get("stream") is not None:
        _need(body["stream"], bool, "stream", "true or false")
    chat: dict = {"model": body["model"], "messages": _messages(body), "max_tokens": max_tokens}
    if body.get("stream"):
        chat["stream"] = True
        chat["stream_options"] = {"include_usage": True}  # the final message_delta carries the usage
    if body.get("tools"):
        chat["tools"] = _tools(body["tools"])
    if body.get("tool_choice") is not None:
        _tool_choice(body["tool_choice"], chat)
    _sampling(body, chat)
    _extras(body, chat)
    return chat


def count_tokens(body: dict) -> bytes:
    """``POST /v1/messages/count_tokens``: the gateway's estimate of the prompt, with no upstream call."""
    if not isinstance(body.get("model"), str) or not body["model"].strip():
        raise _bad("model is required.", "missing_required_parameter", "model")
    chat: dict = {"model": body["model"], "messages": _messages(body)}
    if body.get("tools"):
        chat["tools"] = _tools(body["tools"])
    return orjson.dumps({"input_tokens": estimate_request(chat)})
