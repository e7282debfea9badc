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
