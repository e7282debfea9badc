"""Chat answers rendered as Responses API objects and events (/work/shared/UPSTREAM-RESPONSES.md, sections 2-4).

``Rendered`` holds one response under construction: the fields echoed from the
request, the output items (one minted id each, never an upstream id), usage and
status. A whole chat answer fills it at once (``from_chat``); a stream feeds it
chunk by chunk (``ResponsesStream``), which yields the event sequence the SDKs
check: created, in_progress, then per item added -> deltas -> done, then one
terminal event (completed, incomplete or failed), each with a rising
``sequence_number``.
"""

from __future__ import annotations

import secrets
import time

import orjson

_FINISH = {"length": "max_output_tokens", "content_filter": "content_filter"}


def mint(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


def usage_of(usage: dict | None) -> dict:
    usage = usage if isinstance(usage, dict) else {}
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": int(usage.get("prompt_tokens") or 0),
        "input_tokens_details": {"cached_tokens": int(prompt.get("cached_tokens") or 0),
                                 "cache_write_tokens": int(prompt.get("cache_write_tokens") or 0)},
        "output_tokens": int(usage.get("completion_tokens") or 0),
        "output_tokens_details": {"reasoning_tokens": int(completion.get("reasoning_tokens") or 0)},
        "total_tokens": int(usage.get("total_tokens") or 0),
    }


class Rendered:
    """One Response object being built."""

    def __init__(self, request: dict, model: str) -> None:
        self.id = mint("resp")
        self.created_at = int(time.time())
        self.request = request
        self.model = model
        self.output: list[dict] = []
        self.usage: dict | None = None
        self.status = "in_progress"
        self.error: dict | None = None
        self.incomplete: dict | None = None

    def message_item(self, text: str = "", status: str = "in_progress") -> dict:
        return {"type": "message", "id": mint("msg"), "role": "assistant", "status": status,
                "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}] if text
                or status == "completed" else []}

    def call_item(self, call_id: str | None, name: str, arguments: str = "", status: str = "in_progress") -> dict:
        return {"type": "function_call", "id": mint("fc"), "call_id": call_id or mint("call"), "name": name,
                "arguments": arguments, "status": status}

    def finish(self, finish_reason: str | None) -> None:
        reason = _FINISH.get(finish_reason or "")
        if finish_reason == "error":
            self.fail("The upstream failed while answering.")
        elif reason:
            self.status, self.incomplete = "incomplete", {"reason": reason}
        else:
            self.status = "completed"

    def fail(self, message: str, code: str = "server_error") -> None:
        self.status, self.error = "failed", {"code": code, "message": message}

    def obj(self) -> dict:
        r = self.request
        text = r.get("text") if isinstance(r.get("text"), dict) else {}
        data = {
            "id": self.id, "object": "response", "created_at": self.created_at, "status": self.status,
            "error": self.error, "incomplete_details": self.incomplete, "instructions": r.get("instructions"),
            "max_output_tokens": r.get("max_output_tokens"), "metadata": r.get("metadata") or {},
            "model": self.model, "output": self.output, "parallel_tool_calls": r.get("parallel_tool_calls", True),
            "previous_response_id": r.get("previous_response_id"), "reasoning": r.get("reasoning"),
            "store": r.get("store") is not False, "temperature": r.get("temperature"),
            "text": {"format": text.get("format") or {"type": "text"}}, "tool_choice": r.get("tool_choice") or "auto",
            "tools": r.get("tools") or [], "top_p": r.get("top_p"), "truncation": "disabled",
            "usage": self.usage, "user": r.get("user"),
        }
        if self.status == "completed":
            data["completed_at"] = int(time.time())
        return data

    def assistant_messages(self) -> list[dict]:
        """The output as chat messages, for the next turn's history."""
        text = "".join(p.get("text", "") for item in self.output if item["type"] == "message"
                       for p in item["content"])
        calls = [{"id": item["call_id"], "type": "function",
                  "function": {"name": item["name"], "arguments": item["arguments"] or "{}"}}
                 for item in self.output if item["type"] == "function_call"]
        if not text and not calls:
            return []
        message: dict = {"role": "assistant", "content": text or None}
        if calls:
            message["tool_calls"] = calls
        return [message]


def from_chat(rendered: Rendered, chat: dict) -> Rendered:
    """Fill ``rendered`` from a whole ``chat.completion``."""
    choice = (chat.get("choices") or [{}])[0] or {}
    message = choice.get("message") or {}
    if message.get("content"):
        rendered.output.append(rendered.message_item(message["content"], "completed"))
    elif message.get("refusal"):
        item = rendered.message_item(status="completed")
        item["content"] = [{"type": "refusal", "refusal": message["refusal"]}]
        rendered.output.append(item)
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        rendered.output.append(rendered.call_item(call.get("id"), function.get("name", ""),
                                                  function.get("arguments") or "{}", "completed"))
    rendered.usage = usage_of(chat.get("usage"))
    rendered.finish(choice.get("finish_reason"))
    return rendered


