"""Issue 15's log fixes over real HTTP: the model filter matches part of an id, the CSV's cost is a plain decimal."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from chat.models import RequestLog
from chat.tests.conftest import LLAMA, QWEN
from testing.browser import jwt_headers
from testing.factories import make_user


def _row(n: int, model: str, cost: Decimal) -> RequestLog:
    return RequestLog.objects.create(request_id=f"req_ux{n:06d}", created_at=timezone.now() - timedelta(seconds=n),
                                     model_requested=model, model_used=model, status=200, cost=cost)


def test_the_model_filter_matches_part_of_an_id_in_any_case(gateway, http):
    admin = make_user(admin=True)
    llama, qwen = _row(1, LLAMA, Decimal("0")), _row(2, QWEN, Decimal("0"))
    url = f"{gateway.url}/api/admin/chat-logs"
    found = http.get(url, params={"model": "QWEN3"}, headers=jwt_headers(admin)).json()
    assert [r["id"] for r in found["results"]] == [qwen.id]
    found = http.get(url, params={"model": ":free"}, headers=jwt_headers(admin)).json()
    assert sorted(r["id"] for r in found["results"]) == sorted([llama.id, qwen.id])


def test_the_csv_cost_column_is_a_plain_decimal(gateway, http):
    admin = make_user(admin=True)
    _row(1, LLAMA, Decimal("0E-8"))
    _row(2, QWEN, Decimal("0.00000123"))
    r = http.get(f"{gateway.url}/api/admin/chat-logs/export", headers=jwt_headers(admin))
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["cost"] for row in rows] == ["0.00000000", "0.00000123"]
    assert "E-" not in r.text
