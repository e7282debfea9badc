"""Fallbacks, retries and the quota-aware key pool, against the simulator's faults."""

import dataclasses
import time

import httpx
import openai
import pytest

from chat.proxy import pool
from chat.tests.conftest import LLAMA, MISTRAL, QWEN
from gateway_project import invalidation
from models_catalog.models import Alias, CatalogModel
from testing.env import POOL_KEYS
from testing.servers import wait_until

USER = [{"role": "user", "content": "hi"}]


def _served(raw):
    return raw.headers["x-gateway-model"], int(raw.headers["x-gateway-attempts"])


@pytest.mark.parametrize("fault", ["429_provider:30", "500", "502", "503", "404"])
def test_fallback_list_moves_to_the_next_model(caller, sim, fault):
    raw = caller.client.chat.completions.with_raw_response.create(
        model=LLAMA, messages=USER, extra_body={"models": [QWEN], "sim": {"faults": {LLAMA: fault}}})
    assert raw.parse().model == QWEN
    model, attempts = _served(raw)
    assert model == QWEN
    # 404 means the model is gone everywhere: no second key is tried for it.
    assert attempts == (2 if fault == "404" else 3)


def test_alias_resolves_with_its_fallbacks(caller, sim):
    Alias.objects.create(alias="gpt-4o", model_id=LLAMA, fallbacks=[MISTRAL])
    invalidation.announce(invalidation.CATALOG)
    raw = caller.client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=USER, extra_body={"sim": {"faults": {LLAMA: "502"}}})
    assert _served(raw)[0] == MISTRAL
    assert [m.id for m in caller.client.models.list()].count("gpt-4o") == 1


def test_request_errors_go_straight_back_without_fallback(caller, sim):
    with pytest.raises(openai.BadRequestError):
        caller.client.chat.completions.create(
            model=LLAMA, messages=USER, extra_body={"models": [QWEN], "sim": {"faults": {LLAMA: "400"}}})
    assert len(sim.requests()) == 1


def test_retry_waits_as_retry_after_says(caller, sim):
    started = time.monotonic()
    raw = caller.client.chat.completions.with_raw_response.create(
        model=LLAMA, messages=USER,
        extra_body={"sim": {"fault": "429_provider:1", "times": 2, "id": "retry-after"}})
    elapsed = time.monotonic() - started
    assert raw.parse().choices[0].message.content.startswith("Hello")
    assert _served(raw) == (LLAMA, 3)  # both pool keys refused, then the retry after 1 s
    assert elapsed >= 1.0


def test_a_spent_account_moves_traffic_to_another(caller, sim):
    sim.configure(limits={"rpm": 2}, accounts={POOL_KEYS[0]: "acct-a", POOL_KEYS[1]: "acct-b"})
    keys_used = []
    for _ in range(4):
        raw = caller.client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
        assert raw.headers["x-gateway-attempts"] == "1"  # never sent where it would be refused
        keys_used.append(sim.requests()[-1]["key"])
    assert sorted(keys_used) == sorted(POOL_KEYS * 2)


def test_all_spent_per_minute_gives_429_with_retry_after(caller, sim):
    sim.configure(limits={"rpm": 1})
    for _ in range(2):
        caller.client.chat.completions.create(model=LLAMA, messages=USER)
    with pytest.raises(openai.RateLimitError) as raised:
        caller.client.chat.completions.create(model=LLAMA, messages=USER, extra_body={"models": [QWEN]})
    headers = raised.value.response.headers
    assert 1 <= int(headers["retry-after"]) <= 61
    assert headers.get("x-should-retry") != "false"
    assert raised.value.body["code"] == "upstream_rate_limited"
    assert len(sim.requests()) == 2  # the third request never went upstream


def test_all_daily_quotas_spent_gives_429_that_says_do_not_retry(caller, sim):
    sim.configure(limits={"rpd": 1})
    for _ in range(2):
        caller.client.chat.completions.create(model=LLAMA, messages=USER)
    with pytest.raises(openai.RateLimitError) as raised:
        caller.client.chat.completions.create(model=LLAMA, messages=USER)
    assert raised.value.response.headers["x-should-retry"] == "false"


