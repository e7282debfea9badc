"""One SSE event's payload, read the same way by the router, the relay and the in-process API; and the finish
reasons a chat answer, or one of its stream's chunks, gives its choices."""

from __future__ import annotations


def data_of(event: bytes) -> bytes | None:
    """Return the stripped payload of the event's ``data:`` line, or None for comments and blank events."""
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            return line[5:].strip()
    return None


def finish_reasons(body: dict | None) -> list[str]:
    """Return the ``finish_reason`` of each choice that has one, in order (an answer's, or a chunk's)."""
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(choices, list):
        return []
    return [str(c["finish_reason"]) for c in choices if isinstance(c, dict) and c.get("finish_reason")]
