"""Parse and validate a /v1 body once, at the edge, before admission and before anything goes upstream.

Everything the gateway or an adapter reads from a chat request is checked here
for type and range, so no later step (reservation, routing, serialising for the
upstream, the log row) can fail on the client's input: a bad body is a 400
naming the parameter, never a 500 after credit was reserved. Rules on the body
as a whole (valid UTF-8, one JSON object, no key twice in an object, nesting
at most MAX_DEPTH levels) hold for every /v1 body, the pass-through's too.
See docs/decisions/0007-v1-input-and-log-rows.md.
"""

from __future__ import annotations

import json
import re

import orjson

from chat.proxy.errors import ProxyError

ROLES = {"system", "developer", "user", "assistant", "tool", "function"}
TOOL_CHOICES = {"none", "auto", "required"}
MAX_DEPTH = 64  # levels of objects and arrays; orjson cannot serialise past 255, JSON schemas need far fewer
MAX_INT = 2**31 - 1  # the largest count (tokens, choices) an upstream or a database column takes
_KEY_TOKEN = re.compile(rb'"\s*:')  # at least one per key in the text; strings may add more, never fewer
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _bad(message: str, param: str | None, code: str = "invalid_value") -> ProxyError:
    return ProxyError(400, message, param=param, code=code)


class _TooDeep(Exception):
    pass


