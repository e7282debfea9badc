"""Every request gives exactly one log row, written off the request path and drained on shutdown."""

from datetime import timedelta

import openai
import pytest
from django.utils import timezone

from chat.models import RequestLog
from chat.retention import request_logs_purge
from chat.tests.conftest import LLAMA, QWEN
from testing.factories import openai_client
from testing.servers import wait_until

USER = [{"role": "user", "content": "hi"}]


def test_n_requests_give_exactly_n_rows_with_attempts_and_no_secrets(caller, sim):
    caller.client.chat.completions.create(model=LLAMA, messages=USER)
    caller.client.chat.completions.create(model=LLAMA, messages=USER, extra_body={
        "models": [QWEN], "sim": {"faults": {LLAMA: "502"}}})
    list(caller.client.chat.completions.create(model=QWEN, messages=USER, stream=True))
    with pytest.raises(openai.BadRequestError):
        caller.client.chat.completions.create(model=LLAMA, messages=USER, temperature=9)
    with pytest.raises(openai.NotFoundError):
        caller.client.chat.completions.create(model="no/such-model", messages=USER)
    rows = wait_until(lambda: list(RequestLog.objects.order_by("created_at")) if RequestLog.objects.count() == 5
                      else None)
    ok, fallback, streamed, invalid, unknown = rows
    assert (ok.status, ok.model_used, ok.prompt_tokens, ok.completion_tokens) == (200, LLAMA, 5, 6)
    assert ok.key_prefix.startswith("sk-gw-") and ok.user_id == caller.user.id and ok.source == "api"
    assert ok.ttft_ms is not None and ok.latency_ms >= ok.ttft_ms
    assert fallback.model_requested == LLAMA and fallback.model_used == QWEN
    assert [a["status"] for a in fallback.attempts] == [502, 502, 200]
    assert {a["reason"] for a in fallback.attempts[:2]} == {"upstream_error"}
    assert streamed.stream and streamed.completion_tokens == 6
    assert invalid.status == 400 and invalid.error_type == "invalid_value"
    assert unknown.status == 404
    dump = str(list(RequestLog.objects.values()))
    assert caller.secret not in dump
    for pool_key in ("sk-or-pool-key-aaaa1111", "sk-or-pool-key-bbbb2222"):
        assert pool_key not in dump
    assert "…1111" in dump or "…2222" in dump


def test_rows_are_drained_when_the_server_gets_sigterm(caller, gateway_process_factory):
    proc = gateway_process_factory(GATEWAY_LOG_FLUSH_INTERVAL="600", GATEWAY_LOG_BATCH_SIZE="1000")
    client = openai_client(proc.url, caller.secret)
    for _ in range(20):
        client.chat.completions.create(model=LLAMA, messages=USER)
    assert RequestLog.objects.count() == 0  # nothing flushed yet: the interval is ten minutes
    # uvicorn shuts down gracefully, then re-raises SIGTERM so the exit status tells why it stopped.
    assert proc.terminate() in (0, -15)
    assert "Traceback" not in proc.output()
    assert RequestLog.objects.count() == 20


def test_retention_purge_deletes_only_old_rows(db):
    now = timezone.now()
    for i, age in enumerate([0, 10, 40, 100]):
        RequestLog.objects.create(request_id=f"req_{i}", created_at=now - timedelta(days=age), status=200)
    assert request_logs_purge(older_than_days=30) == 2
    assert sorted(RequestLog.objects.values_list("request_id", flat=True)) == ["req_0", "req_1"]


def test_user_usage_shows_todays_use_against_limits(caller, gateway, http):
    from rest_framework_simplejwt.tokens import RefreshToken

    from gateway_project import invalidation
    from models_catalog.models import CatalogModel, UsageLimit

    UsageLimit.objects.create(model=CatalogModel.objects.get(model_id=LLAMA), max_requests_per_day=5)
    invalidation.announce(invalidation.CATALOG)
    caller.client.chat.completions.create(model=LLAMA, messages=USER)
    wait_until(lambda: RequestLog.objects.count() == 1)
    token = str(RefreshToken.for_user(caller.user).access_token)
    assert http.get(f"{gateway.url}/api/user/usage").status_code == 401
    body = http.get(f"{gateway.url}/api/user/usage", headers={"Authorization": f"Bearer {token}"}).json()
    assert body["balance"] == "0"
    assert body["today"] == [{"modelId": LLAMA, "requests": 1, "tokens": 11, "cost": "0"}]
    assert body["limits"][0]["modelId"] == LLAMA
    assert body["limits"][0]["maxRequestsPerDay"] == 5 and body["limits"][0]["requestsToday"] == 1
