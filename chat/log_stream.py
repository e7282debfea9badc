"""Request-log rows through a Redis stream (``GATEWAY_LOG_QUEUE=redis``): written by another process.

Writing rows costs a gateway process CPU under its GIL, which at c=1 and c=64
slowed every request it served (docs/decisions/0026-lean-client-and-logs-off-the-gateway.md).
With this queue a row is one ``XADD`` posted on the process's Redis pipe (no
round trip waited for) and ``manage.py write_request_logs`` (chat/log_writer.py)
copies the stream into PostgreSQL. A row Redis does not take (an error reply,
a connection lost before the reply) goes to the in-process buffer
(chat/logbuffer.py), which writes it itself: no row is lost whatever is down.
Rows wait in Redis while no writer runs; past ``GATEWAY_LOG_QUEUE_MAX`` rows
waiting, new requests get a 503 ``log_backlog`` as with the in-process queue.

The names and the row's encoding are this module's; both sides use them.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from datetime import datetime
from decimal import Decimal

import orjson
from django.conf import settings

from chat.logbuffer import log_buffer

log = logging.getLogger(__name__)
STREAM = "gw:logs"  # rows waiting to be written
GROUP = "writers"  # the consumer group every writer reads in
SET_ASIDE = "gw:logs:set-aside"  # rows the database refused, kept for an operator, with why
FIELD = "row"
STALLED_S = 60.0  # rows waiting this long with the stream never shrinking: no writer runs


def _default(value: object) -> str:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not a log-row value")


def encode(row: dict) -> bytes:
    """The row as the stream entry's value: JSON, its cost as a decimal string."""
    return orjson.dumps(row, default=_default)


def decode(payload: bytes) -> dict:
    """The row ``encode`` made, with its timestamp and cost in their own types again."""
    row = orjson.loads(payload)
    row["created_at"] = datetime.fromisoformat(row["created_at"])
    row["cost"] = Decimal(row["cost"])
    return row


class StreamQueue:
    """The gateway's side: post each row to the stream; know how many rows wait there (sampled each second)."""

    def __init__(self) -> None:
        self.backlog = 0
        self._backlogged = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stalled_since: float | None = None
        self._warned = False

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Post rows from ``loop`` (the server's, at start-up). A row queued on any other loop, or on none (a
        short-lived ``async_to_sync`` loop could close before its post left), goes to the in-process buffer."""
        self._loop = loop

    def add(self, row: dict) -> None:
        from gateway_project.redis_pipe import pipe

        buffer = log_buffer()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or loop is not self._loop:
            buffer.add(row)
            return
        pipe().post(("XADD", STREAM, "*", FIELD, encode(row)), on_failure=lambda: buffer.add(row))

    def accepting(self) -> bool:
        """False while ``GATEWAY_LOG_QUEUE_MAX`` rows wait in the stream (or in this process's buffer)."""
        full = self.backlog >= settings.GATEWAY.log_queue_max
        if full != self._backlogged:
            if full:
                log.error("request-log stream holds %s rows; refusing new requests until the writers catch up",
                          self.backlog)
            else:
                log.warning("request-log stream is below its bound again (%s rows); accepting requests",
                            self.backlog)
            self._backlogged = full
        return not full and log_buffer().accepting()

    async def sample(self) -> None:
        """Read the stream's length (the lifespan calls this every second); keep the last figure on failure."""
        from gateway_project.redis_pipe import PipeBroken, ReplyError, pipe

        try:
            (length,) = await pipe().execute(("XLEN", STREAM))
        except PipeBroken:
            return
        if not isinstance(length, ReplyError):
            self.watch(length, time.monotonic())

    def watch(self, backlog: int, now: float) -> None:
        """Keep the stream's length; warn once when rows have waited ``STALLED_S`` without it ever shrinking: no
        writer is running (or none keeps up), and at ``GATEWAY_LOG_QUEUE_MAX`` requests will be refused."""
        if backlog == 0 or backlog < self.backlog:
            self._stalled_since, self._warned = None, False
        elif self._stalled_since is None:
            self._stalled_since = now
        elif now - self._stalled_since >= STALLED_S and not self._warned:
            self._warned = True
            log.warning("%s request-log rows wait in Redis and none has been written for %.0fs: is "
                        "`python manage.py write_request_logs` running?", backlog, now - self._stalled_since)
        self.backlog = backlog


@functools.cache
def stream_queue() -> StreamQueue:
    """The process's one stream queue."""
    return StreamQueue()


async def sample_forever(stop: asyncio.Event) -> None:
    """Read the stream's backlog every second until ``stop`` (a task of the lifespan's, with GATEWAY_LOG_QUEUE=redis)."""
    from gateway_project import metrics as families

    queue = stream_queue()
    while not stop.is_set():
        await queue.sample()
        if families.ENABLED:
            families.LOG_STREAM.set(queue.backlog)
        try:
            await asyncio.wait_for(stop.wait(), timeout=1.0)
        except TimeoutError:
            pass
