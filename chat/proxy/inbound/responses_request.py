"""A Responses API request as a chat-completions request (/work/shared/UPSTREAM-RESPONSES.md, sections 1 and 4).

Only the fields listed here reach the chat request (an allowlist: strict
upstreams refuse what they do not know); server features with no chat
equivalent are ignored, and what cannot be translated faithfully (hosted
tools, ``item_reference``) is a 400 naming the parameter.
"""

from __future__ import annotations

from chat.proxy.errors import ProxyError

# OpenAI server features with no chat equivalent: accepted and ignored.
IGNORED = frozenset({"include", "truncation", "service_tier", "background", "prompt_cache_key", "prompt_cache_retention",
                     "safety_identifier", "top_logprobs", "max_tool_calls", "stream_options", "conversation",
                     "prompt", "moderation"})
_COPIED = ("temperature", "top_p", "parallel_tool_calls", "user", "models")


def _bad(message: str, param: str, code: str = "invalid_value") -> ProxyError:
    return ProxyError(400, message, param=param, code=code)


def _text_of_parts(parts: list, where: str) -> str:
    texts = []
    for j, part in enumerate(parts):
        if not isinstance(part, dict):
            raise _bad(f"{where}[{j}] must be an object with a type.", f"{where}[{j}]", "invalid_type")
        text = part.get("text") if part.get("type") in ("input_text", "output_text") else part.get("refusal")
        if not isinstance(text, str):
            raise _bad(f"{where}[{j}] must be a text part.", f"{where}[{j}]", "invalid_type")
        texts.append(text)
    return "".join(texts)


def _chat_part(part: object, where: str) -> dict:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise _bad(f"{where} must be an object with a type.", where, "invalid_type")
    kind = part["type"]
    if kind in ("input_text", "output_text"):
        if not isinstance(part.get("text"), str):
            raise _bad(f"{where}.text must be a string.", f"{where}.text", "invalid_type")
        return {"type": "text", "text": part["text"]}
    if kind == "input_image":
        if not isinstance(part.get("image_url"), str):
            raise _bad(f"{where}.image_url must be a URL or a data: URL (file_id is not supported).",
                       f"{where}.image_url", "invalid_type")
        image = {"url": part["image_url"]}
        if part.get("detail") in ("low", "high", "auto"):
            image["detail"] = part["detail"]
        return {"type": "image_url", "image_url": image}
    if kind == "input_file":
        file = {k: part[k] for k in ("file_data", "file_id", "filename") if isinstance(part.get(k), str)}
        if "file_data" not in file and "file_id" not in file:
            raise _bad(f"{where} needs file_data or file_id (file_url is not supported).", where)
        return {"type": "file", "file": file}
    raise _bad(f"{where}.type {kind!r} is not supported; use input_text, input_image or input_file.",
               f"{where}.type")


def _message(item: dict, where: str) -> dict:
    role = item.get("role")
    if role not in ("user", "system", "developer", "assistant"):
        raise _bad(f"{where}.role must be user, system, developer or assistant.", f"{where}.role")
    content = item.get("content")
    if role == "assistant":
        if isinstance(content, list):
            content = _text_of_parts(content, f"{where}.content")
        if not isinstance(content, str):
            raise _bad(f"{where}.content must be a string or output_text parts.", f"{where}.content", "invalid_type")
        return {"role": "assistant", "content": content}
    if isinstance(content, list):
        content = [_chat_part(part, f"{where}.content[{j}]") for j, part in enumerate(content)]
    elif not isinstance(content, str):
        raise _bad(f"{where}.content must be a string or a list of input parts.", f"{where}.content",
                   "invalid_type")
    return {"role": "system" if role == "developer" else role, "content": content}


def _call(item: dict, where: str) -> dict:
    for name in ("call_id", "name", "arguments"):
        if not isinstance(item.get(name), str) or (name != "arguments" and not item[name]):
            raise _bad(f"{where}.{name} must be a string.", f"{where}.{name}", "invalid_type")
    return {"id": item["call_id"], "type": "function",
            "function": {"name": item["name"], "arguments": item["arguments"] or "{}"}}


