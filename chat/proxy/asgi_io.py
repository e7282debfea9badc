"""Small ASGI helpers for the proxy: read a bounded body, encode headers, send a whole response."""

from __future__ import annotations

import string
from urllib.parse import quote

from chat.proxy.errors import ProxyError
from gateway_project.bodylimit import declared_length

# Visible ASCII and the space pass unchanged; '%' only when nothing else needs escaping (see header_value()).
_PLAIN = frozenset(string.printable) - frozenset("\t\n\r\x0b\x0c")
_QUOTE_SAFE = "".join(sorted(_PLAIN - {"%"}))


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


def header_value(value: object) -> bytes:
    """Return ``value`` as header bytes that any client can read and that cannot split the header.

    Visible ASCII is sent as it is. Anything else (a model id in another script, a control
    character, CR or LF) makes the whole value percent-encoded UTF-8, the value encoding of
    RFC 8187: ``café`` is sent as ``caf%C3%A9``; decode with ``urllib.parse.unquote``.
    """
    text = str(value)
    if _PLAIN.issuperset(text):
        return text.encode("ascii")
    return quote(text, safe=_QUOTE_SAFE).encode("ascii")


# The ASGI server (uvicorn) sends its own of these on every answer; one relayed from an upstream would double them.
SERVER_HEADERS = frozenset({"date", "server"})


def encode_headers(headers: dict[str, str]) -> list[tuple[bytes, bytes]]:
    """Encode response headers for ASGI; values go through header_value(), the one place that does it.
    ``date`` and ``server`` are left to the ASGI server, so every answer has exactly one of each."""
    return [(k.encode("latin-1"), header_value(v)) for k, v in headers.items() if k.lower() not in SERVER_HEADERS]


async def send_whole(send, status: int, body: bytes, headers: dict[str, str], content_type: bytes = b"application/json") -> None:
    raw = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    raw += encode_headers(headers)
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