class ResponsesStream:
    """Chat stream chunks in, Responses SSE events out."""

    def __init__(self, rendered: Rendered) -> None:
        self.r = rendered
        self.seq = 0
        self.message: dict | None = None  # the open message item
        self.calls: dict[int, dict] = {}  # open function_call items by the chunk's tool index
        self.finish_reason: str | None = None
        self.ended = False

    def _event(self, kind: str, **fields) -> bytes:
        payload = {"type": kind, "sequence_number": self.seq, **fields}
        self.seq += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"

    def start(self) -> bytes:
        snapshot = self.r.obj()
        return self._event("response.created", response=snapshot) + self._event("response.in_progress",
                                                                                 response=snapshot)

    def _index(self, item: dict) -> int:
        return self.r.output.index(item)

    def _open_message(self) -> bytes:
        out = self._close_calls()
        if self.message is None:
            self.message = self.r.message_item()
            self.r.output.append(self.message)
            index = self._index(self.message)
            out += self._event("response.output_item.added", output_index=index, item=dict(self.message, content=[]))
            part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
            self.message["content"] = [part]
            out += self._event("response.content_part.added", item_id=self.message["id"], output_index=index,
                               content_index=0, part=dict(part))
        return out

    def _close_message(self) -> bytes:
        if self.message is None:
            return b""
        item, self.message = self.message, None
        index, part = self._index(item), item["content"][0]
        item["status"] = "completed"
        ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
        return (self._event("response.output_text.done", **ids, text=part["text"], logprobs=[])
                + self._event("response.content_part.done", **ids, part=part)
                + self._event("response.output_item.done", output_index=index, item=item))

    def _close_calls(self) -> bytes:
        out = b""
        for item in self.calls.values():
            if item["status"] == "completed":
                continue
            item["status"] = "completed"
            item["arguments"] = item["arguments"] or "{}"
            index = self._index(item)
            out += self._event("response.function_call_arguments.done", item_id=item["id"], output_index=index,
                               arguments=item["arguments"], name=item["name"])
            out += self._event("response.output_item.done", output_index=index, item=item)
        return out

    def _tool_delta(self, fragment: dict) -> bytes:
        index = fragment.get("index", 0)
        function = fragment.get("function") or {}
        out = b""
        item = self.calls.get(index)
        if item is None:
            out += self._close_message() + self._close_calls()
            item = self.calls[index] = self.r.call_item(fragment.get("id"), function.get("name") or "")
            self.r.output.append(item)
            out += self._event("response.output_item.added", output_index=self._index(item), item=dict(item))
        if function.get("arguments"):
            item["arguments"] += function["arguments"]
            out += self._event("response.function_call_arguments.delta", item_id=item["id"],
                               output_index=self._index(item), delta=function["arguments"])
        return out

    def chunk(self, chunk: dict) -> bytes:
        """The events for one chat chunk (an ``error`` chunk fails the response)."""
        if self.ended:
            return b""
        if chunk.get("error"):
            error = chunk["error"] if isinstance(chunk["error"], dict) else {}
            return self.failed(str(error.get("message") or "The upstream failed mid-stream."))
        if chunk.get("usage"):
            self.r.usage = usage_of(chunk["usage"])
        out = b""
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("content"):
                out += self._open_message()
                self.message["content"][0]["text"] += delta["content"]
                out += self._event("response.output_text.delta", item_id=self.message["id"],
                                   output_index=self._index(self.message), content_index=0,
                                   delta=delta["content"], logprobs=[])
            for fragment in delta.get("tool_calls") or []:
                if isinstance(fragment, dict):
                    out += self._tool_delta(fragment)
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
                if self.finish_reason == "error":
                    return out + self.failed("The upstream failed mid-stream.")
        return out

    def close_items(self) -> bytes:
        return self._close_message() + self._close_calls()

    def completed(self) -> bytes:
        """The terminal event of a stream that ended well (``[DONE]``)."""
        out = self.close_items()
        self.r.usage = self.r.usage or usage_of(None)
        self.r.finish(self.finish_reason)
        self.ended = True
        kind = {"completed": "response.completed", "incomplete": "response.incomplete"}.get(self.r.status,
                                                                                            "response.failed")
        return out + self._event(kind, response=self.r.obj())

    def failed(self, message: str) -> bytes:
        """``response.failed`` with the output so far; the items left open are marked incomplete."""
        for item in self.r.output:
            if item["status"] == "in_progress":
                item["status"] = "incomplete"
        self.message, self.ended = None, True
        self.r.fail(message)
        self.r.usage = self.r.usage or usage_of(None)
        return self._event("response.failed", response=self.r.obj())
