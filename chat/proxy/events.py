"""One SSE event's payload, read the same way by the router, the relay and the in-process API."""

from __future__ import annotations


def data_of(event: bytes) -> bytes | None:
    """Return the stripped payload of the event's ``data:`` line, or None for comments and blank events."""
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            return line[5:].strip()
    return None