def test_daily_429_from_upstream_marks_the_account(caller, sim):
    with pytest.raises(openai.RateLimitError) as raised:
        caller.client.chat.completions.create(model=LLAMA, messages=USER, extra_body={"sim": {"fault": "429_day"}})
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert len(sim.requests()) == 2
    # Both accounts are now known to be spent for the day: nothing more is sent.
    with pytest.raises(openai.RateLimitError):
        caller.client.chat.completions.create(model=QWEN, messages=USER)
    assert len(sim.requests()) == 2


def test_a_model_that_answers_404_is_disabled_and_the_request_falls_back(caller, sim):
    sim.configure(gone_models=[LLAMA])
    raw = caller.client.chat.completions.with_raw_response.create(
        model=LLAMA, messages=USER, extra_body={"models": [QWEN]})
    assert _served(raw)[0] == QWEN
    model = CatalogModel.objects.get(model_id=LLAMA)
    assert model.enabled is False
    assert "404" in model.disabled_reason
    assert LLAMA not in [m.id for m in caller.client.models.list()]


def test_mid_stream_failure_is_one_error_event_and_no_retry(caller, gateway, sim):
    with httpx.stream("POST", f"{gateway.url}/v1/chat/completions",
                      headers={"Authorization": f"Bearer {caller.secret}"},
                      json={"model": LLAMA, "stream": True, "messages": [{"role": "user", "content": "a b c d e f"}],
                            "sim": {"fault": "midstream"}}) as r:
        body = b"".join(r.iter_bytes())
    events = [e for e in body.split(b"\n\n") if e.startswith(b"data:")]
    errors = [e for e in events if b'"error"' in e]
    assert r.status_code == 200
    assert len(errors) == 1
    assert events[-1] == b"data: [DONE]"
    assert len(sim.requests()) == 1
    stream = caller.client.chat.completions.create(
        model=LLAMA, messages=[{"role": "user", "content": "a b c d e f"}], stream=True,
        extra_body={"sim": {"fault": "midstream"}})
    with pytest.raises(openai.APIError):
        list(stream)


def test_client_disconnect_cancels_the_upstream_request(caller, gateway, sim):
    from chat.models import RequestLog

    with httpx.stream("POST", f"{gateway.url}/v1/chat/completions",
                      headers={"Authorization": f"Bearer {caller.secret}"},
                      json={"model": LLAMA, "stream": True, "messages": [{"role": "user", "content": "x " * 50}],
                            "sim": {"fault": "chunk_delay:200"}}) as r:
        received = b""
        for chunk in r.iter_bytes():
            received += chunk
            if received.count(b"data:") >= 3:
                break
    wait_until(lambda: sim.state()["disconnects"] == 1, timeout=3)
    assert sim.state()["in_flight"] == 0
    row = wait_until(lambda: RequestLog.objects.filter(client_disconnected=True).first(), timeout=3)
    assert row.status == 200
    assert row.completion_tokens >= 1


def test_timeouts_fall_back(caller, sim, settings):
    raw = caller.client.chat.completions.with_raw_response.create(
        model=LLAMA, messages=USER, extra_body={"models": [QWEN], "sim": {"faults": {LLAMA: "slow:8000"}}})
    assert _served(raw)[0] == QWEN


def test_two_gateway_processes_sharing_redis_agree_on_a_spent_account(caller, sim, gateway_process_factory):
    from testing.factories import openai_client

    sim.configure(limits={"rpm": 1}, accounts={POOL_KEYS[0]: "acct-a", POOL_KEYS[1]: "acct-b"})
    first, second = gateway_process_factory(), gateway_process_factory()
    client_one = openai_client(first.url, caller.secret)
    client_two = openai_client(second.url, caller.secret)
    client_one.chat.completions.create(model=LLAMA, messages=USER)
    spent_key = sim.requests()[-1]["key"]
    raw = client_two.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
    assert raw.headers["x-gateway-attempts"] == "1"
    assert sim.requests()[-1]["key"] != spent_key
    with pytest.raises(openai.RateLimitError):
        client_one.chat.completions.create(model=LLAMA, messages=USER)
    assert len(sim.requests()) == 2


