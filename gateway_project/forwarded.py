"""Who is on the other end of the connection: the one place that reads proxy headers.

``TRUSTED_PROXIES`` (comma-separated addresses and CIDR blocks, default none)
names the reverse proxies whose ``X-Forwarded-For`` and ``X-Forwarded-Proto``
are believed. For a request from any other peer these headers are ignored: the
client is the peer and the scheme is the connection's own. The ASGI wrapper
here rewrites ``scope["client"]`` and ``scope["scheme"]`` once, before
anything else runs, so Django (``REMOTE_ADDR``, ``request.is_secure()``), every
django-ratelimit throttle, the SSE consumers and the /v1 app all see the same
answer. uvicorn's own ``--proxy-headers`` must stay off (``--no-proxy-headers``)
or it would rewrite the scope first, trusting any loopback peer.

With ``GATEWAY_HTTPS_REDIRECT=1`` a plain-HTTP request (as the trusted proxy
reports it) is redirected to HTTPS, except ``/health/*`` (probes talk plain
HTTP to the container).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from django.conf import settings
from django.http.request import split_domain_port, validate_host

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_SECURE = {"http": "https", "ws": "wss"}
_PLAIN = {"https": "http", "wss": "ws"}
REDIRECT_EXEMPT_PREFIX = "/health/"


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:1234"
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def is_trusted(host: str | None, trusted: Iterable[Network]) -> bool:
    """Return whether the peer ``host`` is one of the ``trusted`` proxies."""
    address = _address(host) if host else None
    return address is not None and any(address in network for network in trusted)


def client_from(peer: str, forwarded_for: list[str], trusted: Iterable[Network]) -> str:
    """Return the client's address behind the trusted ``peer``, from its ``X-Forwarded-For`` chain.

    The chain is read from the right: each hop that is itself a trusted proxy is
    skipped, the first one that is not is the client. A hop that is not an IP
    address ends the walk at the last trusted hop (a forged or broken chain is
    never believed past it).
    """
    trusted = tuple(trusted)
    client = peer
    for hop in reversed(forwarded_for):
        address = _address(hop)
        if address is None:
            return client
        client = str(address)
        if not any(address in network for network in trusted):
            return client
    return client


def _header_values(headers: list[tuple[bytes, bytes]], name: bytes) -> list[str]:
    values: list[str] = []
    for key, value in headers:
        if key.lower() == name:
            values.extend(part.strip() for part in value.decode("latin-1").split(",") if part.strip())
    return values


def resolve(scope: dict, trusted: Iterable[Network]) -> dict:
    """Return ``scope`` with the client and scheme a trusted proxy reports, or unchanged."""
    trusted = tuple(trusted)
    peer = scope.get("client")
    if not trusted or not peer or not is_trusted(peer[0], trusted):
        return scope
    headers = scope.get("headers") or []
    scope = dict(scope)
    forwarded_for = _header_values(headers, b"x-forwarded-for")
    if forwarded_for:
        scope["client"] = (client_from(peer[0], forwarded_for, trusted), 0)
    proto = _header_values(headers, b"x-forwarded-proto")
    if proto:
        wanted = proto[-1].lower()  # the hop nearest to us, the one we trust
        scheme = scope.get("scheme", "http")
        if wanted == "https":
            scope["scheme"] = _SECURE.get(scheme, scheme)
        elif wanted == "http":
            scope["scheme"] = _PLAIN.get(scheme, scheme)
    return scope


class ForwardedMiddleware:
    """ASGI wrapper: trust proxy headers only from ``TRUSTED_PROXIES``; optionally redirect to HTTPS."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        cfg = settings.GATEWAY
        scope = resolve(scope, cfg.trusted_proxies)
        if cfg.https_redirect and scope["type"] == "http" and scope.get("scheme") == "http" \
                and not scope["path"].startswith(REDIRECT_EXEMPT_PREFIX):
            await _redirect_to_https(scope, send)
            return
        await self.app(scope, receive, send)


async def _redirect_to_https(scope: dict, send) -> None:
    """Answer 308 (the method and body are kept) to the same URL on https (port 443), for an allowed host only."""
    host = next((v.decode("latin-1") for k, v in scope.get("headers") or [] if k.lower() == b"host"), "")
    domain, _ = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        await _answer(send, 400, [], b"Bad Request: unknown host.")
        return
    raw_path = scope.get("raw_path") or scope["path"].encode()
    query = scope.get("query_string") or b""
    location = b"https://" + domain.encode("latin-1") + raw_path + (b"?" + query if query else b"")
    await _answer(send, 308, [(b"location", location)], b"")


async def _answer(send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})
