"""Parse and validate a chat-completions body once, before anything goes upstream."""

from __future__ import annotations

import orjson

from chat.proxy.errors import ProxyError

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}


def _bad(message: str, param: str, code: str = "invalid_value") -> ProxyError:
    return ProxyError(400, message, param=param, code=code)


def parse_json_object(raw: bytes, content_type: str) -> dict:
    """Return the body as a dict; 415 for a non-JSON content type, 400 for bad JSON."""
    if content_type and "json" not in content_type.lower():
        raise ProxyError(415, f"Content-Type must be application/json, not {content_type!r}.",
                         code="unsupported_media_type")
    if not raw.strip():
        raise ProxyError(400, "The request body is empty; send a JSON object.", code="invalid_json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProxyError(400, f"The request body is not valid JSON: {exc}.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ProxyError(400, "The request body must be a JSON object.", code="invalid_json")
    return body


def _number(body: dict, name: str, low: float, high: float | None) -> None:
    if name not in body or body[name] is None:
        return
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(f"{name} must be a number.", name, "invalid_type")
    if value < low or (high is not None and value > high):
        span = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise _bad(f"{name} must be {span}; got {value}.", name)


def _integer(body: dict, name: str, low: int) -> None:
    if name not in body or body[name] is None:
        return
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{name} must be an integer.", name, "invalid_type")
    if value < low:
        raise _bad(f"{name} must be at least {low}; got {value}.", name)


def validate_chat(body: dict) -> None:
    """Raise a 400 naming the parameter when the body is not a valid chat request."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _bad("model is required: a model id, an alias or @preset/<name>.", "model", "missing_required_parameter")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages is required: a non-empty list of {role, content} objects.", "messages",
                   "missing_required_parameter")
    for i, message in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(message, dict):
            raise _bad(f"{where} must be an object with role and content.", where, "invalid_type")
        role = message.get("role")
        if role not in ROLES:
            raise _bad(f"{where}.role must be one of {', '.join(sorted(ROLES))}; got {role!r}.", f"{where}.role")
        content = message.get("content")
        if content is None:
            if role == "assistant" and (message.get("tool_calls") or message.get("function_call")):
                continue
            raise _bad(f"{where}.content is required.", f"{where}.content", "missing_required_parameter")
        if isinstance(content, list):
            for j, part in enumerate(content):
                if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                    raise _bad(f"{where}.content[{j}] must be an object with a type.", f"{where}.content[{j}]",
                               "invalid_type")
        elif not isinstance(content, str):
            raise _bad(f"{where}.content must be a string or a list of content parts.", f"{where}.content",
                       "invalid_type")
        if role == "tool" and not message.get("tool_call_id"):
            raise _bad(f"{where}.tool_call_id is required for a tool message.", f"{where}.tool_call_id",
                       "missing_required_parameter")
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1)
    _number(body, "presence_penalty", -2, 2)
    _number(body, "frequency_penalty", -2, 2)
    _integer(body, "max_tokens", 1)
    _integer(body, "max_completion_tokens", 1)
    _integer(body, "n", 1)
    if "stream" in body and body["stream"] is not None and not isinstance(body["stream"], bool):
        raise _bad("stream must be true or false.", "stream", "invalid_type")
    fallbacks = body.get("models")
    if fallbacks is not None and (not isinstance(fallbacks, list) or not all(isinstance(m, str) for m in fallbacks)):
        raise _bad("models must be a list of model ids (fallbacks, tried in order).", "models", "invalid_type")
