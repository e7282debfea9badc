"""The pooled upstream HTTP client: one aiohttp session per event loop.

aiohttp, not httpx's default transport: on this kind of machine httpx's pool
collapses under concurrency (see docs/decisions/0001-hot-path.md).
"""

from __future__ import annotations

import asyncio

import aiohttp

_sessions: dict[int, aiohttp.ClientSession] = {}


def session() -> aiohttp.ClientSession:
    """Return this event loop's session, creating it on first use."""
    loop = asyncio.get_running_loop()
    current = _sessions.get(id(loop))
    if current is None or current.closed:
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300, keepalive_timeout=30)
        current = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None),
            auto_decompress=True,
            skip_auto_headers=("User-Agent",),
        )
        _sessions[id(loop)] = current
    return current


async def close() -> None:
    loop_id = id(asyncio.get_running_loop())
    current = _sessions.pop(loop_id, None)
    if current is not None and not current.closed:
        await current.close()
