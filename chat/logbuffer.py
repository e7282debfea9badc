"""Request-log rows in flight: a bounded in-process buffer flushed to the database in batches.

Rows are added on the request path without any I/O; a flusher task (owned by
the ASGI lifespan) writes them with one ``COPY`` per batch (chat.log_copy; a
``bulk_create`` on SQLite) every
``GATEWAY_LOG_FLUSH_INTERVAL`` seconds or as soon as ``GATEWAY_LOG_BATCH_SIZE``
rows wait, and ``drain()`` writes whatever is left when the server stops.
See docs/decisions/0003-request-logs.md.

One bad row never stops the others: every row is made storable first
(chat.log_storable); a batch that still fails is written row by row, and a row
that fails on its own is set aside, logged once with its request id and
counted. Only a database that cannot be reached keeps rows queued for the next
try. The queue is bounded by back-pressure: at ``GATEWAY_LOG_QUEUE_MAX`` queued
rows ``accepting()`` turns false and new /v1 requests are refused with a 503
until the flusher catches up; rows of requests already admitted are always
kept. See docs/decisions/0007-v1-input-and-log-rows.md.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from chat import log_copy
from chat.log_storable import storable

log = logging.getLogger(__name__)
SET_ASIDE_KEPT = 100  # the last rows set aside stay in memory for an operator (and tests) to look at
UNREACHABLE = (OperationalError, InterfaceError)  # the database, not the row: keep the rows and retry
MAX_RETRY_WAIT_S = 5.0  # the longest pause between two tries while the database is unreachable


@dataclass(frozen=True)
class LogStats:
    """What /metrics (or an operator) can read about the buffer."""

    queue_depth: int
    queue_max: int
    rows_set_aside: int
    requests_refused: int


class LogBuffer:
    def __init__(self) -> None:
        self._rows: deque[dict] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self.set_aside: deque[dict] = deque(maxlen=SET_ASIDE_KEPT)
        self._set_aside_count = 0
        self._refused = 0
        self._backlogged = False

    def __len__(self) -> int:
        return len(self._rows)

    def accepting(self) -> bool:
        """Return False while ``GATEWAY_LOG_QUEUE_MAX`` rows wait: the caller refuses the request (back-pressure).

        Each refusal is counted; the first of a backlog, and its end, are logged.
        """
        full = len(self._rows) >= settings.GATEWAY.log_queue_max
        if full:
            self._refused += 1
            if not self._backlogged:
                log.error("request-log queue is full (%s rows); refusing new requests until it drains",
                          len(self._rows))
        elif self._backlogged:
            log.warning("request-log queue is below its bound again (%s rows); accepting requests", len(self._rows))
        self._backlogged = full
        return not full

    def stats(self) -> LogStats:
        """Return the queue depth, its bound, and how many rows were set aside and requests refused so far."""
        return LogStats(len(self._rows), settings.GATEWAY.log_queue_max, self._set_aside_count, self._refused)

    def _put_aside(self, failures: list[tuple[dict, Exception]]) -> None:
        for row, exc in failures:
            self._set_aside_count += 1
            self.set_aside.append(row)
            log.error("request-log row %s cannot be written and is set aside (%s)", row.get("request_id"), why(exc))

    def add(self, row: dict) -> None:
        """Queue one row; never blocks, never touches the database."""
        self._rows.append(row)
        if self._task is None or self._task.done():
            self._ensure_started()
        elif len(self._rows) >= settings.GATEWAY.log_batch_size and self._wake is not None:
            self._wake.set()

    def _ensure_started(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.flush_sync()  # no event loop (management command, sync test): write now
            return
        self.start()

    def start(self) -> None:
        if self._task is not None and not self._task.done():
            return
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="request-log-flusher")

    async def _run(self) -> None:
        interval = settings.GATEWAY.log_flush_interval_s
        wait, failing = interval, False
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                # Once an outage, with its cause; then retries back off, so a database that is down
                # costs neither a log line nor a connection attempt per flush interval.
                if not failing:
                    log.exception("request-log flush failed; %d rows kept, retrying", len(self._rows))
                failing, wait = True, min(max(wait, interval) * 2, MAX_RETRY_WAIT_S)
                continue
            if failing:
                log.warning("request-log writes resumed")
            failing, wait = False, interval

    async def flush(self) -> int:
        """Write every queued row; return how many were written."""
        async with self._lock or asyncio.Lock():
            written = 0
            while self._rows:
                batch = [self._rows.popleft() for _ in range(min(len(self._rows), settings.GATEWAY.log_batch_size))]
                try:
                    # Shielded: a batch being written in its thread is never abandoned half-way.
                    failures = await asyncio.shield(sync_to_async(write_batch, thread_sensitive=False)(batch))
                except Exception:
                    self._rows.extendleft(reversed(batch))  # the database is unreachable: every row waits
                    raise
                self._put_aside(failures)
                written += len(batch) - len(failures)
            return written

    def flush_from_thread(self, timeout: float = 10.0) -> int:
        """Flush from outside the flusher's event loop (tests, admin commands) and wait for it."""
        if self._loop is None or self._loop.is_closed():
            return self.flush_sync()
        return asyncio.run_coroutine_threadsafe(self.flush(), self._loop).result(timeout)

    def discard(self) -> None:
        """Drop queued rows (tests: rows of a previous test's database)."""
        self._rows.clear()

    def flush_sync(self) -> int:
        """Write every queued row from this thread (no event loop); return how many were written."""
        batch = list(self._rows)
        self._rows.clear()
        failures = write_batch(batch) if batch else []
        self._put_aside(failures)
        return len(batch) - len(failures)

    async def drain(self) -> None:
        """Stop the flusher after the batch it is writing, then write everything left (server shutdown)."""
        if self._task is not None:
            self._stopping = True
            if self._wake is not None:
                self._wake.set()
            try:
                await self._task
            except Exception:
                log.exception("request-log flusher ended with an error")
            self._task = None
            self._stopping = False
        for _ in range(3):
            try:
                await self.flush()
                return
            except Exception:
                log.exception("request-log drain failed; retrying")
                await asyncio.sleep(0.2)


