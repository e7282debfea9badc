"""Model health figures move as traffic through the gateway succeeds, fails and is rate limited."""

from __future__ import annotations

import time

import openai
import pytest
from asgiref.sync import async_to_sync

from models_catalog import health
from testing.factories import make_key, make_user, sync_catalog

FREE = "meta-llama/llama-3.3-70b-instruct:free"
WEATHER = [{"type": "function", "function": {"name": "get_weather",
                                             "parameters": {"type": "object", "properties": {"city": {}}}}}]


@pytest.fixture
def client(gateway):
    sync_catalog()
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=make_key(make_user()), max_retries=0)


def _health(admin_api, model_id: str) -> dict:
    models = admin_api.get("/admin/models", params={"size": 100}).json()["results"]
    return next(m for m in models if m["modelId"] == model_id)["health"]


def test_successes_give_full_success_rate_latency_and_ttft(client, admin_api):
    client.chat.completions.create(model=FREE, messages=[{"role": "user", "content": "hi"}])
    list(client.chat.completions.create(model=FREE, stream=True, messages=[{"role": "user", "content": "hi"}]))
    figures = _health(admin_api, FREE)
    assert figures["samples"] == 2 and figures["successRate"] == 1.0
    assert figures["p50LatencyMs"] is not None and figures["p50LatencyMs"] >= 0
    assert figures["p50TtftMs"] is not None
    assert figures["rateLimited"] is False and figures["toolsObserved"] is None


def test_failures_lower_the_success_rate(client, admin_api):
    client.chat.completions.create(model=FREE, messages=[{"role": "user", "content": "ok"}])
    # The first attempt fails with a 500, the retry on the next key succeeds.
    client.chat.completions.create(model=FREE, messages=[{"role": "user", "content": "retry"}],
                                   extra_body={"sim": {"fault": "500", "times": 1, "id": "h1"}})
    figures = _health(admin_api, FREE)
    assert figures["samples"] == 3
    assert figures["successRate"] == pytest.approx(2 / 3, abs=0.001)


def test_a_rate_limit_is_shown_with_when_it_lifts(client, admin_api):
    client.chat.completions.create(model=FREE, messages=[{"role": "user", "content": "limited"}],
                                   extra_body={"sim": {"fault": "429_provider:30", "times": 1, "id": "h2"}})
    figures = _health(admin_api, FREE)
    assert figures["rateLimited"] is True
    assert figures["rateLimitedUntil"] > time.time() + 20
    assert figures["lastRateLimitedAt"] <= time.time()


def test_tool_support_is_observed_from_traffic(client, admin_api):
    client.chat.completions.create(model=FREE, tools=WEATHER, messages=[{"role": "user", "content": "Rome"}])
    assert _health(admin_api, FREE)["toolsObserved"] is True
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=FREE, tools=WEATHER, messages=[{"role": "user", "content": "Rome"}],
                                       extra_body={"sim": {"fault": "400"}})
    figures = _health(admin_api, FREE)
    assert figures["toolsObserved"] is False
    assert figures["samples"] == 1  # the request's own 400 does not count against the model


def test_the_async_reader_sees_what_the_router_recorded(client):
    client.chat.completions.create(model=FREE, messages=[{"role": "user", "content": "hi"}])
    figures = async_to_sync(health.aread)([FREE, "qwen/qwen3-coder:free"])
    assert figures[FREE].samples == 1 and figures[FREE].success_rate == 1.0
    assert figures["qwen/qwen3-coder:free"].samples == 0
