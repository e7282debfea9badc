"""The log flusher keeps every row it can: a row that cannot be stored is set aside, never blocks the others."""

import asyncio
import logging
from dataclasses import replace

import httpx
from django.utils import timezone

from chat.logbuffer import LogBuffer
from chat.models import RequestLog
from chat.tests.conftest import LLAMA
from testing.factories import make_key, make_user
from testing.servers import wait_until

USER = [{"role": "user", "content": "hi"}]


def test_rows_pointing_at_deleted_users_or_keys_are_kept_unlinked(transactional_db):
    buffer = LogBuffer()
    now = timezone.now()
    buffer.add({"request_id": "req_a", "created_at": now, "status": 200, "user_id": 999999, "key_id": 888888})
    buffer.add({"request_id": "req_b", "created_at": now, "status": 200})
    assert RequestLog.objects.count() == 2  # no event loop here: written at once
    orphan = RequestLog.objects.get(request_id="req_a")
    assert orphan.user_id is None and orphan.key_id is None


def test_a_batch_written_again_after_its_commit_was_lost_never_doubles_a_row(transactional_db):
    """The flusher retries a batch whose commit it could not confirm: the rows already stored are skipped
    (the COPY fails on them and the row-by-row fallback ignores the conflict), the new one is written."""
    buffer = LogBuffer()
    now = timezone.now()
    buffer.add({"request_id": "req_once", "created_at": now, "status": 200})
    buffer.add({"request_id": "req_once", "created_at": now, "status": 200})
    buffer.add({"request_id": "req_new", "created_at": now, "status": 200})
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == ["req_new", "req_once"]
    assert buffer.stats().rows_set_aside == 0


def test_a_row_that_cannot_be_stored_is_set_aside_counted_and_logged_and_its_batch_is_written(
        transactional_db, caplog):
    buffer = LogBuffer()
    now = timezone.now()
    rows = [{"request_id": "req_ok1", "created_at": now, "status": 200},
            {"request_id": "req_poison", "created_at": now, "status": None},  # NOT NULL: no fix makes it fit
            {"request_id": "req_ok2", "created_at": now, "status": 200}]

    async def scenario() -> int:
        for row in rows:
            buffer.add(row)
        written = await buffer.flush()
        await buffer.drain()
        return written

    with caplog.at_level(logging.ERROR, logger="chat.logbuffer"):
        assert asyncio.run(scenario()) == 2
    assert set(RequestLog.objects.values_list("request_id", flat=True)) == {"req_ok1", "req_ok2"}
    assert buffer.stats().rows_set_aside == 1 and len(buffer) == 0
    assert [row["request_id"] for row in buffer.set_aside] == ["req_poison"]
    assert [r for r in caplog.records if "req_poison" in r.getMessage()]


def test_a_full_queue_refuses_new_requests_until_it_drains(transactional_db, settings, caplog):
    settings.GATEWAY = replace(settings.GATEWAY, log_queue_max=2)
    buffer = LogBuffer()
    now = timezone.now()

    async def scenario() -> tuple[bool, bool, bool]:
        buffer.add({"request_id": "req_1", "created_at": now, "status": 200})
        before = buffer.accepting()
        buffer.add({"request_id": "req_2", "created_at": now, "status": 200})  # the flusher has not run yet
        full = buffer.accepting()
        await buffer.flush()
        after = buffer.accepting()
        await buffer.drain()
        return before, full, after

    with caplog.at_level(logging.ERROR, logger="chat.logbuffer"):
        assert asyncio.run(scenario()) == (True, False, True)
    assert buffer.stats().requests_refused == 1
    assert RequestLog.objects.count() == 2
    assert any("queue is full" in r.getMessage() for r in caplog.records)


def test_a_backlogged_gateway_answers_503_and_queues_nothing(caller, gateway, http, sim, settings):
    settings.GATEWAY = replace(settings.GATEWAY, log_queue_max=0)  # every request finds the queue at its bound
    for path, body in (("/v1/chat/completions", {"model": LLAMA, "messages": USER}), ("/v1/embeddings", {"input": "a"})):
        r = http.post(f"{gateway.url}{path}", headers={"Authorization": f"Bearer {caller.secret}"}, json=body)
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "log_backlog" and r.headers["retry-after"] == "1"
    assert sim.requests() == []
    settings.GATEWAY = replace(settings.GATEWAY, log_queue_max=100)
    assert http.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {caller.secret}"},
                     json={"model": LLAMA, "messages": USER}).status_code == 200
    wait_until(lambda: RequestLog.objects.filter(user=caller.user).exists())
    assert list(RequestLog.objects.filter(user=caller.user).values_list("status", flat=True)) == [200]


def test_a_nul_in_a_model_or_a_path_never_stops_another_users_row(caller, gateway, http):
    auth = {"Authorization": f"Bearer {caller.secret}"}
    r = http.post(f"{gateway.url}/v1/chat/completions", headers=auth,
                  json={"model": "x\u0000y", "messages": USER})
    assert r.status_code == 400
    with httpx.Client() as raw:  # the path as the attacker spelled it
        raw.send(raw.build_request("GET", httpx.URL(f"{gateway.url}/v1/foo%00bar"), headers=auth))
    other = make_user()
    r = http.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {make_key(other)}"},
                  json={"model": LLAMA, "messages": USER})
    assert r.status_code == 200
    row = wait_until(lambda: RequestLog.objects.filter(user=other).first(), timeout=10)
    assert row.status == 200 and row.model_used == LLAMA
    poisoned = wait_until(lambda: RequestLog.objects.filter(user=caller.user, status=400).first(), timeout=10)
    assert poisoned.model_requested == "xy" and poisoned.error_type
