"""Small ASGI helpers for the proxy: read a bounded body, send a whole response."""

from __future__ import annotations

from chat.proxy.errors import ProxyError


def declared_length(headers: dict[bytes, bytes]) -> int | None:
    """The request's ``Content-Length`` as a number; None when it sent none or one that is not a number."""
    raw = headers.get(b"content-length")
    if raw is None or not raw.strip().isdigit():
        return None
    return int(raw)


def too_large(limit: int) -> ProxyError:
    return ProxyError(413, f"Request body is larger than {limit} bytes.", code="request_too_large")


def refuse_declared_oversize(headers: dict[bytes, bytes], limit: int) -> None:
    """Raise 413 when the request announces a body past ``limit`` bytes (nothing of it is read)."""
    declared = declared_length(headers)
    if declared is not None and declared > limit:
        raise too_large(limit)


async def read_body(receive, limit: int) -> bytes:
    """Return the request body; raise 413 past ``limit`` bytes without reading the rest."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ConnectionResetError("client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def encode_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in headers.items()]


async def send_whole(send, status: int, body: bytes, headers: dict[str, str], content_type: bytes = b"application/json") -> None:
    raw = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    raw += encode_headers(headers)
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
