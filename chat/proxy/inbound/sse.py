"""Reading the chat-completions SSE events an exchange delivers, for the inbound APIs that re-render them."""

from __future__ import annotations

import orjson

from chat.proxy.events import data_of


def chat_events(data: bytes) -> list[tuple[bytes, dict | None]]:
    """Split delivered bytes into whole events: ``(event, parsed data)``; parsed is None for comments, ``[DONE]``
    and anything that is not a JSON object (``event`` tells them apart)."""
    out: list[tuple[bytes, dict | None]] = []
    for event in data.split(b"\n\n"):
        if not event.strip():
            continue
        payload = data_of(event)
        parsed = None
        if payload and payload != b"[DONE]":
            try:
                parsed = orjson.loads(payload)
            except orjson.JSONDecodeError:
                parsed = None
        out.append((event + b"\n\n", parsed if isinstance(parsed, dict) else None))
    return out


def is_done(event: bytes) -> bool:
    return data_of(event) == b"[DONE]"