def _output(item: dict, where: str) -> dict:
    if not isinstance(item.get("call_id"), str) or not item["call_id"]:
        raise _bad(f"{where}.call_id must be a string.", f"{where}.call_id", "invalid_type")
    output = item.get("output")
    if isinstance(output, list):
        output = _text_of_parts(output, f"{where}.output")
    if not isinstance(output, str):
        raise _bad(f"{where}.output must be a string or text parts.", f"{where}.output", "invalid_type")
    return {"role": "tool", "tool_call_id": item["call_id"], "content": output}


def input_messages(value: object) -> list[dict]:
    """The chat messages of a Responses ``input``: a string (one user turn) or a list of items."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise _bad("input is required: a string or a non-empty list of items.", "input", "missing_required_parameter")
    messages: list[dict] = []
    for i, item in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise _bad(f"{where} must be an object.", where, "invalid_type")
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            messages.append(_message(item, where))
        elif kind == "function_call":
            call = _call(item, where)
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":  # consecutive calls: one assistant message
                last.setdefault("tool_calls", []).append(call)
                last["content"] = last.get("content") or None
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif kind == "function_call_output":
            messages.append(_output(item, where))
        elif kind == "reasoning":
            continue  # raw reasoning has no chat form; the model reasons again
        else:
            raise _bad(f"{where}.type {kind!r} is not supported; use message, function_call or "
                       "function_call_output.", f"{where}.type")
    if not messages:
        raise _bad("input holds no message.", "input", "missing_required_parameter")
    return messages


def _tools(tools: object) -> list[dict]:
    if not isinstance(tools, list):
        raise _bad("tools must be a list of function tools.", "tools", "invalid_type")
    out = []
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or tool.get("type") != "function":
            raise _bad(f"tools[{i}] must be a function tool: only function tools are supported here.",
                       f"tools[{i}].type")
        if not isinstance(tool.get("name"), str) or not tool["name"]:
            raise _bad(f"tools[{i}].name must be a string.", f"tools[{i}].name", "missing_required_parameter")
        function = {"name": tool["name"], "parameters": tool.get("parameters") or {"type": "object", "properties": {}}}
        for name in ("description", "strict"):
            if tool.get(name) is not None:
                function[name] = tool[name]
        out.append({"type": "function", "function": function})
    return out


def _tool_choice(choice: object) -> object:
    if choice is None or isinstance(choice, str):
        return choice
    if isinstance(choice, dict) and choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise _bad("tool_choice must be none, auto, required or {type: function, name}.", "tool_choice", "invalid_type")


def _response_format(text: object) -> dict | None:
    if text is None:
        return None
    fmt = text.get("format") if isinstance(text, dict) else None
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise _bad("text.format.type must be text, json_object or json_schema.", "text.format", "invalid_type")
    if fmt["type"] != "json_schema":
        return {"type": fmt["type"]}
    if not isinstance(fmt.get("name"), str) or not isinstance(fmt.get("schema"), dict):
        raise _bad("text.format json_schema needs a name and a schema object.", "text.format",
                   "missing_required_parameter")
    schema = {k: fmt[k] for k in ("name", "schema", "strict", "description") if fmt.get(k) is not None}
    return {"type": "json_schema", "json_schema": schema}


def to_chat(body: dict, history: list[dict]) -> tuple[dict, list[dict]]:
    """Return the chat request for ``body`` after ``history`` (earlier turns) and the new turn's messages."""
    if body.get("previous_response_id") is not None and body.get("conversation") is not None:
        raise _bad("Send previous_response_id or conversation, not both.", "conversation")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise _bad("instructions must be a string.", "instructions", "invalid_type")
    new = input_messages(body.get("input"))
    chat: dict = {"model": body.get("model"), "messages": ([{"role": "system", "content": instructions}]
                                                           if instructions else []) + history + new}
    for name in _COPIED:
        if body.get(name) is not None:
            chat[name] = body[name]
    if body.get("max_output_tokens") is not None:
        chat["max_tokens"] = body["max_output_tokens"]
    if body.get("tools"):
        chat["tools"] = _tools(body["tools"])
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
    response_format = _response_format(body.get("text"))
    if response_format is not None:
        chat["response_format"] = response_format
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("effort"), str):
        chat["reasoning"] = {"effort": reasoning["effort"]}
    if body.get("stream") is not None:
        chat["stream"] = body["stream"]
        if body["stream"] is True:
            chat["stream_options"] = {"include_usage": True}
    return chat, new
