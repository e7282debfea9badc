"""The admin stats: per-day series, top models and users, and requests in flight."""

from __future__ import annotations

from datetime import timedelta

import openai
import pytest
from django.utils import timezone

from chat.models import RequestLog
from chat.stats import IN_FLIGHT_KEY, in_flight
from chat.tests.conftest import LLAMA, QWEN
from gateway_project.redis_client import sync_client
from testing.browser_admin import jwt_headers
from testing.factories import make_key, make_user, openai_client
from testing.servers import wait_until

USER = [{"role": "user", "content": "hi"}]


def test_stats_count_requests_tokens_errors_per_day_and_rank_models_and_users(caller, gateway, http):
    admin = make_user(admin=True)
    other = make_user()
    other_client = openai_client(gateway.url, make_key(other))
    told = 0
    for client, model in [(caller.client, LLAMA), (caller.client, LLAMA), (caller.client, QWEN), (other_client, QWEN)]:
        told += client.chat.completions.create(model=model, messages=USER).usage.total_tokens
    with pytest.raises(openai.BadRequestError):
        caller.client.chat.completions.create(model=LLAMA, messages=USER, temperature=9)
    wait_until(lambda: RequestLog.objects.count() == 5)

    r = http.get(f"{gateway.url}/api/admin/stats?days=7", headers=jwt_headers(admin))
    assert r.status_code == 200
    stats = r.json()
    today = timezone.now().date()
    assert stats["from"] == (today - timedelta(days=6)).isoformat() and stats["to"] == today.isoformat()
    assert [d["date"] for d in stats["days"]] == [(today - timedelta(days=6 - i)).isoformat() for i in range(7)]
    assert stats["days"][-1] == {"date": today.isoformat(), "requests": 5, "tokens": told, "errors": 1, "cost": "0"}
    assert all(d["requests"] == 0 for d in stats["days"][:-1])
    assert stats["totals"] == {"requests": 5, "tokens": told, "errors": 1, "cost": "0"}
    assert [(m["model"], m["requests"], m["errors"]) for m in stats["topModels"]] == [(LLAMA, 3, 1), (QWEN, 2, 0)]
    assert [(u["email"], u["requests"]) for u in stats["topUsers"]] == [(caller.user.email, 4), (other.email, 1)]
    assert stats["inFlight"] == 0

    assert http.get(f"{gateway.url}/api/admin/stats?days=0", headers=jwt_headers(admin)).status_code == 400
    assert http.get(f"{gateway.url}/api/admin/stats?days=x", headers=jwt_headers(admin)).status_code == 400


def test_in_flight_reads_the_shared_counter(db):
    assert in_flight() == 0
    sync_client().set(IN_FLIGHT_KEY, 3)
    assert in_flight() == 3
    sync_client().delete(IN_FLIGHT_KEY)
    sync_client().hset(IN_FLIGHT_KEY, mapping={"proc-a": 2, "proc-b": 4})
    assert in_flight() == 6
