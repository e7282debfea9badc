"""Known free-tier limits, no wasted upstream calls, and the limit a refusal names (docs/decisions/0018)."""

from __future__ import annotations

import dataclasses
import math
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest
from asgiref.sync import async_to_sync

from accounts.models import GatewayKey
from accounts.services import gateway_key_update, upstream_key_add, user_set_limits
from chat.proxy import capacity, pool, upstream
from chat.tests.conftest import LLAMA, QWEN
from testing.env import POOL_KEYS
from testing.factories import PASSWORD, make_user, openai_client
from testing.servers import wait_until

USER = [{"role": "user", "content": "hi"}]
ACCOUNT_KEYS = {"acct-a": "sk-or-known-limit-aaaa", "acct-b": "sk-or-known-limit-bbbb",
                "acct-c": "sk-or-known-limit-cccc"}
POOL_ENV = ",".join(f"{account}={key}" for account, key in ACCOUNT_KEYS.items())


def _limited_accounts(sim, rpm: int) -> None:
    sim.configure(accounts={key: account for account, key in ACCOUNT_KEYS.items()},
                  account_limits={account: {"rpm": rpm} for account in ACCOUNT_KEYS})


def _call(client, model: str = LLAMA):
    """(status, headers, when the request was sent) of one request."""
    sent = time.time()
    try:
        raw = client.chat.completions.with_raw_response.create(model=model, messages=USER)
        return 200, raw.headers, sent
    except openai.APIStatusError as exc:
        return exc.status_code, exc.response.headers, sent


def test_a_burst_over_the_pools_capacity_across_two_processes_is_served_up_to_it_with_no_refused_upstream_call(
        caller, sim, gateway_process_factory):
    _limited_accounts(sim, rpm=5)
    env = {"OPENROUTER_API_KEYS": POOL_ENV, "OPENROUTER_FREE_RPM": "5"}
    clients = [openai_client(p.url, caller.secret) for p in (gateway_process_factory(**env),
                                                             gateway_process_factory(**env))]
    with ThreadPoolExecutor(max_workers=4) as workers:  # 4 at a time, alternating the processes
        results = list(workers.map(lambda i: _call(clients[i % 2]), range(20)))
    statuses = [status for status, _, _ in results]
    assert statuses.count(200) == 15 and statuses.count(429) == 5  # 3 accounts x 5 a minute
    state = sim.state()["accounts"]
    assert {a: (s["minute"], s["refused"]) for a, s in state.items()} == {a: (5, 0) for a in ACCOUNT_KEYS}
    assert len(sim.requests()) == 15  # every upstream call was served: none refused for a known limit
    reopens = min(s["minute_reset"] for s in state.values())
    for status, headers, at in results:
        if status == 429:
            retry_after = int(headers["retry-after"])
            assert at + retry_after >= reopens  # never early
            assert retry_after <= 62
            assert headers.get("x-should-retry") != "false"


def test_the_limit_is_known_from_get_key_when_the_pool_starts_before_any_429(caller, sim, gateway_process_factory):
    sim.configure(accounts={ACCOUNT_KEYS["acct-a"]: "acct-a"}, account_limits={"acct-a": {"rpm": 2}})
    proc = gateway_process_factory(OPENROUTER_API_KEYS=f"acct-a={ACCOUNT_KEYS['acct-a']}",
                                   OPENROUTER_APP_URL="https://chat.example.test", OPENROUTER_APP_NAME="Example Chat")
    assert "GET /api/v1/key" in sim.paths()  # asked when the pool started, before any request
    client = openai_client(proc.url, caller.secret)
    assert [_call(client)[0] for _ in range(3)] == [200, 200, 429]
    assert sim.state()["accounts"]["acct-a"]["refused"] == 0
    assert len(sim.requests()) == 2
    sent = [p for p in httpx.get(f"{sim.root}/_sim/paths").json()["paths"] if p["path"].endswith("/completions")]
    assert {(p["referer"], p["title"]) for p in sent} == {("https://chat.example.test", "Example Chat")}


