"""The pooled upstream HTTP client: keep-alive connections per origin, one pool per event loop.

``request`` sends one HTTP/1.1 request (its body already bytes) and returns the
``Response`` once its status and headers have arrived; the body is read from it
whole or as it streams (``chat.proxy.http1``). Time limits are the caller's
(``asyncio.timeout`` around the call and the reads). A request that finds a
pooled connection closed by the upstream before any byte of an answer came is
sent once more on a new connection: an idle keep-alive socket the server has
just dropped is the one failure that says nothing about the upstream.

Neither httpx's default transport (it collapses under concurrency here) nor
aiohttp's client (about three times the CPU a request): see
docs/decisions/0001-hot-path.md and 0026-lean-client-and-logs-off-the-gateway.md.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from urllib.parse import urlsplit

from chat.proxy.http1 import Headers, OriginPool, Response, UpstreamBroken

__all__ = ["Headers", "Response", "UpstreamBroken", "close", "request"]
KEEPALIVE_S = 30.0
# Headers the client writes itself: a caller's own would frame the request twice.
_FRAMING = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_FORBIDDEN = frozenset("\r\n\x00")


@functools.cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


@functools.lru_cache(maxsize=256)
def _split(url: str) -> tuple[tuple[str, str, int], bytes, bytes]:
    """((scheme, host, port), the request target, the Host header) of an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    default = 443 if parts.scheme == "https" else 80
    port = parts.port or default
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == default else f"{shown}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (parts.scheme, host, port), target.encode("latin-1"), host_header.encode("latin-1")


def _head(method: str, target: bytes, host: bytes, headers: dict[str, str], length: int | None) -> bytes:
    lines = [b"%s %s HTTP/1.1\r\nHost: %s\r\n" % (method.encode("ascii"), target, host)]
    for name, value in headers.items():
        if name.lower() in _FRAMING:
            continue
        if not _FORBIDDEN.isdisjoint(name) or not _FORBIDDEN.isdisjoint(value):
            raise ValueError(f"header {name!r} holds a line break or NUL")
        lines.append(f"{name}: {value}\r\n".encode("latin-1"))
    if length is not None:
        lines.append(b"Content-Length: %d\r\n" % length)
    lines.append(b"\r\n")
    return b"".join(lines)


_pools: dict[int, tuple[asyncio.AbstractEventLoop, dict[tuple[str, str, int], OriginPool]]] = {}


def _pool(origin: tuple[str, str, int]) -> OriginPool:
    loop = asyncio.get_running_loop()
    found = _pools.get(id(loop))
    if found is None or found[0] is not loop:  # a new loop may reuse a closed one's id
        found = _pools[id(loop)] = (loop, {})
    pool = found[1].get(origin)
    if pool is None:
        scheme, host, port = origin
        pool = found[1][origin] = OriginPool(host, port, _tls() if scheme == "https" else None, KEEPALIVE_S)
    return pool


async def request(method: str, url: str, *, headers: dict[str, str], body: bytes | None = None) -> Response:
    """Send one request and return its answer once the status and headers are in.

    Raise ``OSError`` when the upstream cannot be reached or breaks before answering (``UpstreamBroken``,
    a refused connection, a failed name lookup or TLS handshake), and ``ValueError`` for a URL or header
    that cannot be sent.
    """
    origin, target, host = _split(url)
    raw = _head(method, target, host, headers, len(body) if body is not None else None)
    if body:
        raw += body
    pool = _pool(origin)
    bodiless = method == "HEAD"
    conn = await pool.connection()
    try:
        return await conn.send(raw, bodiless=bodiless)
    except UpstreamBroken as exc:
        if exc.answered or not conn.requests:
            raise
    conn = await pool.connection(fresh=True)  # a kept-alive socket the upstream had just closed: once more, on a fresh one
    return await conn.send(raw, bodiless=bodiless)


async def close() -> None:
    """Close this event loop's idle connections (server shutdown)."""
    found = _pools.pop(id(asyncio.get_running_loop()), None)
    if found is not None:
        for pool in found[1].values():
            pool.close()
