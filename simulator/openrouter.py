"""OpenRouter's API under ``/api/v1``: models, chat completions (whole or SSE, ``n`` choices), embeddings (float
or base64), key info, and OpenAI-shaped moderations (for the gateway's pass-through)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import struct
import time
from decimal import Decimal, InvalidOperation

from simulator.compose import compose
from simulator.faults import fault_arg, fault_for, raise_fault
from simulator.limits import admit, authenticate, key_info
from simulator.replies import Reply, Send, error, gen_id, send_json
from simulator.state import SimState

API = "/api/v1"


async def handle(state: SimState, method: str, path: str, headers: dict[str, str], body: bytes, send: Send,
                 disconnected: asyncio.Event) -> None:
    """Answer one request under ``API``; raise ``Reply`` for an error."""
    route = path[len(API):]
    if method == "GET" and route == "/models":
        if state.models_fault:
            raise error(state.models_fault, "Upstream models list is unavailable")
        await send_json(send, 200, {"data": state.models})
        return
    key = authenticate(state, headers)
    if method == "GET" and route == "/key":
        await send_json(send, 200, key_info(state, key))
        return
    if method == "POST" and route == "/chat/completions":
        await _chat(state, key, headers, body, send, disconnected)
        return
    if method == "POST" and route == "/embeddings":
        await _embeddings(state, key, body, send)
        return
    if method == "GET" and route == "/providers":
        await send_json(send, 200, {"data": [{"name": "SimProvider", "slug": "simprovider", "privacy_policy_url": None}]})
        return
    if method == "POST" and route == "/moderations":
        await _moderations(state, key, body, send)
        return
    if method == "GET" and route.startswith("/generation"):
        await send_json(send, 200, {"data": {"id": "gen-sim", "total_cost": 0}})
        return
    raise error(404, f"No route for {method} {path}")


async def _chat(state: SimState, key: str, headers: dict, raw: bytes, send: Send, disconnected: asyncio.Event) -> None:
    try:
        body = json.loads(raw)
    except ValueError:
        raise error(400, "Invalid JSON body") from None
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
        raise error(400, "messages is required")
    candidates = [body["model"]] if body.get("model") else []
    candidates += [m for m in body.get("models") or [] if m not in candidates]
    if not candidates:
        raise error(400, "model is required")
    if state.record_requests:
        state.requests.append(
            {"body": body, "key": key, "headers": {k: v for k, v in headers.items() if k != "authorization"}}
        )
    limit_headers = admit(state, key)
    model, fault, last_error = None, None, None
    for candidate in candidates:  # OpenRouter's own `models` fallback list
        fault = fault_for(state, body, candidate)
        try:
            if candidate in state.gone_models or not any(m["id"] == candidate for m in state.models):
                raise error(404, f"No endpoints found for {candidate}.")
            if fault:
                raise_fault(fault, candidate)
            model = candidate
            break
        except Reply as reply:
            last_error = reply
    if model is None:
        raise last_error
    if fault == "hang":
        await disconnected.wait()
        state.disconnects += 1
        return
    if fault and fault.startswith("slow"):
        await _sleep_or_disconnect(fault_arg(fault, 2000) / 1000, disconnected)
        if disconnected.is_set():
            state.disconnects += 1
            return
    if fault and fault.startswith("200_error"):
        await _error_in_200(send, model, int(fault_arg(fault, 502)), bool(body.get("stream")))
        return
    reply = compose(body, model)
    reply["usage"]["cost"] = _cost(state, body, model, reply["usage"])
    n = body.get("n") if isinstance(body.get("n"), int) and 1 <= body["n"] <= 16 else 1
    want_usage = fault != "no_usage"
    state.served += 1
    if body.get("stream"):
        include = bool((body.get("usage") or {}).get("include")) or bool(
            (body.get("stream_options") or {}).get("include_usage")
        )
        delay = fault_arg(fault, 0) / 1000 if fault and fault.startswith("chunk_delay") else 0.0
        await _stream(state, send, model, reply, want_usage and include, fault == "midstream", delay,
                      disconnected, limit_headers, n)
        return
    message: dict = {"role": "assistant", "content": reply["content"]}
    if reply["tool_calls"]:
        message["tool_calls"] = reply["tool_calls"]
    response = {
        "id": gen_id(),
        "provider": "SimProvider",
        "model": model,
        "object": "chat.completion",
        "created": int(time.time()),
        "choices": [
            {"index": i, "logprobs": None, "finish_reason": reply["finish_reason"],
             "native_finish_reason": reply["finish_reason"], "message": message} for i in range(n)
        ],
    }
    if want_usage:
        response["usage"] = dict(reply["usage"], completion_tokens=reply["usage"]["completion_tokens"] * n,
                                 total_tokens=reply["usage"]["prompt_tokens"] + reply["usage"]["completion_tokens"] * n)
    await send_json(send, 200, response, limit_headers)


def _cost(state: SimState, body: dict, model: str, usage: dict) -> float:
    """``usage.cost``: ``sim.cost`` when the request names one, else the tokens at the catalog's prices."""
    sim = body.get("sim") if isinstance(body.get("sim"), dict) else {}
    if isinstance(sim.get("cost"), int | float):
        return sim["cost"]
    pricing = next((m.get("pricing") or {} for m in state.models if m["id"] == model), {})
    try:
        cost = (Decimal(str(pricing.get("prompt") or 0)) * usage["prompt_tokens"]
                + Decimal(str(pricing.get("completion") or 0)) * usage["completion_tokens"])
    except (InvalidOperation, TypeError):
        return 0
    return float(cost)


