"""CORS for ``/v1``, so browser clients can call the gateway: the origins of ``GATEWAY_CORS_ORIGINS`` only.

A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``)
from an allowed origin is answered here, before authentication (browsers send
no credentials with it): 204 with the allowed methods and headers and a
max-age. Every other answer to an allowed origin, streams included, gets
``Access-Control-Allow-Origin`` and ``Access-Control-Expose-Headers`` naming
the gateway's own headers it carries. A request from any other origin gets no
CORS header at all, so the browser keeps its answer from the page.
"""

from __future__ import annotations

from django.conf import settings

from chat.proxy.asgi_io import encode_headers

ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = ("authorization", "content-type", "x-api-key", "x-client-api-key", "anthropic-version",
                 "anthropic-beta", "x-gateway-cache-ttl")
# Request headers SDKs add in browsers (the OpenAI and Anthropic SDKs' x-stainless-*, anthropic-*, openai-*).
ECHOED_PREFIXES = (b"x-stainless-", b"anthropic-", b"openai-", b"x-gateway-")
MAX_AGE = "600"
_EXPOSED_PREFIXES = (b"x-", b"retry-after", b"request-id")


def allowed_origin(headers: dict[bytes, bytes]) -> str | None:
    """The value of ``Access-Control-Allow-Origin`` for this request, or None when its origin is not allowed."""
    origins = settings.GATEWAY.cors_origins
    origin = headers.get(b"origin")
    if not origins or not origin:
        return None
    text = origin.decode("latin-1").strip()
    if "*" in origins:
        return "*"
    return text if text.rstrip("/") in origins else None


def is_preflight(method: str, headers: dict[bytes, bytes]) -> bool:
    return method == "OPTIONS" and b"access-control-request-method" in headers


def _vary(origin: str) -> dict[str, str]:
    return {} if origin == "*" else {"vary": "Origin"}


async def answer_preflight(send, origin: str, headers: dict[bytes, bytes], request_id: str) -> None:
    requested = [h.strip().lower() for h in headers.get(b"access-control-request-headers", b"").split(b",")]
    extra = [h.decode("latin-1") for h in requested if h.startswith(ECHOED_PREFIXES)]
    allow = ", ".join(dict.fromkeys([*ALLOW_HEADERS, *extra]))
    head = {"access-control-allow-origin": origin, "access-control-allow-methods": ALLOW_METHODS,
            "access-control-allow-headers": allow, "access-control-max-age": MAX_AGE,
            "x-request-id": request_id, **_vary(origin)}
    await send({"type": "http.response.start", "status": 204, "headers": encode_headers(head)})
    await send({"type": "http.response.body", "body": b""})


def sending_with_cors(send, origin: str):
    """Wrap ASGI ``send`` so the answer's start carries the CORS headers for ``origin``."""

    async def wrapped(message: dict) -> None:
        if message["type"] == "http.response.start":
            names = [name for name, _ in message.get("headers", []) if name.lower().startswith(_EXPOSED_PREFIXES)]
            head = {"access-control-allow-origin": origin, **_vary(origin)}
            if names:
                head["access-control-expose-headers"] = ", ".join(n.decode("latin-1").lower() for n in names)
            message = {**message, "headers": [*message.get("headers", []), *encode_headers(head)]}
        await send(message)

    return wrapped
