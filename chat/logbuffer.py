"""Request-log rows in flight: a bounded in-process buffer flushed to the database in batches.

Rows are added on the request path without any I/O; a flusher task (owned by
the ASGI lifespan) writes them with one ``bulk_create`` per batch every
``GATEWAY_LOG_FLUSH_INTERVAL`` seconds or as soon as ``GATEWAY_LOG_BATCH_SIZE``
rows wait, and ``drain()`` writes whatever is left when the server stops.
See docs/decisions/0003-request-logs.md.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

log = logging.getLogger(__name__)
MAX_PENDING = 200_000  # beyond this, rows are written inline rather than dropped


class LogBuffer:
    def __init__(self) -> None:
        self._rows: deque[dict] = deque()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def __len__(self) -> int:
        return len(self._rows)

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
        while not self._stopping:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                log.exception("request-log flush failed; rows kept for the next try")

    async def flush(self) -> int:
        """Write every queued row; return how many were written."""
        async with self._lock or asyncio.Lock():
            written = 0
            while self._rows:
                batch = [self._rows.popleft() for _ in range(min(len(self._rows), settings.GATEWAY.log_batch_size))]
                try:
                    # Shielded: a batch being written in its thread is never abandoned half-way.
                    await asyncio.shield(sync_to_async(_write_batch, thread_sensitive=False)(batch))
                except Exception:
                    self._rows.extendleft(reversed(batch))
                    raise
                written += len(batch)
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
        batch = list(self._rows)
        self._rows.clear()
        if batch:
            _write_batch(batch)
        return len(batch)

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


def _write_batch(rows: list[dict]) -> None:
    from django.db import IntegrityError, transaction

    from accounts.services import gateway_key_touch
    from chat.models import RequestLog

    try:
        with transaction.atomic():
            RequestLog.objects.bulk_create([RequestLog(**row) for row in rows], ignore_conflicts=True)
    except IntegrityError:
        # A user or key deleted while its request was in flight: keep the row, drop the link.
        for row in rows:
            try:
                with transaction.atomic():
                    RequestLog.objects.bulk_create([RequestLog(**row)], ignore_conflicts=True)
            except IntegrityError:
                with transaction.atomic():
                    RequestLog.objects.bulk_create([RequestLog(**{**row, "user_id": None, "key_id": None})],
                                                   ignore_conflicts=True)
    key_ids = {row["key_id"] for row in rows if row.get("key_id")}
    gateway_key_touch(key_ids=key_ids, when=timezone.now())


@functools.cache
def log_buffer() -> LogBuffer:
    """The process's one buffer."""
    return LogBuffer()
