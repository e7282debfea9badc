"""An ASGI app that speaks OpenRouter's protocol, faults included (see shared UPSTREAM notes).

Routes under ``/api/v1``: ``GET /models``, ``POST /chat/completions``,
``POST /embeddings``, ``GET /key``. Control routes under ``/_sim`` let tests
and demos change its state: ``POST /_sim/reset``, ``POST /_sim/config``,
``GET /_sim/state``, ``GET /_sim/requests``. Anthropic's Messages API is
simulated under ``/anthropic/v1`` (``simulator.anthropic``).

Modules: ``openrouter`` (the API), ``control`` (``/_sim``), ``faults``,
``limits`` (keys and the free tier), ``compose`` (what the model says),
``state`` and ``replies``.

Faults are chosen per request, so tests stay deterministic: a request body may
carry ``"sim": {"fault": NAME}`` (every model) or ``"sim": {"faults": {MODEL:
NAME}}``; ``/_sim/config`` may set ``model_faults`` the same way for requests
that cannot carry a body field. Fault names: ``429_minute``, ``429_day``,
``429_provider[:seconds]``, ``400``, ``401``, ``402``, ``404``, ``408``,
``500``, ``502``, ``503``, ``slow:<ms>`` (delay before the first byte),
``chunk_delay:<ms>`` (delay between stream chunks), ``midstream`` (a stream
that fails after a few chunks), ``hang`` (never answers), ``no_usage``,
``200_error[:<code>]`` (HTTP 200 whose body, or first SSE event, is
``{"error": {"code": <code>, ...}}``, as OpenRouter answers once a provider was
chosen; code 502 by default). ``"sim": {"cost": X}`` makes ``usage.cost`` X
(else it is the tokens at the catalog's prices, as OpenRouter reports it). With
``"times": N`` and an ``"id"`` beside them, a fault plays only the first N
times that id and model are seen (a retry then succeeds).

With ``limits`` configured (``{"rpm": 20, "rpd": 50}``) it enforces per-account
request limits like the free tier; keys map to accounts through ``accounts``
(``{key: account}``; an unmapped key is its own account); ``account_limits``
(``{account: {"rpm": 5}}``) sets one account's limits over ``limits``, and
``paid_accounts`` the accounts ``GET /key`` says bought credits.
``GET /_sim/paths`` lists every keyed request with the attribution headers
(``referer``, ``title``) it carried.
"""

from __future__ import annotations

import asyncio

from simulator import anthropic, control, openrouter
from simulator.replies import Reply, error, send_json
from simulator.state import SimState


class Simulator:
    """The ASGI application; one instance holds one ``SimState``."""

    def __init__(self) -> None:
        self.state = SimState()

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
            seen = {k.lower(): v.decode("latin-1") for k, v in scope["headers"]}
            self.state.paths.append({"method": scope["method"], "path": scope["path"], "headers": sorted(
                k.decode("latin-1") for k in seen), "referer": seen.get(b"http-referer"), "title": seen.get(b"x-title")})
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
            await send_json(send, reply.status, reply.body, reply.headers)
        finally:
            self.state.in_flight -= 1
            watcher.cancel()

    async def _route(self, scope, body: bytes, send, disconnected: asyncio.Event) -> None:
        method, path = scope["method"], scope["path"]
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if path.startswith("/_sim/"):
            await control.handle(self, method, path, body, send)
        elif path.startswith(anthropic.PREFIX + "/"):
            await anthropic.handle(self.state, method, path, headers, body, send)
        elif path.startswith(openrouter.API):
            await openrouter.handle(self.state, method, path, headers, body, send, disconnected)
        else:
            raise error(404, f"No route for {path}")


def make_app() -> Simulator:
    return Simulator()
