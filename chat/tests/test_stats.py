"""The admin stats: per-day series, top models and users, and requests in flight."""

from __future__ import annotations

import threading
from datetime import timedelta

import openai
import pytest
from django.utils import timezone

from chat.models import RequestLog
from chat.stats import in_flight
from chat.tests.conftest import LLAMA, QWEN
from testing.browser import jwt_headers
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


def test_dashboard_counts_a_request_in_flight_while_it_runs(caller, gateway, http):
    admin = make_user(admin=True)
    slow = threading.Thread(target=lambda: caller.client.chat.completions.create(
        model=LLAMA, messages=USER, extra_body={"sim": {"fault": "slow:2500"}}))
    slow.start()
    try:
        assert wait_until(lambda: http.get(f"{gateway.url}/api/admin/stats", headers=jwt_headers(admin))
                          .json()["inFlight"] == 1, timeout=2.4)
    finally:
        slow.join()
    assert wait_until(lambda: in_flight() == 0, timeout=3)
