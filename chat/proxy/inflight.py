"""Requests in flight now, across every gateway process (the admin dashboard shows it).

Counting in Redis per request would add two round trips to every request; instead each
process publishes its own count once a second to the hash ``gw:inflight`` (field:
host and pid), and the reader sums the fields that are fresh.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time

from django.conf import settings

log = logging.getLogger(__name__)
KEY = "gw:inflight"
STALE_S = 5.0
_ME = f"{socket.gethostname()}:{os.getpid()}"


def local() -> int:
    from chat.proxy.app import ProxyApp

    return ProxyApp.in_flight


async def report(stop: asyncio.Event) -> None:
    """Publish this process's count every second until ``stop`` is set (Redis deployments only)."""
    if not settings.GATEWAY.redis_url:
        return
    from gateway_project.redis_client import async_client

    while not stop.is_set():
        try:
            await async_client().hset(KEY, _ME, f"{local()}:{time.time()}")
            await async_client().expire(KEY, 60)
        except Exception:
            log.debug("could not publish in-flight count")
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass
    try:
        await async_client().hdel(KEY, _ME)
    except Exception:
        pass


def total() -> int:
    """Requests in flight in every gateway process (this process alone when embedded)."""
    if not settings.GATEWAY.redis_url:
        return local()
    from gateway_project.redis_client import sync_client

    try:
        fields = sync_client().hgetall(KEY)
    except Exception:
        return local()
    now = time.time()
    count = 0
    for value in fields.values():
        number, _, stamp = value.decode().partition(":")
        if stamp and now - float(stamp) < STALE_S:
            count += int(number)
    return count
