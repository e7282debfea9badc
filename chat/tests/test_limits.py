"""Rate limits and daily usage limits: exact across processes, with the headers clients read."""

import openai
import pytest

from chat.proxy import clock
from chat.tests.conftest import LLAMA, QWEN
from gateway_project import invalidation
from models_catalog.models import CatalogModel, UsageLimit
from testing.factories import make_key, openai_client
from testing.servers import fresh_minute

USER = [{"role": "user", "content": "hi"}]


def test_requests_per_minute_per_key_gives_429_with_retry_after(caller, gateway):
    fresh_minute()
    from accounts.models import GatewayKey
    from accounts.services import gateway_key_update

    key = GatewayKey.objects.get(user=caller.user)
    gateway_key_update(key=key, rpm=3)
    for remaining in (2, 1, 0):
        raw = caller.client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
        assert raw.headers["x-ratelimit-limit-requests"] == "3"
        assert raw.headers["x-ratelimit-remaining-requests"] == str(remaining)
        assert raw.headers["x-ratelimit-reset-requests"].endswith("s")
        assert "x-ratelimit-remaining-tokens" in raw.headers
    with pytest.raises(openai.RateLimitError) as raised:
        caller.client.chat.completions.create(model=LLAMA, messages=USER)
    assert raised.value.body["code"] == "rate_limit_exceeded"
    assert 1 <= int(raised.value.response.headers["retry-after"]) <= 60
    # Another key of the same user has its own per-key window (the user's default is generous).
    other = openai_client(gateway.url, make_key(caller.user))
    assert other.chat.completions.create(model=LLAMA, messages=USER).choices


def test_tokens_per_minute_are_charged_after_the_answer(caller):
    fresh_minute()
    from accounts.models import GatewayKey
    from accounts.services import gateway_key_update

    gateway_key_update(key=GatewayKey.objects.get(user=caller.user), tpm=10)
    caller.client.chat.completions.create(model=LLAMA, messages=[{"role": "user", "content": "a b c d e f g"}])
    with pytest.raises(openai.RateLimitError) as raised:
        caller.client.chat.completions.create(model=LLAMA, messages=USER)
    assert "tokens per minute" in raised.value.body["message"]


def test_two_processes_sharing_redis_admit_at_most_the_limit(caller, gateway_process_factory):
    from concurrent.futures import ThreadPoolExecutor

    from accounts.models import GatewayKey
    from accounts.services import gateway_key_update

    gateway_key_update(key=GatewayKey.objects.get(user=caller.user), rpm=10)
    procs = [gateway_process_factory(), gateway_process_factory()]
    clients = [openai_client(p.url, caller.secret) for p in procs]

    def call(i: int) -> int:
        try:
            clients[i % 2].chat.completions.create(model=LLAMA, messages=USER)
            return 200
        except openai.RateLimitError:
            return 429

    fresh_minute()
    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(call, range(30)))
    assert statuses.count(200) == 10
    assert statuses.count(429) == 20


def test_daily_usage_limit_names_the_limit_and_resets_at_utc_midnight(caller, sim):
    model = CatalogModel.objects.get(model_id=LLAMA)
    UsageLimit.objects.create(model=model, max_requests_per_day=2)
    invalidation.announce(invalidation.CATALOG)
    for _ in range(2):
        caller.client.chat.completions.create(model=LLAMA, messages=USER)
    with pytest.raises(openai.RateLimitError) as raised:
        caller.client.chat.completions.create(model=LLAMA, messages=USER)
    assert raised.value.body["code"] == "daily_limit_exceeded"
    assert "Daily limit of 2 requests" in raised.value.body["message"]
    assert "00:00 UTC" in raised.value.body["message"]
    assert raised.value.response.headers["x-should-retry"] == "false"
    # Other models are not limited by it.
    assert caller.client.chat.completions.create(model=QWEN, messages=USER).choices
    # Just before midnight it still holds; just after, the day is new.
    now = clock.now()
    clock.advance(86400 - (now % 86400) - 5)
    with pytest.raises(openai.RateLimitError):
        caller.client.chat.completions.create(model=LLAMA, messages=USER)
    clock.advance(10)
    assert caller.client.chat.completions.create(model=LLAMA, messages=USER).choices


def test_default_daily_token_limit_applies_to_every_model(caller):
    UsageLimit.objects.create(model=None, max_tokens_per_day=12)
    invalidation.announce(invalidation.CATALOG)
    caller.client.chat.completions.create(model=QWEN, messages=[{"role": "user", "content": "one two three four"}])
    with pytest.raises(openai.RateLimitError) as raised:
        caller.client.chat.completions.create(model=QWEN, messages=USER)
    assert "Daily limit of 12 tokens" in raised.value.body["message"]


@pytest.mark.parametrize(("mode", "status"), [("open", 200), ("closed", 503)])
def test_unreachable_redis_follows_the_failure_mode_setting(caller, gateway_process_factory, http, mode, status):
    proc = gateway_process_factory(REDIS_URL="redis://127.0.0.1:1/0", REDIS_FAILURE_MODE=mode)
    r = http.post(f"{proc.url}/v1/chat/completions", headers={"Authorization": f"Bearer {caller.secret}"},
                  json={"model": LLAMA, "messages": USER})
    assert r.status_code == status
    if status == 503:
        assert r.json()["error"]["code"] == "limits_unavailable"
    health = http.get(f"{proc.url}/health/ready").json()
    assert health["dependencies"]["redis"] == "down"
    assert health["redisFailureMode"] == mode


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_a_key_over_its_own_rpm_gets_a_json_429_from_either_store(caller, gateway_process_factory, http, store):
    """The key's counter is the first one checked: the answer still carries every limit header."""
    import os

    from accounts.models import GatewayKey
    from accounts.services import gateway_key_update

    gateway_key_update(key=GatewayKey.objects.get(user=caller.user), rpm=1)
    proc = gateway_process_factory(REDIS_URL="" if store == "memory" else os.environ["REDIS_URL"])
    fresh_minute()
    url, auth = f"{proc.url}/v1/chat/completions", {"Authorization": f"Bearer {caller.secret}"}
    assert http.post(url, headers=auth, json={"model": LLAMA, "messages": USER}).status_code == 200
    r = http.post(url, headers=auth, json={"model": LLAMA, "messages": USER})
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "rate_limit_exceeded"
    assert r.headers["x-ratelimit-limit-requests"] == "1"
    assert r.headers["x-ratelimit-remaining-requests"] == "0"
    assert "x-ratelimit-remaining-tokens" in r.headers


def test_an_accounts_daily_pool_quota_counts_pool_requests_on_every_model_and_not_its_own_key(caller, sim):
    from accounts.services import user_upstream_key_set

    type(caller.user).objects.filter(pk=caller.user.pk).update(daily_requests=2)
    invalidation.announce(invalidation.PRINCIPALS, detail=str(caller.user.id))
    caller.client.chat.completions.create(model=LLAMA, messages=USER)
    caller.client.chat.completions.create(model=QWEN, messages=USER)
    with pytest.raises(openai.RateLimitError) as raised:
        caller.client.chat.completions.create(model=QWEN, messages=USER)
    assert raised.value.body["code"] == "daily_limit_exceeded"
    assert raised.value.response.headers["x-should-retry"] == "false"
    # With their own upstream key the user pays upstream: the pool's quota no longer applies.
    user_upstream_key_set(user=caller.user, api_key="sk-or-v1-" + "c" * 64)
    invalidation.announce(invalidation.PRINCIPALS, detail=str(caller.user.id))
    assert caller.client.chat.completions.create(model=LLAMA, messages=USER).choices
