"""Live request traces as SSE: ``GET /api/admin/traces/stream`` (every request) and ``GET /api/traces/stream``
(the caller's own), filterable by ``user`` (admins), ``key`` and ``model``.

Events come from ``chat.proxy.trace_live`` (every gateway process, through
Redis when it is configured). ``format=json`` (the default) sends each as a
``trace`` event; ``format=html`` is the console's Live page: each ``row`` event carries the
table row of one request, as an htmx out-of-band swap (prepended the first
time the request is seen, replaced in place as it moves on), which the htmx
SSE extension applies through one element that stays on the page. A client that reads too slowly loses
events (its queue is bounded); it never slows the requests.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from django.template.loader import render_to_string

from accounts.principals import Principal
from chat import trace_selectors
from chat.proxy import trace_live
from chat.proxy.trace import END_TYPES
from gateway_project.errors import ApiError
from gateway_project.sse import RawText, SseConsumer

PING_S = 15.0  # a comment-like event so a dead client is noticed and proxies keep the stream
ROWS_KEPT = 200  # requests a Live page keeps updating
FORMATS = ("json", "html")


class TraceStreamConsumer(SseConsumer):
    """The caller's own requests as they happen."""

    methods = ("GET",)
    everyone = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._watcher: trace_live.Watcher | None = None

    async def prepare(self, *, principal: Principal, data: dict) -> tuple[trace_live.Watcher, str]:
        query = {k: v[-1] for k, v in parse_qs(self.scope.get("query_string", b"").decode("latin-1")).items()}
        if self.everyone and not principal.is_admin:
            raise ApiError("Admins only.", status_code=403)
        fmt = query.get("format", "json")
        if fmt not in FORMATS:
            raise ApiError("format must be json or html.", status_code=400, extra={"param": "format"})
        if self.everyone:
            user_id = await sync_to_async(trace_selectors.live_filter_user)(query.get("user", ""))
        else:
            user_id = principal.user_id
        watcher = trace_live.Watcher(user_id=user_id, key=query.get("key", "").strip()[:trace_selectors.FILTER_CHARS],
                                     model=query.get("model", "").strip()[:trace_selectors.FILTER_CHARS])
        self._watcher = watcher
        await trace_live.hub().watch(watcher)  # subscribed before the stream opens: nothing after it is missed
        return watcher, fmt

    def events(self, *, principal: Principal, prepared: tuple[trace_live.Watcher, str]) -> AsyncIterator[tuple]:
        watcher, fmt = prepared
        return self._html(watcher) if fmt == "html" else self._json(watcher)

    async def _json(self, watcher: trace_live.Watcher) -> AsyncIterator[tuple[str, object]]:
        try:
            while True:
                batch = await _next_batch(watcher)
                if not batch:
                    yield "ping", {"dropped": watcher.dropped}
                for msg in batch:
                    yield "trace", msg
        finally:
            trace_live.hub().unwatch(watcher)

    async def _html(self, watcher: trace_live.Watcher) -> AsyncIterator[tuple[str, object]]:
        rows: OrderedDict[str, dict] = OrderedDict()
        try:
            while True:
                batch = await _next_batch(watcher)
                if not batch:
                    yield "ping", {"dropped": watcher.dropped}
                touched: dict[str, bool] = {}
                for msg in batch:  # several events of one request become one swap of its row
                    rid = msg["requestId"]
                    new = rid not in rows
                    row = rows.setdefault(rid, _row(msg))
                    rows.move_to_end(rid)
                    _advance(row, msg)
                    touched[rid] = touched.get(rid, new)
                while len(rows) > ROWS_KEPT:
                    rows.popitem(last=False)
                for rid, new in touched.items():
                    if rid in rows:
                        yield "row", RawText(render_to_string("chat/_live_row.html", {"r": rows[rid], "new": new}))
        finally:
            trace_live.hub().unwatch(watcher)

    async def disconnect(self) -> None:
        await super().disconnect()
        if self._watcher is not None:
            trace_live.hub().unwatch(self._watcher)


class AdminTraceStreamConsumer(TraceStreamConsumer):
    """Every request, of every user, from every gateway process."""

    everyone = True


async def _next_batch(watcher: trace_live.Watcher) -> list[dict]:
    """The next message and whatever else already waits; empty after ``PING_S`` of quiet."""
    try:
        first = await asyncio.wait_for(watcher.queue.get(), timeout=PING_S)
    except TimeoutError:
        return []
    batch = [first]
    while not watcher.queue.empty():
        batch.append(watcher.queue.get_nowait())
    return batch


def _row(msg: dict) -> dict:
    return {"requestId": msg["requestId"], "userId": msg["userId"], "keyPrefix": msg["keyPrefix"],
            "source": msg["source"], "model": msg["model"], "step": "accepted", "attempts": 0, "failed": 0,
            "modelUsed": "", "status": "", "tokens": "", "cost": "", "latencyMs": "", "ended": False}


def _advance(row: dict, msg: dict) -> None:
    """Move a Live row on by one event."""
    event = msg["event"]
    kind = event["type"]
    row["model"] = msg["model"] or row["model"]
    row["step"] = kind
    if kind == "attempt":
        if event.get("sent"):
            row["attempts"] += 1
            if event.get("verdict") != "served":
                row["failed"] += 1
            else:
                row["modelUsed"] = event.get("model", "")
        row["step"] = f"attempt: {event.get('verdict') or event.get('reason')}"
    elif kind in END_TYPES:
        row["ended"] = True
        row["status"] = event.get("status", "")
        row["modelUsed"] = event.get("modelUsed") or row["modelUsed"]
        row["tokens"] = (event.get("tokens") or {}).get("total", "")
        row["cost"] = event.get("cost", "")
        row["latencyMs"] = event.get("latencyMs", "")