def test_a_burst_beyond_one_accounts_limit_is_served_while_capacity_remains(caller, sim):
    from concurrent.futures import ThreadPoolExecutor

    sim.configure(limits={"rpm": 3}, accounts={POOL_KEYS[0]: "acct-a", POOL_KEYS[1]: "acct-b"})

    def call(i):
        try:
            return caller.client.chat.completions.create(model=[LLAMA, QWEN][i % 2], messages=USER).model
        except openai.RateLimitError:
            return 429

    with ThreadPoolExecutor(max_workers=6) as pool:
        served = list(pool.map(call, range(6)))
    assert 429 not in served  # three on each account
    with pytest.raises(openai.RateLimitError) as raised:
        caller.client.chat.completions.create(model=LLAMA, messages=USER)
    assert "retry-after" in raised.value.response.headers


def test_keys_of_one_account_share_its_limits(caller, sim, gateway_process_factory):
    from testing.factories import openai_client

    sim.configure(limits={"rpm": 1}, accounts={"sk-or-shared-one-1111": "team", "sk-or-shared-two-2222": "team"})
    proc = gateway_process_factory(OPENROUTER_API_KEYS="team=sk-or-shared-one-1111,team=sk-or-shared-two-2222")
    client = openai_client(proc.url, caller.secret)
    client.chat.completions.create(model=LLAMA, messages=USER)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=LLAMA, messages=USER)
    assert len(sim.requests()) == 1  # the second key of the spent account was not tried


def test_a_rejected_key_is_opened_by_the_breaker_and_skipped(caller, sim):
    sim.configure(revoked_keys=[POOL_KEYS[0]])
    attempts = []
    for _ in range(3):
        raw = caller.client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
        attempts.append(int(raw.headers["x-gateway-attempts"]))
    assert attempts == [2, 1, 1]  # the revoked key is tried once, answers 401, then left alone
    assert [r["key"] for r in sim.requests()] == [POOL_KEYS[1]] * 3


def _one_pool_key(settings):
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, openrouter_api_keys=[POOL_KEYS[0]])
    pool.invalidate_local()


def test_a_request_the_upstream_always_fails_never_opens_the_only_keys_breaker(caller, sim, settings):
    _one_pool_key(settings)
    for _ in range(pool.BREAKER_THRESHOLD + 1):  # more failures than ever opened a breaker
        with pytest.raises(openai.InternalServerError) as raised:
            caller.client.chat.completions.create(model=LLAMA, messages=USER, extra_body={"sim": {"fault": "500"}})
        assert raised.value.status_code == 502
        assert raised.value.body["code"] == "upstream_error"
        assert "Upstream error 500" in raised.value.body["message"]
    # Each failing request went upstream once: never to the same key and model twice in a row.
    assert len(sim.requests()) == pool.BREAKER_THRESHOLD + 1
    [key] = pool.pool_report()
    assert (key["state"], key["recentFailures"]) == ("ok", 0)
    raw = caller.client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
    assert raw.parse().choices[0].message.content.startswith("Hello")
    assert _served(raw) == (LLAMA, 1)


def test_an_upstream_400_goes_straight_back_and_never_marks_the_key(caller, sim, settings):
    _one_pool_key(settings)
    for _ in range(pool.BREAKER_THRESHOLD + 1):
        with pytest.raises(openai.BadRequestError):
            caller.client.chat.completions.create(model=LLAMA, messages=USER, extra_body={"sim": {"fault": "400"}})
    assert len(sim.requests()) == pool.BREAKER_THRESHOLD + 1
    assert caller.client.chat.completions.create(model=LLAMA, messages=USER).choices[0].message.content


def test_a_model_failing_across_requests_is_taken_off_that_account_and_the_key_still_serves_others(caller, sim):
    for i in range(pool.MODEL_FAILURE_THRESHOLD):
        # The first key's answer for LLAMA is a 500; the second key serves the same request.
        raw = caller.client.chat.completions.with_raw_response.create(
            model=LLAMA, messages=USER, extra_body={"sim": {"fault": "500", "times": 1, "id": f"flaky-{i}"}})
        assert _served(raw) == (LLAMA, 2)
        assert [r["key"] for r in sim.requests()[-2:]] == POOL_KEYS
    raw = caller.client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
    assert _served(raw) == (LLAMA, 1)
    assert sim.requests()[-1]["key"] == POOL_KEYS[1]  # LLAMA no longer goes to the first key's account
    raw = caller.client.chat.completions.with_raw_response.create(model=QWEN, messages=USER)
    assert _served(raw) == (QWEN, 1)
    assert sim.requests()[-1]["key"] == POOL_KEYS[0]  # ...but the first key itself is fine