def test_an_account_that_bought_credits_is_known_to_have_a_thousand_requests_a_day(caller, sim, settings):
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, openrouter_free_rpd=50)
    sim.configure(accounts={ACCOUNT_KEYS["acct-b"]: "acct-b"}, paid_accounts=["acct-b"])
    cred = pool.credential(ACCOUNT_KEYS["acct-b"], source="pool", account="acct-b")

    async def ask() -> pool.Health:
        try:
            await capacity.refresh_key_info(cred)
        finally:
            await upstream.close()
        return (await pool.read_health(["acct-b"], fresh=True))["acct-b"]

    health = async_to_sync(ask)()
    assert capacity.known_limits(cred, health) == (settings.GATEWAY.openrouter_free_rpm, 1000)
    free = pool.credential(ACCOUNT_KEYS["acct-c"], source="pool", account="acct-c")
    assert capacity.known_limits(free, pool.Health({}))[1] == 50


def test_a_pool_keys_own_limit_from_the_rest_api_is_what_is_reserved(caller, gateway, sim, http, settings):
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, openrouter_api_keys=[])
    pool.invalidate_local()
    sim.configure(accounts={ACCOUNT_KEYS["acct-c"]: "acct-c"})
    record = upstream_key_add(api_key=ACCOUNT_KEYS["acct-c"], account="acct-c")
    admin = make_user(admin=True)
    login = http.post(f"{gateway.url}/api/auth/login", json={"email": admin.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access']}"}
    url = f"{gateway.url}/api/admin/upstream-keys"
    for bad in ({"freeRpm": 0}, {"freeRpm": "many"}, {"freeRpd": -1}, {"freeRpm": 2**40}, {}):
        assert http.patch(f"{url}/{record.id}", headers=headers, json=bad).status_code == 400
    assert http.patch(f"{url}/999999", headers=headers, json={"freeRpm": 2}).status_code == 404
    changed = http.patch(f"{url}/{record.id}", headers=headers, json={"freeRpm": 2})
    assert changed.status_code == 200 and (changed.json()["freeRpm"], changed.json()["freeRpd"]) == (2, None)
    assert [_call(caller.client)[0] for _ in range(3)] == [200, 200, 429]
    assert len(sim.requests()) == 2  # the third was never sent: the key's own limit was reserved
    cleared = http.patch(f"{url}/{record.id}", headers=headers, json={"freeRpm": None})
    assert cleared.json()["freeRpm"] is None


def test_limit_headers_of_a_refusal_name_the_users_limit_when_the_users_is_spent(caller, sim):
    gateway_key_update(key=GatewayKey.objects.get(user=caller.user), rpm=100)
    user_set_limits(user=caller.user, rpm=2, fields={"rpm"})
    served = caller.client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
    assert served.headers["x-ratelimit-limit-requests"] == "100"  # the key's, the tightest scope, when admitted
    caller.client.chat.completions.create(model=LLAMA, messages=USER)
    with pytest.raises(openai.RateLimitError) as raised:
        caller.client.chat.completions.create(model=LLAMA, messages=USER)
    refused_at = time.time()
    headers = raised.value.response.headers
    assert (headers["x-ratelimit-limit-requests"], headers["x-ratelimit-remaining-requests"]) == ("2", "0")
    assert int(headers["retry-after"]) >= math.ceil(60 - refused_at % 60) - 1  # the minute's end, never early
    assert "2 requests per minute" in raised.value.body["message"]


@pytest.mark.parametrize("stream", [False, True])
def test_a_200_whose_body_is_an_error_is_a_failed_attempt_and_falls_back(caller, sim, stream):
    extra = {"models": [QWEN], "sim": {"faults": {LLAMA: "200_error"}}}
    if stream:
        chunks = list(caller.client.chat.completions.create(model=LLAMA, messages=USER, stream=True,
                                                            extra_body=extra))
        assert {c.model for c in chunks if c.choices} == {QWEN}
    else:
        raw = caller.client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER, extra_body=extra)
        assert raw.parse().model == QWEN
        assert (raw.headers["x-gateway-model"], raw.headers["x-gateway-attempts"]) == (QWEN, "3")
    assert [r["body"]["model"] for r in sim.requests()] == [LLAMA, LLAMA, QWEN]


def test_a_200_carrying_a_400_goes_straight_back_and_one_carrying_a_429_moves_on(caller, sim):
    with pytest.raises(openai.BadRequestError) as raised:
        caller.client.chat.completions.create(model=LLAMA, messages=USER,
                                              extra_body={"models": [QWEN], "sim": {"faults": {LLAMA: "200_error:400"}}})
    assert raised.value.body["code"] == "upstream_bad_request"
    assert len(sim.requests()) == 1
    raw = caller.client.chat.completions.with_raw_response.create(
        model=LLAMA, messages=USER, extra_body={"models": [QWEN], "sim": {"faults": {LLAMA: "200_error:429"}}})
    assert raw.headers["x-gateway-model"] == QWEN


def test_a_request_always_answered_200_with_an_error_never_opens_the_only_keys_breaker(caller, sim, settings):
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, openrouter_api_keys=[POOL_KEYS[0]])
    pool.invalidate_local()
    for _ in range(pool.BREAKER_THRESHOLD + 1):
        with pytest.raises(openai.InternalServerError):
            caller.client.chat.completions.create(model=LLAMA, messages=USER,
                                                  extra_body={"sim": {"fault": "200_error:500"}})
    assert len(sim.requests()) == pool.BREAKER_THRESHOLD + 1  # once each: never the same key and model twice
    [key] = pool.pool_report()
    assert (key["state"], key["recentFailures"]) == ("ok", 0)
    assert caller.client.chat.completions.create(model=LLAMA, messages=USER).choices[0].message.content


