"""Trace events to live watchers, across every gateway process, without ever making a request wait.

``publish`` (on the request path) only appends to a bounded in-process queue;
at ``QUEUE_MAX`` waiting events a new one is dropped and counted. A background
task (started on the first event, on the server's event loop)
drains the queue every ``DRAIN_INTERVAL_S``: with Redis it publishes each
batch as one message on this deployment's channel, which one listener per
process (running while the process has watchers) fans out to them; without
Redis (embedded mode) it fans out directly. While no process has a watcher
(with Redis: while the key that watching processes renew is absent, read in
the background every quarter second) ``publish`` queues nothing. Each watcher has its own bounded
queue: a watcher that reads too slowly loses events (counted in its
``dropped``), it never slows the fan-out or a request.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson
from django.conf import settings

if TYPE_CHECKING:
    from chat.proxy.trace import Trace

log = logging.getLogger(__name__)
QUEUE_MAX = 10_000  # events waiting for the drainer; past it new events are dropped
WATCHER_MAX = 1_000  # messages waiting for one watcher; past it that watcher loses messages
DRAIN_INTERVAL_S = 0.05
BATCH_MAX = 500
POLL_EVERY = 5  # drain rounds between two reads of whether any process watches (0.25 s)
WATCHING_TTL_S = 6  # a process with watchers renews the watching key every third of this
CHANNEL_PREFIX = "gw:traces"


def channel() -> str:
    """This deployment's channel (pub/sub ignores the Redis database number, so it carries a digest of the
    database name, as the invalidation channel does)."""
    digest = hashlib.sha256(settings.DATABASES["default"]["NAME"].encode()).hexdigest()[:12]
    return f"{CHANNEL_PREFIX}:{digest}"


def watching_key() -> str:
    """A key that lives while some process has a watcher: without it no process publishes anything."""
    return channel() + ":watching"


def message(trace: Trace, event: dict) -> dict:
    """One event as watchers get it: whose request it is, and the event."""
    return {"requestId": trace.request_id, "userId": trace.user_id, "keyId": trace.key_id,
            "keyPrefix": trace.key_prefix, "source": trace.source, "model": trace.model, "event": event}


@dataclass(eq=False)
class Watcher:
    """One live view: the messages that pass its filters, in a bounded queue."""

    user_id: int | None = None
    key: str = ""  # a key prefix, or a key id
    model: str = ""
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(WATCHER_MAX))
    dropped: int = 0

    def wants(self, msg: dict) -> bool:
        if self.user_id is not None and msg["userId"] != self.user_id:
            return False
        if self.key and self.key != msg["keyPrefix"] and self.key != str(msg["keyId"]):
            return False
        if self.model:
            event = msg["event"]
            if self.model not in (msg["model"], event.get("model"), event.get("modelUsed")):
                return False
        return True

    def offer(self, msg: dict) -> None:
        try:
            self.queue.put_nowait(msg)
        except asyncio.QueueFull:
            self.dropped += 1


class Hub:
    """This process's side of the live stream: the outgoing queue and the local watchers."""

    def __init__(self) -> None:
        self.pending: deque[tuple[Trace, dict]] = deque()
        self.dropped = 0
        self.published = 0
        self.watchers: set[Watcher] = set()
        self._drainer: asyncio.Task | None = None
        self._listener: asyncio.Task | None = None
        self._subscribed: asyncio.Event | None = None
        self._failing = False
        self.watching = True  # until the publisher's first look (a new process may already have watchers)

    # ------------------------------------------------------------ the request side

    def publish(self, trace: Trace, event: dict) -> None:
        """Queue one event for the watchers; never waits, drops when the queue is full, and costs one
        attribute test while nobody watches."""
        if not self.watching:
            if self._drainer is None or self._drainer.done():
                self._start_drainer()  # with Redis it reads, in the background, whether another process watches
            return
        if len(self.pending) >= QUEUE_MAX:
            self.dropped += 1
            return
        self.pending.append((trace, event))
        if self._drainer is None or self._drainer.done():
            self._start_drainer()

    def _start_drainer(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop (a management command): nobody watches it
        self._drainer = loop.create_task(self._run(), name="trace-publisher")

    # ------------------------------------------------------------ the background side

    async def _run(self) -> None:
        """Drain the queue every ``DRAIN_INTERVAL_S`` for as long as the event loop runs; with Redis, read
        every ``POLL_EVERY`` rounds whether any process has a watcher (its listener keeps a key alive)."""
        remote = bool(settings.GATEWAY.redis_url)
        rounds = 0
        while True:
            try:
                if rounds % POLL_EVERY == 0:
                    self.watching = await self._anyone_watching() if remote else bool(self.watchers)
                rounds += 1
                await self.drain()
            except Exception:
                log.exception("trace publisher failed a batch")
            await asyncio.sleep(DRAIN_INTERVAL_S)

    async def _anyone_watching(self) -> bool:
        from gateway_project.redis_client import async_client

        try:
            return bool(await async_client().exists(watching_key()))
        except Exception:
            return False

    async def drain(self) -> None:
        while self.pending:
            n = min(len(self.pending), BATCH_MAX)
            batch = [message(*self.pending.popleft()) for _ in range(n)]
            self.published += n
            if not settings.GATEWAY.redis_url:
                self.fan_out(batch)
                continue
            try:
                from gateway_project.redis_client import async_client

                await async_client().publish(channel(), orjson.dumps(batch))
                self._failing = False
            except Exception:  # Redis down: live views miss these events, the requests do not notice
                if not self._failing:
                    log.warning("could not publish trace events; live views miss them until Redis is back")
                self._failing = True

    def fan_out(self, batch: list[dict]) -> None:
        for watcher in tuple(self.watchers):
            for msg in batch:
                if watcher.wants(msg):
                    watcher.offer(msg)

    # ------------------------------------------------------------ the watcher side

    async def watch(self, watcher: Watcher) -> None:
        """Start delivering to ``watcher``; with Redis, return once this process's subscription is live."""
        self.watchers.add(watcher)
        self.watching = True
        if not settings.GATEWAY.redis_url:
            return
        if self._listener is None or self._listener.done():
            self._subscribed = asyncio.Event()
            self._listener = asyncio.create_task(self._listen(self._subscribed), name="trace-listener")
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout=5)
            # A running listener renews the key only every few seconds: announce this watcher at once.
            from gateway_project.redis_client import async_client

            await async_client().set(watching_key(), b"1", ex=WATCHING_TTL_S)
        except TimeoutError:
            log.warning("the live trace listener could not subscribe within 5 s")
        except Exception:  # Redis is down: the listener retries and announces when it can
            log.warning("could not announce a live trace watcher")
        # Every process's publisher has read the watching key by now: what happens from here on is sent.
        await asyncio.sleep(DRAIN_INTERVAL_S * POLL_EVERY + 0.1)

    def ready(self) -> bool:
        """Whether this process has a watcher and, with Redis, its subscription is live."""
        if not self.watchers:
            return False
        return not settings.GATEWAY.redis_url or (self._subscribed is not None and self._subscribed.is_set())

    def unwatch(self, watcher: Watcher) -> None:
        self.watchers.discard(watcher)
        if not settings.GATEWAY.redis_url:
            self.watching = bool(self.watchers)

    async def _listen(self, subscribed: asyncio.Event) -> None:
        """Fan every batch published by any process out to this process's watchers, while it has any."""
        from gateway_project.redis_client import async_client

        while self.watchers:
            try:
                client = async_client()
                pubsub = client.pubsub()
                await pubsub.subscribe(channel())
                await client.set(watching_key(), b"1", ex=WATCHING_TTL_S)
                announced = time.monotonic()
                subscribed.set()
                try:
                    while self.watchers:
                        msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                        if msg is not None:
                            self.fan_out(orjson.loads(msg["data"]))
                        if time.monotonic() - announced > WATCHING_TTL_S / 3:
                            await client.set(watching_key(), b"1", ex=WATCHING_TTL_S)
                            announced = time.monotonic()
                finally:
                    await pubsub.aclose()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("live trace listener lost Redis; retrying in 1s")
                await asyncio.sleep(1.0)


_hub = Hub()


def hub() -> Hub:
    return _hub


def publish(trace: Trace, event: dict) -> None:
    _hub.publish(trace, event)
