"""Reading server-sent events in tests: the inverse of ``gateway_project.sse.sse_event``."""

from __future__ import annotations

from typing import Any

import httpx
import orjson


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """Return the ``(event name, decoded data)`` pairs in an SSE text; comments and data-less blocks are skipped."""
    events: list[tuple[str, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if data:
            events.append((name, orjson.loads("\n".join(data))))
    return events


def post_sse(url: str, headers: dict, body: dict) -> tuple[httpx.Response, list[tuple[str, Any]]]:
    """POST ``body`` to an SSE endpoint and read the whole stream; an answer that is not a stream has no events."""
    with httpx.Client(timeout=30) as client, client.stream("POST", url, json=body, headers=headers) as response:
        text = response.read().decode()
    events = parse_sse(text) if response.headers.get("content-type", "").startswith("text/event-stream") else []
    return response, events


def open_then_leave(url: str, headers: dict, body: dict, sim) -> dict:
    """Open an SSE stream, wait until the simulator holds one upstream call, hang up; return the simulator's state
    once it has seen the gateway cancel that call (``disconnects == 1``)."""
    from testing.servers import wait_until

    with httpx.Client(timeout=30) as client, client.stream("POST", url, json=body, headers=headers) as response:
        assert response.status_code == 200
        chunks = response.iter_bytes()  # kept: dropping the iterator would close the connection
        assert next(chunks).startswith(b": stream open")
        wait_until(lambda: sim.state()["in_flight"] == 1)
    return wait_until(lambda: (s := sim.state())["disconnects"] == 1 and s, timeout=5)
