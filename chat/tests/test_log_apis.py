"""The request log over REST: admins read everyone's rows and export CSV, users read only their own."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import openai
import pytest
from django.utils import timezone

from chat.models import RequestLog
from chat.tests.conftest import LLAMA, QWEN
from testing.browser import jwt_headers
from testing.env import POOL_KEYS
from testing.factories import make_key, make_user, openai_client
from testing.servers import wait_until

USER = [{"role": "user", "content": "hi"}]


def _logged(request_id: str) -> RequestLog:
    """Wait for the flusher to write the row of ``request_id``."""
    return wait_until(lambda: RequestLog.objects.filter(request_id=request_id).first())


def _send(client, model: str = LLAMA, **extra) -> RequestLog:
    raw = client.chat.completions.with_raw_response.create(model=model, messages=USER, **extra)
    row = _logged(raw.headers["x-request-id"])
    row.sdk_usage = raw.parse().usage  # what the caller was told, to compare with what the log says
    return row


@pytest.fixture
def admin(gateway):
    return make_user(admin=True)


def test_admin_lists_rows_newest_first_paginated_in_camel_case(caller, admin, gateway, http):
    first = _send(caller.client, LLAMA)
    second = _send(caller.client, QWEN)
    r = http.get(f"{gateway.url}/api/admin/chat-logs?size=1", headers=jwt_headers(admin))
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 2 and body["previous"] is None and "page=2" in body["next"]
    row = body["results"][0]
    assert row["id"] == second.id and row["requestId"] == second.request_id
    assert row["user"] == {"id": caller.user.id, "email": caller.user.email}
    assert row["modelUsed"] == QWEN and row["status"] == 200 and row["source"] == "api"
    assert row["promptTokens"] == second.sdk_usage.prompt_tokens
    assert row["completionTokens"] == second.sdk_usage.completion_tokens > 0
    assert row["totalTokens"] == second.sdk_usage.total_tokens
    assert row["cost"] == "0" and row["attemptCount"] == 1
    assert "attempts" not in row
    page2 = http.get(body["next"], headers=jwt_headers(admin)).json()
    assert [r["id"] for r in page2["results"]] == [first.id]


def test_admin_filters_by_user_model_status_and_dates(caller, admin, gateway, http, sim):
    other = make_user()
    other_client = openai_client(gateway.url, make_key(other))
    llama = _send(caller.client, LLAMA)
    qwen = _send(other_client, QWEN)
    with pytest.raises(openai.BadRequestError) as raised:
        caller.client.chat.completions.create(model=LLAMA, messages=USER, temperature=5)
    failed = _logged(raised.value.response.headers["x-request-id"])
    assert failed.status == 400

    def ids(query: str) -> list[int]:
        r = http.get(f"{gateway.url}/api/admin/chat-logs?{query}", headers=jwt_headers(admin))
        assert r.status_code == 200, r.text
        return [row["id"] for row in r.json()["results"]]

    assert ids(f"user={other.id}") == [qwen.id]
    assert ids(f"user={caller.user.email.upper()}") == [failed.id, llama.id]
    assert ids(f"model={QWEN}") == [qwen.id]
    assert ids(f"model={LLAMA}") == [failed.id, llama.id]  # the refused row counts under the model it asked for
    assert ids("status=error") == [failed.id]
    assert ids("status=400") == [failed.id]
    assert ids("status=ok") == [qwen.id, llama.id]
    today = timezone.now().date()
    assert len(ids(f"from={today.isoformat()}&to={today.isoformat()}")) == 3
    assert ids(f"to={(today - timedelta(days=1)).isoformat()}") == []
    assert ids(f"from={(timezone.now() + timedelta(hours=1)).isoformat().replace('+', '%2B')}") == []


@pytest.mark.parametrize(
    ("query", "param"),
    [("status=boom", "status"), ("user=nobody", "user"), ("from=yesterday", "from"), ("to=2026-13-45", "to"),
     ("from=2026-02-02&to=2026-02-01", "from")],
)
def test_bad_filters_answer_400_naming_the_parameter(admin, gateway, http, query, param):
    r = http.get(f"{gateway.url}/api/admin/chat-logs?{query}", headers=jwt_headers(admin))
    assert r.status_code == 400
    assert r.json()["extra"]["param"] == param and r.json()["message"]
    r = http.get(f"{gateway.url}/api/admin/chat-logs/export?{query}", headers=jwt_headers(admin))
    assert r.status_code == 400


def test_detail_shows_attempts_with_masked_keys_only(caller, admin, gateway, http, sim):
    row = _send(caller.client, LLAMA, extra_body={"models": [QWEN], "sim": {"faults": {LLAMA: "502"}}})
    r = http.get(f"{gateway.url}/api/admin/chat-logs/{row.id}", headers=jwt_headers(admin))
    assert r.status_code == 200
    detail = r.json()
    assert detail["modelRequested"] == LLAMA and detail["modelUsed"] == QWEN
    attempts = detail["attempts"]
    assert [a["model"] for a in attempts] == [LLAMA, LLAMA, QWEN]
    assert [a["status"] for a in attempts] == [502, 502, 200]
    assert {a["key"] for a in attempts} == {f"…{k[-4:]}" for k in POOL_KEYS}
    raw = r.text
    for secret in [*POOL_KEYS, caller.secret]:
        assert secret not in raw
    assert "Authorization" not in raw and "Bearer" not in raw


def test_detail_of_a_missing_row_is_404(admin, gateway, http):
    r = http.get(f"{gateway.url}/api/admin/chat-logs/999999", headers=jwt_headers(admin))
    assert r.status_code == 404 and r.json() == {"message": "No such request.", "extra": {}}


ADMIN_PATHS = ["/api/admin/chat-logs", "/api/admin/chat-logs/1", "/api/admin/chat-logs/export", "/api/admin/stats"]


@pytest.mark.parametrize("path", ADMIN_PATHS)
def test_admin_endpoints_refuse_anonymous_and_non_admins(gateway, http, path):
    assert http.get(f"{gateway.url}{path}").status_code == 401
    user = make_user()
    r = http.get(f"{gateway.url}{path}", headers=jwt_headers(user))
    assert r.status_code == 403 and r.json()["message"]


def test_users_read_only_their_own_rows(caller, gateway, http):
    mine = _send(caller.client, LLAMA)
    other = make_user()
    theirs = _send(openai_client(gateway.url, make_key(other)), QWEN)
    assert http.get(f"{gateway.url}/api/user/chat-logs").status_code == 401
    r = http.get(f"{gateway.url}/api/user/chat-logs?user={other.id}", headers=jwt_headers(caller.user))
    assert r.status_code == 200
    assert [row["id"] for row in r.json()["results"]] == [mine.id]  # ``user`` cannot widen the view
    r = http.get(f"{gateway.url}/api/user/chat-logs/{mine.id}", headers=jwt_headers(caller.user))
    assert r.status_code == 200 and r.json()["attempts"][0]["model"] == LLAMA
    r = http.get(f"{gateway.url}/api/user/chat-logs/{theirs.id}", headers=jwt_headers(caller.user))
    assert r.status_code == 404
    r = http.get(f"{gateway.url}/api/user/chat-logs?status=nope", headers=jwt_headers(caller.user))
    assert r.status_code == 400


def _bulk_rows(user, n: int) -> None:
    now = timezone.now()
    RequestLog.objects.bulk_create(
        RequestLog(request_id=f"req_bulk{i:07d}", created_at=now - timedelta(seconds=i), user=user,
                   model_requested=LLAMA, model_used=LLAMA if i % 10 else "", status=200 if i % 10 else 502,
                   error_message="" if i % 10 else "=HYPERLINK(\"x\")", prompt_tokens=3, completion_tokens=7,
                   total_tokens=10, cost=Decimal("0.000001"), latency_ms=20,
                   attempts=[{"model": LLAMA, "key": "…1111", "account": "a", "status": 200, "latencyMs": 20,
                              "reason": ""}])
        for i in range(n)
    )


def test_csv_export_streams_every_row_with_the_filters(admin, gateway, http):
    user = make_user()
    _bulk_rows(user, 5000)
    url = f"{gateway.url}/api/admin/chat-logs/export"
    with http.stream("GET", url, headers=jwt_headers(admin)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert r.headers["content-disposition"].startswith('attachment; filename="chat-logs-')
        # Streamed: no length known up front, the body arrives in several pieces.
        assert r.headers.get("transfer-encoding") == "chunked" and "content-length" not in r.headers
        pieces = list(r.iter_raw())
    assert len(pieces) > 1
    rows = list(csv.reader(io.StringIO(b"".join(pieces).decode())))
    assert rows[0][:5] == ["id", "createdAt", "requestId", "userId", "userEmail"]
    assert len(rows) == 5001
    assert rows[1][2] == "req_bulk0000000"  # newest first
    assert rows[1][4] == user.email
    text = b"".join(pieces).decode()
    assert "…1111" not in text and "HYPERLINK" not in text  # attempts and messages stay out of the CSV

    r = http.get(f"{url}?status=error", headers=jwt_headers(admin))
    errors = list(csv.reader(io.StringIO(r.text)))
    assert len(errors) == 501 and {row[11] for row in errors[1:]} == {"502"}
