"""What the simulated model answers: an echo of the last message (verbatim), JSON following the request's
``response_format``, or tool calls (the first tool, the named one, or, with ``parallel_tool_calls: true``,
one of every tool), with usage."""

from __future__ import annotations

import json
import secrets


def _words(text: str) -> list[str]:
    return text.split()


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def _images_in(messages: list) -> int:
    count = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            count += sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
    return count


def _usage(prompt_tokens: int, completion: int) -> dict:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
            "total_tokens": prompt_tokens + completion, "cost": 0}


def compose(body: dict, model: str) -> dict:
    """Return the reply to ``body``: ``content``, ``tool_calls``, ``finish_reason`` and ``usage``."""
    messages = body["messages"]
    prompt_tokens = sum(len(_words(_text_of(m.get("content")))) + 4 for m in messages if isinstance(m, dict))
    prompt_tokens += 20 * _images_in(messages)
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    tools = body.get("tools") or []
    wants_tool = tools and body.get("tool_choice") != "none" and last.get("role") != "tool"
    if wants_tool:
        chosen = [tools[0]]
        choice = body.get("tool_choice")
        if isinstance(choice, dict) and choice.get("function", {}).get("name"):
            named = choice["function"]["name"]
            chosen = [next((t for t in tools if t.get("function", {}).get("name") == named), tools[0])]
        elif body.get("parallel_tool_calls") is True:
            chosen = tools  # several tool calls in one answer: one of every tool
        calls = [_call(tool.get("function", {}), _text_of(last.get("content")), i) for i, tool in enumerate(chosen)]
        return {"content": None, "tool_calls": calls, "finish_reason": "tool_calls",
                "usage": _usage(prompt_tokens, 10 * len(calls))}
    text = _text_of(last.get("content"))
    if last.get("role") == "tool":
        text = f"the tool said {text}"
    images = _images_in(messages)
    seen = f" I see {images} image(s)." if images else ""
    content = f"Hello from {model}.{seen} You said: {text}"  # the text verbatim: newlines and all
    schema = _json_format(body.get("response_format"))
    if schema is not None:
        content = json.dumps(_fill(schema, text))
    words = content.split(" ")  # what the stream sends one by one; joined with " " they give the content back
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
    finish = "stop"
    if isinstance(max_tokens, int) and 0 < max_tokens < len(words) and schema is None:
        words, finish = words[:max_tokens], "length"
    return {"content": " ".join(words), "tool_calls": None, "finish_reason": finish,
            "usage": _usage(prompt_tokens, len(words))}


def _call(function: dict, text: str, index: int) -> dict:
    props = list(((function.get("parameters") or {}).get("properties") or {}).keys())
    args = {props[0]: text[:100]} if props else {}
    return {"id": "call_" + secrets.token_hex(8), "type": "function", "index": index,
            "function": {"name": function.get("name", "tool"), "arguments": json.dumps(args)}}


def _json_format(response_format: object) -> dict | None:
    """The schema the answer must follow: ``json_schema``'s own, ``{}`` for ``json_object``, None for text."""
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_object":
        return {}
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, dict) else {}
    return None


def _fill(schema: dict, text: str):
    """A value valid for ``schema`` (types, properties, required, enums, arrays), saying ``text`` where it can."""
    if schema.get("enum"):
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    for combined in ("anyOf", "oneOf", "allOf"):
        if schema.get(combined):
            return _fill(schema[combined][0], text)
    kind = schema.get("type", "object" if "properties" in schema or not schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties") or {}
        if not props and not schema:
            return {"text": text}
        return {name: _fill(sub if isinstance(sub, dict) else {}, text) for name, sub in props.items()}
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {"type": "string"}
        return [_fill(items, text) for _ in range(max(int(schema.get("minItems") or 1), 1))]
    return {"string": text, "integer": 1, "number": 1.5, "boolean": True, "null": None}.get(kind, text)