def test_attribution_headers_default_to_the_documented_values(caller, sim):
    caller.client.chat.completions.create(model=LLAMA, messages=USER)
    [sent] = [p for p in httpx.get(f"{sim.root}/_sim/paths").json()["paths"] if p["path"].endswith("/completions")]
    assert (sent["referer"], sent["title"]) == ("https://github.com/llm-gateway", "LLM Gateway")


def test_a_free_model_is_never_sent_once_the_stores_windows_say_the_account_is_spent(caller, sim, settings):
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, openrouter_free_rpm=1)
    assert _call(caller.client)[0] == 200
    assert _call(caller.client)[0] == 200  # the second pool account
    status, headers, _ = _call(caller.client)
    assert status == 429 and 1 <= int(headers["retry-after"]) <= 62
    assert len(sim.requests()) == 2


@pytest.mark.parametrize("stream", [False, True])
def test_the_cost_the_upstream_reports_is_charged_and_logged_with_its_generation_id(caller, sim, admin_http, stream):
    from decimal import Decimal

    from accounts.models import CreditAccount
    from accounts.services import credits_top_up
    from chat.models import RequestLog
    from chat.tests.test_credits import PAID
    from gateway_project import invalidation
    from models_catalog.models import CatalogModel

    CatalogModel.objects.filter(model_id=PAID).update(enabled=True)
    invalidation.announce(invalidation.CATALOG)
    credits_top_up(user=caller.user, amount=Decimal("1"), note="paid")
    reported = Decimal("0.000125")  # list prices would make it 0.000004 for this exchange
    answer = caller.client.chat.completions.create(model=PAID, messages=USER, max_tokens=100, stream=stream,
                                                   extra_body={"sim": {"cost": float(reported)}})
    if stream:
        answer = list(answer)[0]
    assert answer.id.startswith("gen-")
    account = wait_until(lambda: CreditAccount.objects.filter(user=caller.user, reserved=0).first(), timeout=10)
    assert account.balance == Decimal("1") - reported
    row = wait_until(lambda: RequestLog.objects.filter(user=caller.user, model_used=PAID).first(), timeout=10)
    assert (row.cost, row.generation_id) == (reported, answer.id)
    assert f'data-testid="generation-id">{answer.id}<' in admin_http.get(f"/console/logs/{row.id}/").text


def test_a_request_refused_after_its_admission_gives_back_the_capacity_slot_it_took(caller, sim, settings):
    from chat.tests.test_credits import PAID
    from gateway_project import invalidation
    from models_catalog.models import CatalogModel

    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, openrouter_free_rpm=1, openrouter_api_keys=[POOL_KEYS[0]])
    pool.invalidate_local()
    CatalogModel.objects.filter(model_id=PAID).update(enabled=True)
    invalidation.announce(invalidation.CATALOG)
    for _ in range(3):  # the free model first, a paid fallback the caller has no credit for: 402 once admitted
        with pytest.raises(openai.APIStatusError) as raised:
            caller.client.chat.completions.create(model=LLAMA, messages=USER, max_tokens=100,
                                                  extra_body={"models": [PAID]})
        assert raised.value.status_code == 402
    assert _call(caller.client)[0] == 200  # the account's one request of the minute is still there
    assert _call(caller.client)[0] == 429
    assert len(sim.requests()) == 1
