"""Shared Redis clients: one sync (services, management commands) and one async per event loop."""

from __future__ import annotations

import asyncio
import functools

import redis
import redis.asyncio as aredis
from django.conf import settings

_async: dict[int, aredis.Redis] = {}


@functools.cache
def sync_client() -> redis.Redis:
    return redis.Redis.from_url(settings.GATEWAY.redis_url, socket_timeout=2, socket_connect_timeout=2)


def async_client() -> aredis.Redis:
    """Return this event loop's client (redis.asyncio connections belong to one loop)."""
    loop_id = id(asyncio.get_running_loop())
    client = _async.get(loop_id)
    if client is None:
        # A blocking pool: past 256 connections a command waits (up to 2 s) for a free one. The default
        # pool raises "Too many connections" instead, which the hot path reads as Redis being down and
        # admits without limits (REDIS_FAILURE_MODE=open): 1,000 streams opened at once did exactly that.
        pool = aredis.BlockingConnectionPool.from_url(
            settings.GATEWAY.redis_url, socket_timeout=2, socket_connect_timeout=2, max_connections=256, timeout=2
        )
        client = aredis.Redis.from_pool(pool)  # closing the client closes its pool
        _async[loop_id] = client
    return client


async def aclose_async_client() -> None:
    client = _async.pop(id(asyncio.get_running_loop()), None)
    if client is not None:
        await client.aclose()
