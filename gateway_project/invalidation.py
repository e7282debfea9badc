"""Tell every gateway process that cached state changed.

Processes cache principals and the catalog in memory. A change made in one
process (or by a management command) is published on a Redis channel; every
gateway process subscribes from its ASGI lifespan and drops the named cache.
Without Redis there is one process, and the local drop is all there is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from django.conf import settings

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "gw:invalidate"
_handlers: dict[str, Callable[[], None]] = {}


def channel() -> str:
    """This deployment's channel: Redis pub/sub ignores the database number, so the name carries
    a digest of DATABASE_URL and deployments (or test runs) sharing one Redis never clear each other's caches."""
    import hashlib

    return f"{CHANNEL_PREFIX}:{hashlib.sha256(settings.DATABASES['default']['NAME'].encode()).hexdigest()[:12]}"


def register(topic: str, drop: Callable[[], None]) -> None:
    """Call ``drop`` in this process whenever ``topic`` is published."""
    _handlers[topic] = drop


def publish(topic: str, detail: str = "") -> None:
    """Announce a change of ``topic`` to the other gateway processes (best effort)."""
    if not settings.GATEWAY.redis_url:
        return
    from gateway_project.redis_client import sync_client

    try:
        sync_client().publish(channel(), f"{topic}:{detail}")
    except Exception:  # Redis down: other processes fall back to their cache TTL
        log.warning("could not publish invalidation of %s", topic)


async def listen(stop: asyncio.Event) -> None:
    """Drop caches as invalidations arrive, until ``stop`` is set."""
    if not settings.GATEWAY.redis_url:
        return
    from gateway_project.redis_client import async_client

    while not stop.is_set():
        try:
            pubsub = async_client().pubsub()
            await pubsub.subscribe(channel())
            while not stop.is_set():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None:
                    continue
                topic = message["data"].decode().split(":", 1)[0]
                drop = _handlers.get(topic)
                if drop is not None:
                    drop()
            await pubsub.aclose()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("invalidation listener lost Redis; retrying in 1s")
            for drop in _handlers.values():
                drop()
            await asyncio.sleep(1.0)
