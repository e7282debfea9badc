"""Credits and budgets: reserve the most a request can cost, charge what it did, never overspend."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import openai
import pytest

from accounts.models import BudgetUsage, CreditAccount, GatewayKey, LedgerEntry
from accounts.services import credits_top_up, gateway_key_update
from chat.tests.conftest import LLAMA
from gateway_project import invalidation
from models_catalog.models import CatalogModel
from testing.servers import wait_until

PAID = "openai/gpt-4o-mini"  # $0.15 / $0.60 per million tokens in the simulator's catalog
USER = [{"role": "user", "content": "hi"}]
RESERVE = Decimal("0.000064")  # (2 // 3 + 8 + 16) prompt tokens * 0.15e-6 + 100 max_tokens * 0.6e-6, rounded
COST = Decimal("0.000004")  # 5 prompt + 6 completion tokens as the simulator reports them, rounded


@pytest.fixture
def paid(caller):
    CatalogModel.objects.filter(model_id=PAID).update(enabled=True)
    invalidation.announce(invalidation.CATALOG)
    return caller


def _call(client, **extra):
    try:
        client.chat.completions.create(model=PAID, messages=USER, max_tokens=100, **extra)
        return 200
    except openai.APIStatusError as exc:
        return exc.status_code


def test_free_models_need_no_credit(paid):
    assert paid.client.chat.completions.create(model=LLAMA, messages=USER).choices
    assert not LedgerEntry.objects.filter(kind="charge").exists()


def test_without_credit_a_paid_model_answers_402(paid, sim):
    with pytest.raises(openai.APIStatusError) as raised:
        paid.client.chat.completions.create(model=PAID, messages=USER, max_tokens=100)
    assert raised.value.status_code == 402
    assert raised.value.body["code"] == "insufficient_credits"
    assert raised.value.response.headers["x-should-retry"] == "false"
    assert sim.requests() == []


def test_concurrent_requests_never_overspend_the_balance(paid, sim):
    credits_top_up(user=paid.user, amount=RESERVE * 10, note="ten requests")
    slow = {"extra_body": {"sim": {"fault": "slow:1500"}}}  # every reservation is held at once
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda _: _call(paid.client, **slow), range(50)))
    assert statuses.count(200) == 10
    assert statuses.count(402) == 40
    # Settlement follows the answer: wait for the last one.
    account = wait_until(lambda: CreditAccount.objects.filter(user=paid.user, reserved=0).first(), timeout=5)
    assert account.balance == RESERVE * 10 - COST * 10
    charges = LedgerEntry.objects.filter(user=paid.user, kind="charge")
    assert charges.count() == 10
    assert sum(e.amount for e in LedgerEntry.objects.filter(user=paid.user)) == account.balance
    assert LedgerEntry.objects.filter(user=paid.user).first().balance_after == account.balance


def test_key_budget_refuses_what_it_cannot_cover(paid):
    credits_top_up(user=paid.user, amount=Decimal("1"), note="plenty")
    key = GatewayKey.objects.get(user=paid.user)
    gateway_key_update(key=key, budget=RESERVE * 2, budget_period="daily")
    statuses = []
    for _ in range(3):
        statuses.append(_call(paid.client))
        wait_until(lambda: not BudgetUsage.objects.filter(scope=f"key:{key.id}", reserved__gt=0).exists())
    assert statuses == [200, 200, 200]  # each settles at COST, freeing room for the next
    usage = BudgetUsage.objects.get(scope=f"key:{key.id}")
    assert usage.spent == COST * 3 and usage.reserved == 0
    gateway_key_update(key=key, budget=COST * 3 + RESERVE - Decimal("0.000001"))
    with pytest.raises(openai.APIStatusError) as raised:
        paid.client.chat.completions.create(model=PAID, messages=USER, max_tokens=100)
    assert raised.value.status_code == 402
    assert raised.value.body["code"] == "budget_exceeded"


def test_a_request_that_fails_everywhere_costs_nothing(paid):
    credits_top_up(user=paid.user, amount=Decimal("1"), note="plenty")
    assert _call(paid.client, extra_body={"sim": {"fault": "502"}}) == 502
    account = wait_until(lambda: CreditAccount.objects.filter(user=paid.user, reserved=0).first(), timeout=5)
    assert account.balance == Decimal("1")
    assert not LedgerEntry.objects.filter(kind="charge").exists()


def test_a_disconnected_stream_costs_what_was_used(paid, gateway):
    import httpx

    from chat.models import RequestLog

    credits_top_up(user=paid.user, amount=Decimal("1"), note="plenty")
    with httpx.stream("POST", f"{gateway.url}/v1/chat/completions",
                      headers={"Authorization": f"Bearer {paid.secret}"},
                      json={"model": PAID, "stream": True, "max_tokens": 100,
                            "messages": [{"role": "user", "content": "x " * 40}],
                            "sim": {"fault": "chunk_delay:150"}}) as r:
        seen = b""
        for chunk in r.iter_bytes():
            seen += chunk
            if seen.count(b"data:") >= 4:
                break
    row = wait_until(lambda: RequestLog.objects.filter(client_disconnected=True).first(), timeout=5)
    account = wait_until(lambda: CreditAccount.objects.filter(user=paid.user, reserved=0).first(), timeout=5)
    assert row.completion_tokens >= 3
    assert row.cost > 0
    charged = LedgerEntry.objects.get(kind="charge", user=paid.user)
    assert -charged.amount == row.cost.quantize(Decimal("0.000001"))
    assert account.balance == Decimal("1") + charged.amount
