"""OpenRouter's answer shapes: an immediate JSON reply (errors included) and generation ids."""

from __future__ import annotations

import json
import secrets
import string
import time
from collections.abc import Awaitable, Callable

Send = Callable[[dict], Awaitable[None]]

_ALNUM = string.ascii_letters + string.digits


class Reply(Exception):
    """Answer at once with this status, JSON body and headers."""

    def __init__(self, status: int, body: dict, headers: dict[str, str] | None = None):
        self.status = status
        self.body = body
        self.headers = headers or {}


def error(code: int, message: str, metadata: dict | None = None, headers: dict | None = None) -> Reply:
    """Return OpenRouter's error reply ``{"error": {"code", "message", "metadata"?}}``."""
    body = {"error": {"code": code, "message": message}}
    if metadata is not None:
        body["error"]["metadata"] = metadata
    return Reply(code, body, headers)


async def send_json(send: Send, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
    """Send ``body`` as one whole JSON response."""
    payload = json.dumps(body).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw_headers += [(k.lower().encode(), str(v).encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})


def gen_id() -> str:
    """Return a generation id in OpenRouter's form ``gen-<unix time>-<20 alphanumerics>``."""
    return f"gen-{int(time.time())}-" + "".join(secrets.choice(_ALNUM) for _ in range(20))
