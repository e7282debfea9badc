"""The exact response cache over real HTTP, the OpenAI SDK and the simulator (chat/proxy/cache.py)."""

from __future__ import annotations

import dataclasses
from contextlib import closing

import openai
import pytest

from accounts.models import GatewayKey
from accounts.services import gateway_key_update
from chat.models import RequestLog
from chat.tests.conftest import LLAMA
from testing.factories import api_client, make_key, make_user, openai_client
from testing.servers import wait_until

USER = [{"role": "user", "content": "what is a cache?"}]


@pytest.fixture
def cache_on(settings):
    """GATEWAY_CACHE_TTL=60 for the in-process gateway."""
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, cache_ttl_s=60)


def _ask(client, headers: dict | None = None, **body):
    body.setdefault("messages", USER)
    return client.chat.completions.with_raw_response.create(model=body.pop("model", LLAMA), extra_headers=headers,
                                                            **body)


def _upstream_calls(sim) -> int:
    return sum(p.endswith("/chat/completions") for p in sim.paths())


def _row(raw) -> RequestLog:
    return wait_until(lambda: RequestLog.objects.filter(request_id=raw.headers["x-request-id"]).first())


def test_the_second_identical_request_is_a_hit_that_never_reaches_the_upstream(caller, sim, cache_on):
    first = _ask(caller.client)
    assert (first.headers["x-gateway-cache"], first.headers["x-gateway-attempts"]) == ("miss", "1")
    second = _ask(caller.client)
    assert (second.headers["x-gateway-cache"], second.headers["x-gateway-attempts"]) == ("hit", "0")
    assert second.headers["x-gateway-model"] == LLAMA
    assert second.parse().id == first.parse().id
    assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
    assert _upstream_calls(sim) == 1

    miss, hit = _row(first), _row(second)
    assert (miss.cache_hit, hit.cache_hit) == (False, True)
    assert miss.total_tokens > 0 and miss.status == 200
    assert (hit.status, hit.total_tokens, hit.cost, hit.attempts, hit.model_used) == (200, 0, 0, [], LLAMA)

    other_parameters = _ask(caller.client, temperature=0.5)
    assert other_parameters.headers["x-gateway-cache"] == "miss"
    assert _upstream_calls(sim) == 2


def test_no_cache_skips_the_lookup_and_streams_are_never_answered_from_the_cache(caller, sim, cache_on):
    _ask(caller.client)
    fresh = _ask(caller.client, {"Cache-Control": "no-cache"})
    assert fresh.headers["x-gateway-cache"] == "miss"
    assert _upstream_calls(sim) == 2
    assert _ask(caller.client).headers["x-gateway-cache"] == "hit"  # the fresh answer was kept

    for _ in range(2):
        with caller.client.chat.completions.with_streaming_response.create(
                model=LLAMA, messages=USER, stream=True) as streamed:
            assert streamed.headers["x-gateway-cache"] == "miss"
            assert "".join(streamed.iter_lines())
    assert _upstream_calls(sim) == 4


def test_answers_are_never_shared_between_users(caller, gateway, sim, cache_on):
    other = openai_client(gateway.url, make_key(make_user()))
    assert _ask(caller.client).headers["x-gateway-cache"] == "miss"
    assert _ask(other).headers["x-gateway-cache"] == "miss"
    assert _upstream_calls(sim) == 2
    assert _ask(other).headers["x-gateway-cache"] == "hit"
    assert _ask(caller.client).headers["x-gateway-cache"] == "hit"
    assert _upstream_calls(sim) == 2


def test_an_answer_expires_after_its_ttl(caller, sim):
    short = {"x-gateway-cache-ttl": "1"}
    assert _ask(caller.client, short).headers["x-gateway-cache"] == "miss"
    assert _ask(caller.client, short).headers["x-gateway-cache"] == "hit"
    wait_until(lambda: _ask(caller.client, short).headers["x-gateway-cache"] == "miss", timeout=5, interval=0.2)
    assert _upstream_calls(sim) == 2


def test_the_cache_is_off_by_default_and_a_key_or_a_request_turns_it_on_or_off(caller, gateway, sim, settings):
    off = _ask(caller.client)
    assert "x-gateway-cache" not in off.headers
    assert _ask(caller.client).headers["x-gateway-attempts"] == "1"

    user = make_user()
    keyed = openai_client(gateway.url, make_key(user, cache_ttl=60))
    assert _ask(keyed).headers["x-gateway-cache"] == "miss"
    assert _ask(keyed).headers["x-gateway-cache"] == "hit"

    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, cache_ttl_s=60)
    opted_out = openai_client(gateway.url, make_key(make_user(), cache_ttl=0))
    assert "x-gateway-cache" not in _ask(opted_out).headers
    assert "x-gateway-cache" not in _ask(opted_out).headers
    per_request = {"x-gateway-cache-ttl": "60"}
    assert _ask(opted_out, per_request).headers["x-gateway-cache"] == "miss"
    assert _ask(opted_out, per_request).headers["x-gateway-cache"] == "hit"
    assert _upstream_calls(sim) == 2 + 1 + 2 + 1