def _count_keys(value: object, depth: int) -> int:
    """Return how many keys the objects in ``value`` hold; raise _TooDeep past MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise _TooDeep
    if isinstance(value, dict):
        return len(value) + sum(_count_keys(v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
    return sum(_count_keys(v, depth + 1) for v in value if isinstance(v, (dict, list)))


def _refuse_duplicates(pairs: list[tuple[str, object]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _bad(f"The request body has the key {key!r} more than once in one object; send each key once.",
                       key, "duplicate_key")
        seen[key] = value
    return seen


def _check_shape(raw: bytes, body: dict) -> None:
    """Refuse nesting past MAX_DEPTH and any key twice in one object (orjson would silently keep the last)."""
    keys = 0
    for name, value in body.items():
        try:
            keys += 1 + (_count_keys(value, 2) if isinstance(value, (dict, list)) else 0)
        except _TooDeep:
            raise _bad(f"{name} is nested more than {MAX_DEPTH} levels deep.", name, "too_deep") from None
    # Cheap proof that no key repeats: every key adds a '"...:' match in the text, so equal counts mean
    # none was lost in parsing. Only when the counts differ (a string holding '":', or a duplicate) is
    # the body parsed a second time, with a hook that names the repeated key.
    if keys != len(_KEY_TOKEN.findall(raw)):
        json.loads(raw, object_pairs_hook=_refuse_duplicates)


def parse_json_object(raw: bytes, content_type: str) -> dict:
    """Return the body as a dict; 415 for a non-JSON content type, 400 for anything but one sound JSON object."""
    if content_type and "json" not in content_type.lower():
        raise ProxyError(415, f"Content-Type must be application/json, not {content_type!r}.",
                         code="unsupported_media_type")
    if not raw.strip():
        raise ProxyError(400, "The request body is empty; send a JSON object.", code="invalid_json")
    try:
        body = orjson.loads(raw)  # refuses invalid UTF-8 and lone surrogates, which could not be sent on
    except orjson.JSONDecodeError as exc:
        raise ProxyError(400, f"The request body is not valid JSON (UTF-8): {exc}.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise ProxyError(400, "The request body must be a JSON object.", code="invalid_json")
    _check_shape(raw, body)
    return body


def _number(body: dict, name: str, low: float, high: float | None) -> None:
    if body.get(name) is None:
        return
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(f"{name} must be a number.", name, "invalid_type")
    if value < low or (high is not None and value > high):
        span = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
        raise _bad(f"{name} must be {span}; got {value}.", name)


def _integer(body: dict, name: str, low: int, high: int = MAX_INT) -> None:
    if body.get(name) is None:
        return
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{name} must be an integer.", name, "invalid_type")
    if value < low or value > high:
        raise _bad(f"{name} must be between {low} and {high}; got {value}.", name)


def _typed(body: dict, name: str, kind: type, what: str, where: str | None = None) -> None:
    """Refuse ``body[name]`` unless it is null, absent or of ``kind``."""
    value = body.get(name)
    if value is not None and not isinstance(value, kind):
        param = f"{where}.{name}" if where else name
        raise _bad(f"{param} must be {what}.", param, "invalid_type")


def _model_id(value: object, param: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{param} must be a model id, an alias or @preset/<name>.", param, "missing_required_parameter")
    if _CONTROL.search(value):
        raise _bad(f"{param} must not contain control characters.", param)


def _content_part(part: object, where: str) -> None:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise _bad(f"{where} must be an object with a type.", where, "invalid_type")
    kind = part["type"]
    if kind == "text" and not isinstance(part.get("text"), str):
        raise _bad(f"{where}.text must be a string.", f"{where}.text", "invalid_type")
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if not isinstance(url, str):
            raise _bad(f"{where}.image_url must be an object with a url string.", f"{where}.image_url",
                       "invalid_type")


def _tool_calls(calls: object, where: str) -> None:
    if calls is None:
        return
    if not isinstance(calls, list):
        raise _bad(f"{where}.tool_calls must be a list of tool calls.", f"{where}.tool_calls", "invalid_type")
    for k, call in enumerate(calls):
        here = f"{where}.tool_calls[{k}]"
        if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
            raise _bad(f"{here} must be an object with a function.", here, "invalid_type")
        _typed(call, "id", str, "a string", here)
        _typed(call["function"], "name", str, "a string", f"{here}.function")
        _typed(call["function"], "arguments", str, "a string (JSON text)", f"{here}.function")


def _message(message: object, where: str) -> None:
    if not isinstance(message, dict):
        raise _bad(f"{where} must be an object with role and content.", where, "invalid_type")
    role = message.get("role")
    if not isinstance(role, str) or role not in ROLES:
        raise _bad(f"{where}.role must be one of {', '.join(sorted(ROLES))}; got {role!r}.", f"{where}.role")
    _typed(message, "name", str, "a string", where)
    _tool_calls(message.get("tool_calls"), where)
    content = message.get("content")
    if content is None:
        if role == "assistant" and (message.get("tool_calls") or message.get("function_call")):
            return
        raise _bad(f"{where}.content is required.", f"{where}.content", "missing_required_parameter")
    if isinstance(content, list):
        for j, part in enumerate(content):
            _content_part(part, f"{where}.content[{j}]")
    elif not isinstance(content, str):
        raise _bad(f"{where}.content must be a string or a list of content parts.", f"{where}.content",
                   "invalid_type")
    if role == "tool" and (not isinstance(message.get("tool_call_id"), str) or not message["tool_call_id"]):
        raise _bad(f"{where}.tool_call_id is required for a tool message.", f"{where}.tool_call_id",
                   "missing_required_parameter")


def _tools(body: dict) -> None:
    tools = body.get("tools")
    if tools is not None and not isinstance(tools, list):
        raise _bad("tools must be a list of tool definitions.", "tools", "invalid_type")
    for i, tool in enumerate(tools or []):
        where = f"tools[{i}]"
        if not isinstance(tool, dict) or not isinstance(tool.get("type"), str):
            raise _bad(f"{where} must be an object with a type.", where, "invalid_type")
        if tool["type"] != "function":
            continue
        function = tool.get("function")
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            raise _bad(f"{where}.function must be an object with a name.", f"{where}.function", "invalid_type")
        _typed(function, "description", str, "a string", f"{where}.function")
        _typed(function, "parameters", dict, "an object (a JSON schema)", f"{where}.function")
    choice = body.get("tool_choice")
    if choice is None or (isinstance(choice, str) and choice in TOOL_CHOICES):
        return
    if isinstance(choice, dict) and isinstance(choice.get("type"), str):
        function = choice.get("function")
        if choice["type"] != "function" or (isinstance(function, dict) and isinstance(function.get("name"), str)):
            return
    raise _bad("tool_choice must be none, auto, required or {type: function, function: {name}}.", "tool_choice",
               "invalid_type")


def _options(body: dict) -> None:
    _typed(body, "stream", bool, "true or false")
    _typed(body, "parallel_tool_calls", bool, "true or false")
    _typed(body, "stream_options", dict, "an object")
    if isinstance(body.get("stream_options"), dict):
        _typed(body["stream_options"], "include_usage", bool, "true or false", "stream_options")
    for name in ("metadata", "response_format", "provider", "reasoning", "logit_bias", "usage"):
        _typed(body, name, dict, "an object")
    _typed(body, "user", str, "a string")
    stop = body.get("stop")
    if stop is not None and not isinstance(stop, str) and not (
            isinstance(stop, list) and all(isinstance(s, str) for s in stop)):
        raise _bad("stop must be a string or a list of strings.", "stop", "invalid_type")
    for name in ("models", "transforms"):
        values = body.get(name)
        if values is None:
            continue
        if not isinstance(values, list):
            raise _bad(f"{name} must be a list of strings.", name, "invalid_type")
        for i, value in enumerate(values):
            if name == "models":
                _model_id(value, f"models[{i}]")
            elif not isinstance(value, str):
                raise _bad(f"{name}[{i}] must be a string.", f"{name}[{i}]", "invalid_type")


def validate_chat(body: dict) -> None:
    """Raise a 400 naming the parameter when the body is not a valid chat request."""
    if not isinstance(body.get("model"), str) or not body["model"].strip():
        raise _bad("model is required: a model id, an alias or @preset/<name>.", "model", "missing_required_parameter")
    _model_id(body["model"], "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _bad("messages is required: a non-empty list of {role, content} objects.", "messages",
                   "missing_required_parameter")
    for i, message in enumerate(messages):
        _message(message, f"messages[{i}]")
    _number(body, "temperature", 0, 2)
    _number(body, "top_p", 0, 1)
    _number(body, "presence_penalty", -2, 2)
    _number(body, "frequency_penalty", -2, 2)
    _number(body, "repetition_penalty", 0, 2)
    _integer(body, "max_tokens", 1)
    _integer(body, "max_completion_tokens", 1)
    _integer(body, "n", 1, 128)
    _integer(body, "top_k", 0)
    _integer(body, "seed", -(2**63), 2**63 - 1)
    _tools(body)
    _options(body)
