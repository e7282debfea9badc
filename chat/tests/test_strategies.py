"""Routing strategies on what the gateway measures (chat/proxy/strategies.py), against the simulator.

Aliases and presets are set as an admin would, over the REST API; the models'
speed and failures are the simulator's per-model faults, measured by the
gateway's live model health from real traffic.
"""

from __future__ import annotations

from contextlib import closing
from decimal import Decimal

import openai
import pytest

from accounts.services import credits_top_up
from chat.models import RequestLog
from chat.proxy import strategies
from chat.tests.conftest import LLAMA, MISTRAL, QWEN
from gateway_project import invalidation
from models_catalog.health_selectors import COLLAPSE_MIN_SAMPLES
from models_catalog.models import CatalogModel
from testing.factories import api_client, make_user
from testing.servers import wait_until

USER = [{"role": "user", "content": "route me"}]
MINI = "openai/gpt-4o-mini"  # $0.15 / $0.60 per million tokens in the simulator's catalog
HAIKU = "anthropic/claude-3.5-haiku"  # $0.80 / $4


@pytest.fixture
def admin_api(gateway):
    with closing(api_client(gateway.url, make_user(admin=True))) as client:
        yield client


@pytest.fixture
def paid(caller):
    """The caller, with credit and two paid models enabled."""
    CatalogModel.objects.filter(model_id__in=[MINI, HAIKU]).update(enabled=True)
    invalidation.announce(invalidation.CATALOG)
    credits_top_up(user=caller.user, amount=Decimal("1"), note="strategies")
    return caller


def _alias(admin_api, name: str, models: list[str], strategy: str | None = None) -> None:
    body = {"alias": name, "modelId": models[0], "fallbacks": models[1:]}
    if strategy:
        body["strategy"] = strategy
    saved = admin_api.put("/admin/aliases", json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["strategy"] == (strategy or "ordered")


def _served(client, model: str, **extra) -> str:
    raw = client.chat.completions.with_raw_response.create(model=model, messages=USER, **extra)
    return raw.headers["x-gateway-model"]


def test_unknown_strategies_are_refused(admin_api):
    from testing.factories import sync_catalog

    sync_catalog()
    bad_alias = admin_api.put("/admin/aliases", json={"alias": "x", "modelId": LLAMA, "strategy": "random"})
    bad_preset = admin_api.put("/admin/presets", json={"name": "x", "model": LLAMA, "strategy": "cheap"})
    assert (bad_alias.status_code, bad_preset.status_code) == (400, 400)
    assert "strategy" in bad_alias.text
    preset = admin_api.put("/admin/presets", json={"name": "x", "model": LLAMA, "strategy": "most-available"})
    assert (preset.status_code, preset.json()["strategy"]) == (200, "most-available")


def test_cheapest_picks_the_lowest_catalog_price(paid, admin_api):
    _alias(admin_api, "in-order", [HAIKU, MINI, LLAMA])
    _alias(admin_api, "thrifty", [HAIKU, MINI, LLAMA], "cheapest")
    _alias(admin_api, "thrifty-paid", [HAIKU, MINI], "cheapest")
    preset = admin_api.put("/admin/presets", json={"name": "thrifty", "model": HAIKU, "fallbacks": [MINI],
                                                   "strategy": "cheapest"})
    assert preset.status_code == 200
    assert _served(paid.client, "in-order") == HAIKU
    assert _served(paid.client, "thrifty") == LLAMA
    assert _served(paid.client, "thrifty-paid") == MINI
    assert _served(paid.client, "@preset/thrifty") == MINI


def test_provider_sort_asks_for_a_strategy_when_the_request_names_a_fallback_list(paid):
    assert _served(paid.client, HAIKU, extra_body={"models": [MINI]}) == HAIKU
    assert _served(paid.client, HAIKU, extra_body={"models": [MINI], "provider": {"sort": "price"}}) == MINI


def test_fastest_picks_the_lowest_measured_latency_and_explores_untried_models(caller, admin_api, sim,
                                                                               monkeypatch):
    sim.configure(model_faults={LLAMA: "slow:400"})
    for model in (LLAMA, QWEN):  # each measured once, on its own
        assert _served(caller.client, model) == model
    _alias(admin_api, "quick", [LLAMA, QWEN], "fastest")
    assert _served(caller.client, "quick") == QWEN

    class Dice:
        def __init__(self, value: float) -> None:
            self.value = value

        def random(self) -> float:
            return self.value

    _alias(admin_api, "quick3", [LLAMA, MISTRAL, QWEN], "fastest")
    monkeypatch.setattr(strategies, "_random", Dice(0.99))
    assert _served(caller.client, "quick3") == QWEN  # measured first, the untried one after
    monkeypatch.setattr(strategies, "_random", Dice(0.0))
    assert _served(caller.client, "quick3") == MISTRAL  # now and then the untried one goes first


def test_most_available_picks_the_model_with_the_most_capacity_left(caller, admin_api):
    # The first pool key's account rate-limits LLAMA for 30 s (a provider 429); the second serves it.
    raw = caller.client.chat.completions.with_raw_response.create(
        model=LLAMA, messages=USER, extra_body={"sim": {"faults": {LLAMA: "429_provider:30"}, "times": 1, "id": "a"}})
    assert (raw.headers["x-gateway-model"], raw.headers["x-gateway-attempts"]) == (LLAMA, "2")
    _alias(admin_api, "in-order", [LLAMA, QWEN])
    _alias(admin_api, "roomy", [LLAMA, QWEN], "most-available")
    assert _served(caller.client, "in-order") == LLAMA
    assert _served(caller.client, "roomy") == QWEN  # QWEN has both accounts' capacity, LLAMA one


def _attempted(raw) -> list[str]:
    row = wait_until(lambda: RequestLog.objects.filter(request_id=raw.headers["x-request-id"]).first())
    return [a["model"] for a in row.attempts]


def test_a_model_whose_success_rate_collapsed_goes_last_until_it_recovers(caller, admin_api, sim):
    _alias(admin_api, "steady", [LLAMA, QWEN])
    sim.configure(model_faults={LLAMA: "500"})
    for _ in range(COLLAPSE_MIN_SAMPLES // 2):  # each request fails on both pool keys: two samples
        with pytest.raises(openai.APIStatusError):
            caller.client.chat.completions.create(model=LLAMA, messages=USER)

    raw = caller.client.chat.completions.with_raw_response.create(model="steady", messages=USER)
    assert (raw.headers["x-gateway-model"], raw.headers["x-gateway-attempts"]) == (QWEN, "1")
    assert _attempted(raw) == [QWEN]  # not tried and skipped: ordered last

    sim.configure(model_faults={})
    for _ in range(COLLAPSE_MIN_SAMPLES):  # it serves again on its own: half of its recent samples succeed
        assert _served(caller.client, LLAMA) == LLAMA
    wait_until(lambda: _served(caller.client, "steady") == LLAMA, timeout=5, interval=0.2)
