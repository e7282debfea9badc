"""What the simulated model answers: an echo of the last message, or a call of the first tool, with usage."""

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
        tool = tools[0]
        choice = body.get("tool_choice")
        if isinstance(choice, dict) and choice.get("function", {}).get("name"):
            named = choice["function"]["name"]
            tool = next((t for t in tools if t.get("function", {}).get("name") == named), tool)
        function = tool.get("function", {})
        props = list(((function.get("parameters") or {}).get("properties") or {}).keys())
        args = {props[0]: _text_of(last.get("content"))[:100]} if props else {}
        call = {
            "id": "call_" + secrets.token_hex(8),
            "type": "function",
            "index": 0,
            "function": {"name": function.get("name", "tool"), "arguments": json.dumps(args)},
        }
        return {"content": None, "tool_calls": [call], "finish_reason": "tool_calls", "usage": _usage(prompt_tokens, 10)}
    text = _text_of(last.get("content"))
    if last.get("role") == "tool":
        text = f"the tool said {text}"
    images = _images_in(messages)
    seen = f" I see {images} image(s)." if images else ""
    words = f"Hello from {model}.{seen} You said: {text}".split()
    max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
    finish = "stop"
    if isinstance(max_tokens, int) and 0 < max_tokens < len(words):
        words, finish = words[:max_tokens], "length"
    return {"content": " ".join(words), "tool_calls": None, "finish_reason": finish,
            "usage": _usage(prompt_tokens, len(words))}