async def _error_in_200(send: Send, model: str, code: int, stream: bool) -> None:
    """OpenRouter's failure after a provider was chosen: HTTP 200 and an error body (or first SSE event)."""
    message = "Bad request from the provider" if 400 <= code < 429 else "Provider returned error"
    failure = {"code": code, "message": message,
               "metadata": {"raw": f"{model} failed after it was chosen", "provider_name": "SimProvider"}}
    if not stream:
        await send_json(send, 200, {"error": failure})
        return
    event = {"id": gen_id(), "provider": "SimProvider", "model": model, "object": "chat.completion.chunk",
             "created": int(time.time()), "error": failure,
             "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}]}
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    await send({"type": "http.response.body", "body": b": OPENROUTER PROCESSING\n\n", "more_body": True})
    await send({"type": "http.response.body", "body": b"data: " + json.dumps(event).encode() + b"\n\n",
                "more_body": False})


async def _sleep_or_disconnect(seconds: float, disconnected: asyncio.Event) -> None:
    try:
        await asyncio.wait_for(disconnected.wait(), timeout=seconds)
    except TimeoutError:
        pass


async def _stream(state: SimState, send: Send, model: str, reply: dict, include_usage: bool, fail_midway: bool,
                  delay: float, disconnected: asyncio.Event, limit_headers: dict[str, str], n: int = 1) -> None:
    gen, created = gen_id(), int(time.time())
    headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
    headers += [(k.lower().encode(), v.encode()) for k, v in limit_headers.items()]
    await send({"type": "http.response.start", "status": 200, "headers": headers})

    def chunk(delta: dict, finish: str | None = None, index: int = 0, **extra) -> bytes:
        data = {"id": gen, "provider": "SimProvider", "model": model, "object": "chat.completion.chunk",
                "created": created,
                "choices": [{"index": index, "delta": delta, "finish_reason": finish, "native_finish_reason": finish,
                             "logprobs": None}]}
        data.update(extra)
        return b"data: " + json.dumps(data).encode() + b"\n\n"

    async def emit(payload: bytes) -> bool:
        if disconnected.is_set():
            return False
        await send({"type": "http.response.body", "body": payload, "more_body": True})
        return True

    await emit(b": OPENROUTER PROCESSING\n\n")
    await emit(chunk({"role": "assistant", "content": ""}))
    one: list[dict] = []
    for k, call in enumerate(reply["tool_calls"] or []):
        one.append({"tool_calls": [{"index": k, "id": call["id"], "type": "function",
                                    "function": {"name": call["function"]["name"], "arguments": ""}}]})
        one.append({"tool_calls": [{"index": k, "function": {"arguments": call["function"]["arguments"]}}]})
    if not reply["tool_calls"]:
        words = reply["content"].split(" ")
        one = [{"content": (w if i == 0 else " " + w)} for i, w in enumerate(words)]
    pieces = [(choice, piece) for choice in range(n) for piece in one]
    for i, (choice, piece) in enumerate(pieces):
        if fail_midway and i == 3:
            failure = {"code": 502, "message": "Provider disconnected mid-stream"}
            await emit(chunk({"content": ""}, "error", error=failure))
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            return
        if delay:
            await _sleep_or_disconnect(delay, disconnected)
        if i and i % 8 == 0:
            await emit(b": OPENROUTER PROCESSING\n\n")
        if not await emit(chunk(piece, index=choice)):
            state.disconnects += 1
            return
    for choice in range(n):
        await emit(chunk({}, reply["finish_reason"], index=choice))
    if include_usage:
        usage = {"id": gen, "provider": "SimProvider", "model": model, "object": "chat.completion.chunk",
                 "created": created, "choices": [], "usage": reply["usage"]}
        await emit(b"data: " + json.dumps(usage).encode() + b"\n\n")
    await emit(b"data: [DONE]\n\n")
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _embeddings(state: SimState, key: str, raw: bytes, send: Send) -> None:
    body = json.loads(raw or b"{}")
    inputs = body.get("input")
    if isinstance(inputs, str):
        inputs = [inputs]
    if not isinstance(inputs, list) or not inputs:
        raise error(400, "input is required")
    if state.record_requests:
        state.requests.append({"body": body, "key": key, "headers": {}})
    admit(state, key)
    fault = fault_for(state, body, str(body.get("model", "")))
    if fault:
        raise_fault(fault, str(body.get("model", "")))
    data = []
    for i, text in enumerate(inputs):
        digest = hashlib.sha256(str(text).encode()).digest()
        vector = [b / 255 for b in digest[:8]]
        if body.get("encoding_format") == "base64":  # little-endian float32, as OpenAI sends it
            vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": i, "embedding": vector})
    tokens = sum(len(str(t).split()) for t in inputs)
    await send_json(send, 200, {"object": "list", "model": body.get("model", ""), "data": data,
                                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


async def _moderations(state: SimState, key: str, raw: bytes, send: Send) -> None:
    """An OpenAI-shaped moderations answer: a path only the gateway's pass-through reaches (nothing is flagged)."""
    body = json.loads(raw or b"{}")
    inputs = body.get("input")
    inputs = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(inputs, list) or not inputs:
        raise error(400, "input is required")
    admit(state, key)
    results = [{"flagged": False, "categories": {}, "category_scores": {}} for _ in inputs]
    await send_json(send, 200, {"id": "modr-" + gen_id(), "model": body.get("model", ""), "results": results})
