"""The request-log writer: copies the Redis stream of rows (chat/log_stream.py) into the database.

``python manage.py write_request_logs`` runs one (compose's ``log-writer``
service); several may run, each a consumer of the stream's group. Delivery is
at least once: a batch's entries are acknowledged and deleted only after the
batch is stored. A writer that stops mid-batch leaves its entries pending: a
restarted writer of the same name writes them first, and any writer claims
entries pending longer than ``claim_idle_s`` on another's name. A row stored
twice is skipped (``request_id`` is unique; chat.logbuffer.write_batch), so
none is doubled. A row the database refuses whatever is done to it goes, with
why, to the ``gw:logs:set-aside`` stream; an unreachable database or Redis
keeps everything where it is and is retried with a backoff.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import redis
from django import db

from chat import log_stream
from chat.logbuffer import UNREACHABLE, why, write_batch

log = logging.getLogger(__name__)
BLOCK_MS = 1000  # the longest wait for new rows: also how soon a stop request is noticed
CLAIM_EVERY_S = 10.0  # how often another writer's stale entries are looked for
MAX_BACKOFF_S = 5.0
SET_ASIDE_KEPT = 10_000  # the set-aside stream keeps about this many rows


def default_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Writer:
    def __init__(self, client: redis.Redis, *, name: str, batch_size: int, claim_idle_s: float,
                 pause_s: float = 0.0, heartbeat: Path | None = None) -> None:
        self.client = client
        self.name = name
        self.batch_size = batch_size
        self.claim_idle_ms = int(claim_idle_s * 1000)
        self.written = 0
        self.set_aside = 0
        self._next_claim = 0.0
        self.heartbeat = heartbeat
        self.pause_s = pause_s

    def ensure_group(self) -> None:
        """Create the stream and its group if they are not there (the group then starts at the stream's start)."""
        try:
            self.client.xgroup_create(log_stream.STREAM, log_stream.GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def step(self, block_ms: int = BLOCK_MS) -> int:
        """Write one batch: this writer's own pending entries first, then stale ones of others, then new ones.

        Return how many entries it handled (0: nothing waited for ``block_ms``).
        """
        entries = self._read("0") or self._claim() or self._read(">", block_ms)
        if entries:
            self._store(entries)
        return len(entries)

    def _read(self, start: str, block_ms: int | None = None) -> list:
        found = self.client.xreadgroup(log_stream.GROUP, self.name, {log_stream.STREAM: start},
                                       count=self.batch_size, block=block_ms)
        return found[0][1] if found else []

    def _claim(self) -> list:
        if time.monotonic() < self._next_claim:
            return []
        self._next_claim = time.monotonic() + CLAIM_EVERY_S
        _, entries, *_ = self.client.xautoclaim(log_stream.STREAM, log_stream.GROUP, self.name,
                                                min_idle_time=self.claim_idle_ms, start_id="0-0",
                                                count=self.batch_size)
        if entries:
            log.warning("request-log writer %s took over %d rows another writer left unwritten", self.name,
                        len(entries))
        return entries

    def _store(self, entries: list) -> None:
        rows, refused = [], []
        for _, fields in entries:
            payload = (fields or {}).get(log_stream.FIELD.encode())
            if payload is None:
                continue  # deleted meanwhile (written by another writer): only its acknowledgement is left
            try:
                rows.append(log_stream.decode(payload))
            except (ValueError, KeyError, TypeError) as exc:
                refused.append((payload, exc))
        failures = write_batch(rows) if rows else []
        refused += [(log_stream.encode(row), exc) for row, exc in failures]
        ids = [entry_id for entry_id, _ in entries]
        with self.client.pipeline(transaction=True) as pipe:
            for payload, exc in refused:
                pipe.xadd(log_stream.SET_ASIDE, {log_stream.FIELD: payload, "error": why(exc)},
                          maxlen=SET_ASIDE_KEPT, approximate=True)
            pipe.xack(log_stream.STREAM, log_stream.GROUP, *ids)
            pipe.xdel(log_stream.STREAM, *ids)
            pipe.execute()
        for _, exc in refused:
            log.error("request-log row cannot be written and is set aside in %s (%s)", log_stream.SET_ASIDE, why(exc))
        self.written += len(rows) - len(failures)
        self.set_aside += len(refused)

    def run(self, stopping: Callable[[], bool], *, until_empty: bool = False) -> None:
        """Write batches until ``stopping()`` (checked between batches), or with ``until_empty`` until nothing waits.

        An unreachable database or Redis is waited out: logged once, retried with a growing pause.
        """
        failing, pause, grouped = False, 0.1, False
        while not stopping():
            try:
                if not grouped:
                    self.ensure_group()
                    grouped = True
                handled = self.step(block_ms=100 if until_empty else BLOCK_MS)
            except (redis.RedisError, *UNREACHABLE) as exc:
                # Redis down, restarted empty (NOGROUP: the group is made again), or the stream's key taken by
                # something else; or the database down. Nothing is acknowledged, so nothing is lost.
                grouped = False
                if not failing:
                    log.error("request-log writer %s cannot use %s (%s); the rows wait in Redis, retrying",
                              self.name, "Redis" if isinstance(exc, redis.RedisError) else "the database", exc)
                failing, pause = True, min(pause * 2, MAX_BACKOFF_S)
                db.close_old_connections()
                time.sleep(pause)
                continue
            if self.heartbeat is not None:
                self.heartbeat.touch()
            if failing:
                log.warning("request-log writer %s is writing again", self.name)
                failing, pause = False, 0.1
            if until_empty:
                if handled == 0 and self.waiting() == 0:
                    return
            elif 0 < handled < self.batch_size:
                self._pause(stopping)

    def _pause(self, stopping: Callable[[], bool]) -> None:
        """After a batch that was not full, let rows gather for ``pause_s``: a batch per row costs a round trip to
        Redis and a transaction each, which at one request at a time was as much CPU as the request itself."""
        deadline = time.monotonic() + self.pause_s
        while not stopping() and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.1))

    def waiting(self) -> int:
        """Rows in the stream not yet written (pending ones included: they are deleted once written)."""
        return self.client.xlen(log_stream.STREAM)