def why(exc: Exception) -> str:
    """Why a row was set aside, in one short line: the error's type and the first line of its message."""
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:200]}"


def write_batch(rows: list[dict]) -> list[tuple[dict, Exception]]:
    """Write ``rows``; return the rows that cannot be stored, with why. Raise only when the database is unreachable.

    Writing is idempotent (``request_id`` is unique and conflicts are ignored), so a batch
    retried after a lost connection never doubles a row.
    """
    # Imported here: this module is imported by the /v1 app before Django's app registry is ready.
    from accounts.services import gateway_key_touch
    from chat.models import RequestLog

    def insert(batch: list[dict]) -> None:
        with transaction.atomic():
            RequestLog.objects.bulk_create([RequestLog(**row) for row in batch], ignore_conflicts=True)

    failures: list[tuple[dict, Exception]] = []
    try:
        if log_copy.available():
            log_copy.copy_rows(rows)
        else:
            insert([storable(row) for row in rows])
    except UNREACHABLE:
        raise
    except Exception:
        for row in map(storable, rows):  # find the row at fault; every other row is still written
            try:
                try:
                    insert([row])
                except IntegrityError:
                    # A user or key deleted while its request was in flight: keep the row, drop the link.
                    insert([{**row, "user_id": None, "key_id": None}])
            except UNREACHABLE:
                raise
            except Exception as exc:
                failures.append((row, exc))
    key_ids = {row["key_id"] for row in rows if row.get("key_id")}
    gateway_key_touch(key_ids=key_ids, when=timezone.now())
    return failures


@functools.cache
def log_buffer() -> LogBuffer:
    """The process's one buffer."""
    return LogBuffer()
