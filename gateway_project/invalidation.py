"""Tell every gateway process that cached state changed, once the change is committed.

Processes cache principals, the catalog and the upstream pool in memory. Each
cache registers once, ``register(topic, drop)``; every write that changes what
a cache holds calls ``announce(topic, detail=...)``.

An announcement waits for the transaction to commit (outside a transaction it
runs at once): a process that reloads on the message then reads the committed
rows, and a change that is rolled back is never announced. Delivery drops the
topic's caches in this process, then publishes the topic on a Redis channel
that every gateway process listens to from its ASGI lifespan. Without Redis
(embedded mode) there is one process, and the local drop is all there is.

A load that started before a drop must not store what it read: a cache reads
``generation(topic)`` before it loads and keeps the result only when
``may_keep`` says so (``aload`` does both for async loads, which read in a
worker thread outside any transaction).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
from collections.abc import Awaitable, Callable

from django.conf import settings
from django.db import transaction

from gateway_project.redis_client import async_client, sync_client
from gateway_project.singleflight import load_once

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "gw:invalidate"
# The topics, one per cache: a misspelt topic would announce nothing, so announce() accepts only these.
PRINCIPALS = "principals"
CATALOG = "catalog"
UPSTREAM_POOL = "upstream_pool"
TOPICS = frozenset({PRINCIPALS, CATALOG, UPSTREAM_POOL})
_handlers: dict[str, list[Callable[[], None]]] = {}
_generations: dict[str, int] = {}
_ticks = itertools.count(1)  # next() on it is atomic: drops from two threads never share a generation


def channel() -> str:
    """This deployment's channel: Redis pub/sub ignores the database number, so the name carries
    a digest of DATABASE_URL and deployments (or test runs) sharing one Redis never clear each other's caches."""
    digest = hashlib.sha256(settings.DATABASES["default"]["NAME"].encode()).hexdigest()[:12]
    return f"{CHANNEL_PREFIX}:{digest}"


def register(topic: str, drop: Callable[[], None]) -> None:
    """Call ``drop`` in this process whenever ``topic`` is announced (here or in another process).

    Registering the same callable twice keeps one registration.
    """
    drops = _handlers.setdefault(topic, [])
    if drop not in drops:
        drops.append(drop)


def generation(topic: str) -> int:
    """A number that changes whenever ``topic`` is dropped in this process (see ``aload``)."""
    return _generations.get(topic, 0)


def may_keep(topic: str, seen: int) -> bool:
    """Whether a value this thread loaded after ``generation(topic)`` read ``seen`` may be cached.

    Not when ``topic`` was dropped meanwhile (the value may predate a commit), nor
    when it was read inside a transaction (its rows may yet be rolled back).
    """
    return generation(topic) == seen and not transaction.get_connection().in_atomic_block


def drop_local(topic: str) -> None:
    """Drop every cache registered for ``topic`` in this process, and move its generation on."""
    _generations[topic] = next(_ticks)
    for drop in _handlers.get(topic, ()):
        drop()


def drop_all_local() -> None:
    """Drop every registered cache in this process (a lost listener, or a test starting clean)."""
    for topic in list(_handlers):
        drop_local(topic)


def announce(topic: str, detail: str = "") -> None:
    """Announce a change of ``topic`` to every gateway process once the current transaction commits.

    Inside a transaction this process's caches are dropped at once as well, so
    the writer's own reads on this connection see its uncommitted rows; the
    drop after the commit discards whatever another thread loaded meanwhile.
    ``detail`` (an id, never a secret) only labels the message.
    """
    if topic not in TOPICS:
        raise ValueError(f"unknown invalidation topic {topic!r}; one of {', '.join(sorted(TOPICS))}")
    if transaction.get_connection().in_atomic_block:
        drop_local(topic)
    transaction.on_commit(lambda: _deliver(topic, detail))


def _deliver(topic: str, detail: str) -> None:
    drop_local(topic)
    if not settings.GATEWAY.redis_url:
        return
    try:
        sync_client().publish(channel(), f"{topic}:{detail}")
    except Exception:  # Redis down: other processes fall back to their cache TTL
        log.warning("could not publish invalidation of %s", topic)


async def aload[T](topic: str, key: str, load: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
    """Return ``(await load(), keep)``: concurrent callers share one load, and ``keep`` is False
    when ``topic`` was dropped while it ran, so the caller must not cache what it read.

    A caller that arrives after a drop never joins a load that started before it.
    """
    seen = generation(topic)
    value = await load_once(f"{topic}:{seen}:{key}", load)
    return value, generation(topic) == seen


async def listen(stop: asyncio.Event, subscribed: asyncio.Event | None = None) -> None:
    """Drop caches as announcements arrive, until ``stop`` is set.

    ``subscribed`` is set once the first subscription holds: the lifespan waits for it, so a
    process never serves (and caches) before it can hear that what it cached changed.
    """
    if not settings.GATEWAY.redis_url:
        if subscribed is not None:
            subscribed.set()
        return
    while not stop.is_set():
        try:
            pubsub = async_client().pubsub()
            await pubsub.subscribe(channel())
            drop_all_local()  # whatever was loaded before this subscription may have missed an announcement
            if subscribed is not None:
                subscribed.set()
            while not stop.is_set():
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is not None:
                    drop_local(message["data"].decode().split(":", 1)[0])
            await pubsub.aclose()
        except asyncio.CancelledError:
            raise
        except Exception:  # announcements may have been missed while the connection was down
            log.warning("invalidation listener lost Redis; retrying in 1s")
            drop_all_local()
            await asyncio.sleep(1.0)
