"""An ASGI app that speaks OpenRouter's protocol, faults included (see shared UPSTREAM notes).

Routes under ``/api/v1``: ``GET /models``, ``POST /chat/completions``,
``POST /embeddings``, ``GET /key``. Control routes under ``/_sim`` let tests
and demos change its state: ``POST /_sim/reset``, ``POST /_sim/config``,
``GET /_sim/state``, ``GET /_sim/requests`` (chat requests), ``GET /_sim/paths``
(method and path of every request that carried a key, whatever its route). Anthropic's Messages API is
simulated under ``/anthropic/v1`` (``chat.simulator.anthropic``).

Faults are chosen per request, so tests stay deterministic: a request body may
carry ``"sim": {"fault": NAME}`` (every model) or ``"sim": {"faults": {MODEL:
NAME}}``; ``/_sim/config`` may set ``model_faults`` the same way for requests
that cannot carry a body field. Fault names: ``429_minute``, ``429_day``,
``429_provider[:seconds]``, ``400``, ``401``, ``402``, ``404``, ``408``,
``500``, ``502``, ``503``, ``slow:<ms>`` (delay before the first byte),
``chunk_delay:<ms>`` (delay between stream chunks), ``midstream`` (a stream
that fails after a few chunks), ``hang`` (never answers), ``no_usage``. With
``"times": N`` and an ``"id"`` beside them, a fault plays only the first N
times that id and model are seen (a retry then succeeds).

With ``limits`` configured (``{"rpm": 20, "rpd": 50}``) it enforces per-account
request limits like the free tier; keys map to accounts through ``accounts``
(``{key: account}``; an unmapped key is its own account).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
import string
import time
from dataclasses import dataclass, field

from chat.simulator import anthropic
from chat.simulator.catalog import default_models

API = "/api/v1"
_ALNUM = string.ascii_letters + string.digits


@dataclass
class _Window:
    minute_start: float = 0.0
    minute_count: int = 0
    day_start: float = 0.0
    day_count: int = 0


@dataclass
class SimState:
    models: list[dict] = field(default_factory=default_models)
    models_fault: int | None = None
    model_faults: dict[str, str] = field(default_factory=dict)
    gone_models: set[str] = field(default_factory=set)
    revoked_keys: set[str] = field(default_factory=set)
    accounts: dict[str, str] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)
    windows: dict[str, _Window] = field(default_factory=dict)
    fault_hits: dict[str, int] = field(default_factory=dict)
    requests: list[dict] = field(default_factory=list)
    paths: list[dict] = field(default_factory=list)  # every request that carried a key: {method, path}
    record_requests: bool = True
    in_flight: int = 0
    disconnects: int = 0
    served: int = 0

    def snapshot(self) -> dict:
        return {
            "in_flight": self.in_flight,
            "disconnects": self.disconnects,
            "served": self.served,
            "recorded": len(self.requests),
            "accounts": {a: {"minute": w.minute_count, "day": w.day_count} for a, w in self.windows.items()},
        }


class Reply(Exception):
    """Answer at once with this status, JSON body and headers."""

    def __init__(self, status: int, body: dict, headers: dict[str, str] | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}


def _error(code: int, message: str, metadata: dict | None = None, headers: dict | None = None) -> Reply:
    body = {"error": {"code": code, "message": message}}
    if metadata is not None:
        body["error"]["metadata"] = metadata
    return Reply(code, body, headers)


def _gen_id() -> str:
    return f"gen-{int(time.time())}-" + "".join(secrets.choice(_ALNUM) for _ in range(20))


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


class Simulator:
    """The ASGI application; one instance holds one ``SimState``."""

    def __init__(self) -> None:
        self.state = SimState()

    # ------------------------------------------------------------ ASGI plumbing

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if any(k.lower() == b"authorization" for k, _ in scope["headers"]):
            self.state.paths.append({"method": scope["method"], "path": scope["path"]})
        disconnected = asyncio.Event()

        async def watch() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    disconnected.set()
                    return

        watcher = asyncio.create_task(watch())
        self.state.in_flight += 1
        try:
            await self._route(scope, body, send, disconnected)
        except Reply as reply:
            await self._send_json(send, reply.status, reply.body, reply.headers)
        finally:
            self.state.in_flight -= 1
            watcher.cancel()

    @staticmethod
    async def _send_json(send, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
        raw_headers += [(k.lower().encode(), str(v).encode()) for k, v in (headers or {}).items()]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": payload})

    # ------------------------------------------------------------ routing

    async def _route(self, scope, body: bytes, send, disconnected: asyncio.Event) -> None:
        method, path = scope["method"], scope["path"]
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if path.startswith("/_sim/"):
            await self._control(method, path, body, send)
            return
        if path.startswith(anthropic.PREFIX + "/"):
            await anthropic.handle(self.state, method, path, headers, body, send)
            return
        if not path.startswith(API):
            raise _error(404, f"No route for {path}")
        route = path[len(API):]
        if method == "GET" and route == "/models":
            if self.state.models_fault:
                raise _error(self.state.models_fault, "Upstream models list is unavailable")
            await self._send_json(send, 200, {"data": self.state.models})
            return
        key = self._authenticate(headers)
        if method == "GET" and route == "/key":
            await self._send_json(send, 200, self._key_info(key))
            return
        if method == "POST" and route == "/chat/completions":
            await self._chat(key, headers, body, send, disconnected)
            return
        if method == "POST" and route == "/embeddings":
            await self._embeddings(key, body, send)
            return
        if method == "GET" and route.startswith("/generation"):
            await self._send_json(send, 200, {"data": {"id": "gen-sim", "total_cost": 0}})
            return
        raise _error(404, f"No route for {method} {path}")

    async def _control(self, method: str, path: str, body: bytes, send) -> None:
        state = self.state
        if path == "/_sim/reset" and method == "POST":
            self.state = SimState()
            await self._send_json(send, 200, {"reset": True})
        elif path == "/_sim/config" and method == "POST":
            data = json.loads(body or b"{}")
            if "models" in data:
                state.models = data["models"]
            if "remove_models" in data:
                gone = set(data["remove_models"])
                state.models = [m for m in state.models if m["id"] not in gone]
            if "add_models" in data:
                state.models.extend(data["add_models"])
            if "models_fault" in data:
                state.models_fault = data["models_fault"]
            if "model_faults" in data:
                state.model_faults = dict(data["model_faults"])
            if "gone_models" in data:
                state.gone_models = set(data["gone_models"])
            if "revoked_keys" in data:
                state.revoked_keys = set(data["revoked_keys"])
            if "accounts" in data:
                state.accounts = dict(data["accounts"])
            if "limits" in data:
                state.limits = dict(data["limits"])
                state.windows.clear()
            if "record_requests" in data:
                state.record_requests = bool(data["record_requests"])
            await self._send_json(send, 200, {"ok": True})
        elif path == "/_sim/state" and method == "GET":
            await self._send_json(send, 200, state.snapshot())
        elif path == "/_sim/requests" and method == "GET":
            await self._send_json(send, 200, {"requests": state.requests})
        elif path == "/_sim/paths" and method == "GET":
            await self._send_json(send, 200, {"paths": state.paths})
        else:
            raise _error(404, f"No control route {method} {path}")

    # ------------------------------------------------------------ auth and limits

    def _authenticate(self, headers: dict[str, str]) -> str:
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            raise _error(401, "No auth credentials found")
        key = auth[7:].strip()
        if key in self.state.revoked_keys or key.startswith("sk-bad"):
            raise _error(401, "User not found.")
        return key

    def _account(self, key: str) -> str:
        return self.state.accounts.get(key) or "acct-" + hashlib.sha256(key.encode()).hexdigest()[:8]

    def _limit_headers(self, window: _Window, limit: int, remaining: int, reset_ms: int) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(remaining, 0)),
            "X-RateLimit-Reset": str(reset_ms),
        }

    def _admit(self, key: str) -> dict[str, str]:
        """Count a request against the key's account; raise the free tier's 429 when spent."""
        limits = self.state.limits
        if not limits:
            return {}
        now = time.time()
        window = self.state.windows.setdefault(self._account(key), _Window())
        if now - window.minute_start >= 60:
            window.minute_start, window.minute_count = now, 0
        if now - window.day_start >= 86400:
            window.day_start, window.day_count = now, 0
        rpd, rpm = limits.get("rpd"), limits.get("rpm")
        if rpd is not None and window.day_count >= rpd:
            reset = int((window.day_start + 86400) * 1000)
            headers = self._limit_headers(window, rpd, 0, reset)
            raise _error(429, "Rate limit exceeded: free-models-per-day", {"headers": headers}, headers)
        if rpm is not None and window.minute_count >= rpm:
            reset = int((window.minute_start + 60) * 1000)
            headers = self._limit_headers(window, rpm, 0, reset)
            raise _error(429, "Rate limit exceeded: free-models-per-min", {"headers": headers}, headers)
        window.minute_count += 1
        window.day_count += 1
        if rpm is not None:
            return self._limit_headers(window, rpm, rpm - window.minute_count, int((window.minute_start + 60) * 1000))
        return self._limit_headers(window, rpd, rpd - window.day_count, int((window.day_start + 86400) * 1000))

    def _key_info(self, key: str) -> dict:
        return {
            "data": {
                "label": f"sim-…{key[-4:]}",
                "limit": None,
                "limit_remaining": None,
                "usage": 0,
                "is_free_tier": True,
                "rate_limit": {"requests": self.state.limits.get("rpm", 20), "interval": "1m"},
            }
        }

    # ------------------------------------------------------------ faults

    def _fault_for(self, body: dict, model: str) -> str | None:
        """The fault to play for ``model``; with ``sim.times`` and ``sim.id`` only the first N times."""
        sim = body.get("sim") if isinstance(body.get("sim"), dict) else {}
        faults = sim.get("faults") or {}
        fault = faults.get(model) or sim.get("fault")
        if fault and sim.get("times") is not None:
            counter = f"{sim.get('id', '')}:{model}"
            seen = self.state.fault_hits.get(counter, 0)
            if seen >= int(sim["times"]):
                return None
            self.state.fault_hits[counter] = seen + 1
        return fault or self.state.model_faults.get(model) or self.state.model_faults.get("*")

    @staticmethod
    def _fault_arg(fault: str, default: float) -> float:
        _, _, arg = fault.partition(":")
        try:
            return float(arg) if arg else default
        except ValueError:
            return default

    def _raise_fault(self, fault: str, model: str) -> None:
        now_ms = int(time.time() * 1000)
        if fault == "429_minute":
            headers = {"X-RateLimit-Limit": "20", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(now_ms + 60_000)}
            raise _error(429, "Rate limit exceeded: free-models-per-min", {"headers": headers}, headers)
        if fault == "429_day":
            headers = {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(now_ms + 86_400_000)}
            raise _error(429, "Rate limit exceeded: free-models-per-day", {"headers": headers}, headers)
        if fault.startswith("429_provider"):
            seconds = self._fault_arg(fault, 1.0)
            raise _error(
                429,
                "Provider returned error",
                {"raw": f"{model} is temporarily rate-limited upstream", "provider_name": "SimProvider",
                 "retry_after_seconds": seconds},
                {"Retry-After": str(int(seconds) if seconds == int(seconds) else seconds)},
            )
        simple = {
            "400": (400, "Bad request from the provider"),
            "401": (401, "User not found."),
            "402": (402, "Insufficient credits"),
            "404": (404, f"No endpoints found for {model}."),
            "408": (408, "Request timed out"),
            "500": (500, "Internal Server Error"),
            "502": (502, "Provider returned error"),
            "503": (503, "No provider available"),
        }
        if fault in simple:
            code, message = simple[fault]
            metadata = {"raw": "upstream exploded", "provider_name": "SimProvider"} if code == 502 else None
            raise _error(code, message, metadata)

    # ------------------------------------------------------------ chat

    async def _chat(self, key: str, headers: dict, raw: bytes, send, disconnected: asyncio.Event) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            raise _error(400, "Invalid JSON body") from None
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
            raise _error(400, "messages is required")
        candidates = [body["model"]] if body.get("model") else []
        candidates += [m for m in body.get("models") or [] if m not in candidates]
        if not candidates:
            raise _error(400, "model is required")
        if self.state.record_requests:
            self.state.requests.append(
                {"body": body, "key": key, "headers": {k: v for k, v in headers.items() if k != "authorization"}}
            )
        limit_headers = self._admit(key)
        model, fault, last_error = None, None, None
        for candidate in candidates:  # OpenRouter's own `models` fallback list
            fault = self._fault_for(body, candidate)
            try:
                if candidate in self.state.gone_models or not any(m["id"] == candidate for m in self.state.models):
                    raise _error(404, f"No endpoints found for {candidate}.")
                if fault:
                    self._raise_fault(fault, candidate)
                model = candidate
                break
            except Reply as reply:
                last_error = reply
        if model is None:
            raise last_error
        if fault == "hang":
            await disconnected.wait()
            self.state.disconnects += 1
            return
        if fault and fault.startswith("slow"):
            await self._sleep_or_disconnect(self._fault_arg(fault, 2000) / 1000, disconnected)
            if disconnected.is_set():
                self.state.disconnects += 1
                return
        reply = self._compose(body, model)
        want_usage = fault != "no_usage"
        self.state.served += 1
        if body.get("stream"):
            include = bool((body.get("usage") or {}).get("include")) or bool(
                (body.get("stream_options") or {}).get("include_usage")
            )
            delay = self._fault_arg(fault, 0) / 1000 if fault and fault.startswith("chunk_delay") else 0.0
            await self._stream(send, body, model, reply, want_usage and include, fault == "midstream", delay,
                               disconnected, limit_headers)
            return
        message: dict = {"role": "assistant", "content": reply["content"]}
        if reply["tool_calls"]:
            message["tool_calls"] = reply["tool_calls"]
        response = {
            "id": _gen_id(),
            "provider": "SimProvider",
            "model": model,
            "object": "chat.completion",
            "created": int(time.time()),
            "choices": [
                {"index": 0, "logprobs": None, "finish_reason": reply["finish_reason"],
                 "native_finish_reason": reply["finish_reason"], "message": message}
            ],
        }
        if want_usage:
            response["usage"] = reply["usage"]
        await self._send_json(send, 200, response, limit_headers)

    @staticmethod
    async def _sleep_or_disconnect(seconds: float, disconnected: asyncio.Event) -> None:
        try:
            await asyncio.wait_for(disconnected.wait(), timeout=seconds)
        except TimeoutError:
            pass

    def _compose(self, body: dict, model: str) -> dict:
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
            completion = 10
            return {
                "content": None,
                "tool_calls": [call],
                "finish_reason": "tool_calls",
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                          "total_tokens": prompt_tokens + completion, "cost": 0},
            }
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
        completion = len(words)
        return {
            "content": " ".join(words),
            "tool_calls": None,
            "finish_reason": finish,
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                      "total_tokens": prompt_tokens + completion, "cost": 0},
        }

    async def _stream(self, send, body, model, reply, include_usage, fail_midway, delay, disconnected,
                      limit_headers) -> None:
        gen_id, created = _gen_id(), int(time.time())
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        headers += [(k.lower().encode(), v.encode()) for k, v in limit_headers.items()]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

        def chunk(delta: dict, finish: str | None = None, **extra) -> bytes:
            data = {"id": gen_id, "provider": "SimProvider", "model": model, "object": "chat.completion.chunk",
                    "created": created,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "native_finish_reason": finish,
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
        pieces: list[dict] = []
        if reply["tool_calls"]:
            call = reply["tool_calls"][0]
            pieces.append({"tool_calls": [{"index": 0, "id": call["id"], "type": "function",
                                           "function": {"name": call["function"]["name"], "arguments": ""}}]})
            pieces.append({"tool_calls": [{"index": 0, "function": {"arguments": call["function"]["arguments"]}}]})
        else:
            words = reply["content"].split(" ")
            pieces = [{"content": (w if i == 0 else " " + w)} for i, w in enumerate(words)]
        for i, piece in enumerate(pieces):
            if fail_midway and i == 3:
                error = {"code": 502, "message": "Provider disconnected mid-stream"}
                await emit(chunk({"content": ""}, "error", error=error))
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            if delay:
                await self._sleep_or_disconnect(delay, disconnected)
            if i and i % 8 == 0:
                await emit(b": OPENROUTER PROCESSING\n\n")
            if not await emit(chunk(piece)):
                self.state.disconnects += 1
                return
        await emit(chunk({}, reply["finish_reason"]))
        if include_usage:
            usage = {"id": gen_id, "provider": "SimProvider", "model": model, "object": "chat.completion.chunk",
                     "created": created, "choices": [], "usage": reply["usage"]}
            await emit(b"data: " + json.dumps(usage).encode() + b"\n\n")
        await emit(b"data: [DONE]\n\n")
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _embeddings(self, key: str, raw: bytes, send) -> None:
        body = json.loads(raw or b"{}")
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        if not isinstance(inputs, list) or not inputs:
            raise _error(400, "input is required")
        self._admit(key)
        data = []
        for i, text in enumerate(inputs):
            digest = hashlib.sha256(str(text).encode()).digest()
            data.append({"object": "embedding", "index": i, "embedding": [b / 255 for b in digest[:8]]})
        tokens = sum(len(str(t).split()) for t in inputs)
        await self._send_json(send, 200, {"object": "list", "model": body.get("model", ""), "data": data,
                                          "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def make_app() -> Simulator:
    return Simulator()
