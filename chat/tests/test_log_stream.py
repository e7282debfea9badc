"""GATEWAY_LOG_QUEUE=redis: rows wait in a Redis stream, a writer process stores them, and none is lost or doubled.

Gateway processes and writer processes are real (uvicorn, ``manage.py write_request_logs``), on this test's
PostgreSQL and Redis; nothing is mocked.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from django.core.management import call_command
from django.db import connection

from chat import log_stream
from chat.models import RequestLog
from chat.tests.conftest import LLAMA
from gateway_project.redis_client import sync_client
from testing.factories import make_key, make_user, openai_client, sync_catalog
from testing.servers import ROOT, wait_until

USER = [{"role": "user", "content": "hi"}]
REDIS_QUEUE = {"GATEWAY_LOG_QUEUE": "redis"}


def _drain(**options) -> None:
    call_command("write_request_logs", "--until-empty", "--claim-idle", "0", **options)


def _entries() -> int:
    return sync_client().xlen(log_stream.STREAM)


def _pending() -> int:
    """Entries a writer has taken and not yet acknowledged (0 before any writer made the group)."""
    groups = sync_client().xinfo_groups(log_stream.STREAM) if sync_client().exists(log_stream.STREAM) else []
    return sum(group["pending"] for group in groups)


def _row(request_id: str, **fields) -> dict:
    return {"request_id": request_id, "created_at": datetime.now(UTC), "status": 200, "cost": Decimal("0"),
            **fields}


def test_a_row_survives_its_trip_through_the_stream_with_its_types():
    row = _row("req_types", cost=Decimal("0.000012345"), attempts=[{"model": "m", "status": 429}],
               error_message="nul \x00 kept for the writer to strip", ttft_ms=None, trace=[])
    back = log_stream.decode(log_stream.encode(row))
    assert back == row
    assert isinstance(back["cost"], Decimal) and back["created_at"].tzinfo is not None


def test_rows_wait_in_redis_until_a_writer_stores_them(gateway_process_factory, sim):
    sync_catalog()
    user = make_user()
    proc = gateway_process_factory(**REDIS_QUEUE)
    client = openai_client(proc.url, make_key(user))
    for _ in range(3):
        assert client.chat.completions.create(model=LLAMA, messages=USER).choices[0].message.content
    wait_until(lambda: _entries() == 3)
    assert RequestLog.objects.filter(user=user).count() == 0  # no writer runs: the rows wait, none is lost

    _drain()
    rows = RequestLog.objects.filter(user=user)
    assert rows.count() == 3
    assert all(row.status == 200 and row.model_used == LLAMA and row.total_tokens > 0 for row in rows)
    assert _entries() == 0
    assert _pending() == 0


def test_a_row_redis_refuses_is_written_by_the_gateway_itself(gateway_process_factory, sim):
    """The stream's key holds something else: XADD gets an error reply, and the row goes to the in-process
    buffer instead of being dropped."""
    sync_catalog()
    user = make_user()
    sync_client().set(log_stream.STREAM, "not a stream")
    proc = gateway_process_factory(**REDIS_QUEUE)
    client = openai_client(proc.url, make_key(user))
    client.chat.completions.create(model=LLAMA, messages=USER)
    row = wait_until(lambda: RequestLog.objects.filter(user=user).first(), timeout=10)
    assert row.status == 200
    assert sync_client().get(log_stream.STREAM) == b"not a stream"


def test_a_full_stream_refuses_new_requests_with_503_until_a_writer_catches_up(gateway_process_factory, sim):
    sync_catalog()
    user = make_user()
    proc = gateway_process_factory(**REDIS_QUEUE, GATEWAY_LOG_QUEUE_MAX="2")
    secret = make_key(user)
    body = {"model": LLAMA, "messages": USER}
    headers = {"Authorization": f"Bearer {secret}"}
    for _ in range(2):
        assert httpx.post(f"{proc.url}/v1/chat/completions", json=body, headers=headers, timeout=10).status_code == 200

    def refused():
        answer = httpx.post(f"{proc.url}/v1/chat/completions", json=body, headers=headers, timeout=10)
        return answer if answer.status_code == 503 else None

    answer = wait_until(refused, timeout=10, interval=0.3)  # the backlog is sampled once a second
    assert answer.json()["error"]["code"] == "log_backlog"
    assert answer.headers["retry-after"] == "1"

    _drain()
    wait_until(lambda: httpx.post(f"{proc.url}/v1/chat/completions", json=body, headers=headers,
                                  timeout=10).status_code == 200, timeout=10, interval=0.3)
    _drain()
    # every answer that was served has its row; the refused ones have none
    assert RequestLog.objects.filter(user=user, status=200).count() == RequestLog.objects.filter(user=user).count()
    assert RequestLog.objects.filter(user=user).count() >= 3


@pytest.mark.django_db(transaction=True)
def test_a_row_the_database_refuses_is_set_aside_with_why_and_its_batch_is_written():
    client = sync_client()
    client.xadd(log_stream.STREAM, {log_stream.FIELD: log_stream.encode(_row("req_ok1"))})
    client.xadd(log_stream.STREAM, {log_stream.FIELD: log_stream.encode(_row("req_poison", status=None))})
    client.xadd(log_stream.STREAM, {log_stream.FIELD: b"{not json"})
    client.xadd(log_stream.STREAM, {log_stream.FIELD: log_stream.encode(_row("req_ok2"))})
    _drain()
    assert set(RequestLog.objects.values_list("request_id", flat=True)) == {"req_ok1", "req_ok2"}
    aside = client.xrange(log_stream.SET_ASIDE)
    why = {fields[b"row"][:12]: fields[b"error"] for _, fields in aside}
    assert len(aside) == 2 and why.keys() == {b"{not json", b'{"request_id'}
    assert why[b"{not json"].startswith(b"JSONDecodeError")
    poison = log_stream.decode(next(f[b"row"] for _, f in aside if f[b"row"] != b"{not json"))
    assert poison["request_id"] == "req_poison" and why[b'{"request_id'].startswith(b"IntegrityError")
    assert _entries() == 0


def _writer(database_url: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.Popen([sys.executable, "manage.py", "write_request_logs", "--name", "doomed", "--batch", "10",
                             *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.mark.django_db(transaction=True)
def test_rows_a_writer_took_and_could_not_store_are_taken_over_and_none_is_doubled():
    """A writer whose database is unreachable keeps its batch pending and retries; killed, it leaves the batch
    to the next writer, which stores it. A row of that batch that was already stored is not doubled."""
    client = sync_client()
    for n in range(5):
        client.xadd(log_stream.STREAM, {log_stream.FIELD: log_stream.encode(_row(f"req_{n}"))})
    db = connection.settings_dict
    proc = _writer(f"postgres://{db['USER']}@{db['HOST']}:1/{db['NAME']}")  # nothing listens on port 1
    try:
        wait_until(lambda: _pending() == 5, timeout=60)
        time.sleep(0.5)
        assert RequestLog.objects.count() == 0 and _entries() == 5  # nothing acknowledged, nothing deleted
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    output = proc.stdout.read().decode()
    assert "cannot use the database" in output and "sk-" not in output
    RequestLog.objects.create(**_row("req_3"))  # as if the dead writer's commit had landed for one row

    _drain()
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == [f"req_{n}" for n in range(5)]
    assert _entries() == 0
    assert _pending() == 0


@pytest.mark.django_db(transaction=True)
def test_a_writer_process_stops_cleanly_on_sigterm_and_the_next_one_goes_on(tmp_path):
    client = sync_client()
    db = connection.settings_dict
    heartbeat = tmp_path / "alive"
    proc = _writer(f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}", "--heartbeat", str(heartbeat))
    try:
        client.xadd(log_stream.STREAM, {log_stream.FIELD: log_stream.encode(_row("req_first"))})
        wait_until(lambda: RequestLog.objects.filter(request_id="req_first").exists(), timeout=60)
        beat = wait_until(lambda: heartbeat.exists() and heartbeat.stat().st_mtime, timeout=10)
        wait_until(lambda: heartbeat.stat().st_mtime > beat, timeout=10)  # it beats while it waits for rows
        client.flushdb()  # Redis restarted empty: the stream and the group are gone, the writer makes them again
        client.xadd(log_stream.STREAM, {log_stream.FIELD: log_stream.encode(_row("req_after_flush"))})
        wait_until(lambda: RequestLog.objects.filter(request_id="req_after_flush").exists(), timeout=60)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert b"2 rows written" in proc.stdout.read()
    client.xadd(log_stream.STREAM, {log_stream.FIELD: log_stream.encode(_row("req_second"))})
    assert _entries() == 1  # no writer runs: it waits
    _drain()
    assert set(RequestLog.objects.values_list("request_id", flat=True)) == {"req_first", "req_after_flush",
                                                                            "req_second"}


def test_the_writer_refuses_to_run_without_redis(monkeypatch):
    from dataclasses import replace

    from django.conf import settings
    from django.core.management import CommandError

    monkeypatch.setattr(settings, "GATEWAY", replace(settings.GATEWAY, redis_url=None))
    with pytest.raises(CommandError, match="REDIS_URL is not set"):
        call_command("write_request_logs", "--until-empty")


@pytest.mark.django_db(transaction=True)
def test_only_the_servers_loop_posts_rows_and_a_row_queued_elsewhere_is_written_in_process():
    """A short-lived loop (``async_to_sync`` outside the server) could close before its post left: such a row
    goes to the in-process buffer instead."""
    from chat.logbuffer import log_buffer
    from gateway_project import redis_pipe

    queue = log_stream.StreamQueue()

    async def elsewhere():
        queue.add(_row("req_elsewhere"))
        await log_buffer().drain()

    async def on_the_servers_loop():
        queue.attach(asyncio.get_running_loop())
        queue.add(_row("req_posted"))
        await redis_pipe.settle()
        redis_pipe.close_pipe()

    asyncio.run(elsewhere())
    assert RequestLog.objects.filter(request_id="req_elsewhere").exists() and _entries() == 0
    asyncio.run(on_the_servers_loop())
    assert _entries() == 1
    _drain()
    assert RequestLog.objects.filter(request_id="req_posted").exists()


def test_rows_that_wait_a_minute_without_the_stream_ever_shrinking_warn_once_that_no_writer_runs(caplog):
    queue = log_stream.StreamQueue()
    with caplog.at_level("WARNING", logger="chat.log_stream"):
        for second, backlog in enumerate([0, 3, 5, 5, 4, 9]):  # a writer took rows at second 4: not stalled
            queue.watch(backlog, float(second))
        assert caplog.records == []
        for second in range(5, 70):
            queue.watch(9 + second, float(second))
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "write_request_logs" in warnings[0] and "none has been written for 60s" in warnings[0]
    queue.watch(0, 71.0)
    assert queue.backlog == 0