@pytest.mark.parametrize("value", ["soon", "-1", "1.5", "604801"])
def test_a_bad_ttl_header_is_refused_with_400(caller, sim, value):
    with pytest.raises(openai.BadRequestError) as raised:
        _ask(caller.client, {"x-gateway-cache-ttl": value})
    assert raised.value.body["code"] == "invalid_cache_ttl"
    assert _upstream_calls(sim) == 0


def test_a_hit_counts_a_request_against_the_rate_limit_but_no_tokens(caller, sim, cache_on):
    gateway_key_update(key=GatewayKey.objects.get(user=caller.user), rpm=3)
    miss = _ask(caller.client)
    _row(miss)  # the miss is settled (its tokens charged) before the next request is checked
    hit, again = _ask(caller.client), _ask(caller.client)
    assert [r.headers["x-gateway-cache"] for r in (miss, hit, again)] == ["miss", "hit", "hit"]
    assert [r.headers["x-ratelimit-remaining-requests"] for r in (miss, hit, again)] == ["2", "1", "0"]
    tokens = [int(r.headers["x-ratelimit-remaining-tokens"]) for r in (miss, hit, again)]
    assert tokens[0] > tokens[1] == tokens[2]  # the miss's tokens were charged, the hit's none
    with pytest.raises(openai.RateLimitError):
        _ask(caller.client)
    assert _upstream_calls(sim) == 1


def test_an_admin_clears_the_cache_over_the_api(caller, gateway, sim, cache_on):
    _ask(caller.client)
    assert _ask(caller.client).headers["x-gateway-cache"] == "hit"
    with closing(api_client(gateway.url, caller.user)) as user_api:
        assert user_api.delete("/admin/cache").status_code == 403
    assert _ask(caller.client).headers["x-gateway-cache"] == "hit"
    with closing(api_client(gateway.url, make_user(admin=True))) as admin_api:
        cleared = admin_api.delete("/admin/cache")
    assert (cleared.status_code, cleared.json()) == (200, {"cleared": 1})
    assert _ask(caller.client).headers["x-gateway-cache"] == "miss"
    assert _upstream_calls(sim) == 2


def test_a_key_sets_its_cache_ttl_over_the_api(caller, gateway):
    key = GatewayKey.objects.get(user=caller.user)
    with closing(api_client(gateway.url, caller.user)) as api:
        assert api.get("/user/keys").json()["results"][0]["cacheTtl"] is None
        patched = api.patch(f"/user/keys/{key.id}", json={"cacheTtl": 30})
        assert (patched.status_code, patched.json()["cacheTtl"]) == (200, 30)
        for bad in (-1, 604801, "soon"):
            assert api.patch(f"/user/keys/{key.id}", json={"cacheTtl": bad}).status_code == 400
        created = api.post("/user/keys", json={"name": "cached", "cacheTtl": 0})
        assert (created.status_code, created.json()["cacheTtl"]) == (201, 0)
    key.refresh_from_db()
    assert key.cache_ttl == 30
    assert _ask(caller.client).headers["x-gateway-cache"] == "miss"  # the change reached the cached principal
    assert _ask(caller.client).headers["x-gateway-cache"] == "hit"


def test_the_in_process_client_of_the_playground_uses_the_cache_too(caller, sim, cache_on):
    from asgiref.sync import async_to_sync

    from accounts.principals import principal_for_user
    from chat.proxy import inprocess, upstream
    from gateway_project.redis_client import aclose_async_client

    principal = principal_for_user(caller.user.id)

    async def twice() -> list[dict]:
        try:
            return [await inprocess.complete(principal=principal, body={"model": LLAMA, "messages": USER},
                                             source="playground") for _ in range(2)]
        finally:
            await upstream.close()
            await aclose_async_client()

    first, second = async_to_sync(twice)()
    assert second["id"] == first["id"] and second["_gateway"]["requestId"] != first["_gateway"]["requestId"]
    assert _upstream_calls(sim) == 1
    row = wait_until(lambda: RequestLog.objects.filter(request_id=second["_gateway"]["requestId"]).first())
    assert (row.source, row.cache_hit) == ("playground", True)
