"""What every inbound API shares with chat, proved with the real OpenAI SDK: the key's allowlist, its rate limit,
fallbacks, the log row with tokens and cost, and one ``date`` and one ``server`` header on every answer."""

from decimal import Decimal

import openai
import pytest

from accounts.models import GatewayKey
from accounts.services import credits_top_up, gateway_key_update
from chat.models import RequestLog
from chat.tests.conftest import LLAMA, QWEN
from gateway_project import invalidation
from models_catalog.models import CatalogModel, Provider
from testing.factories import make_key, openai_client
from testing.rawhttp import raw_request
from testing.servers import fresh_minute, wait_until

PAID = "openai/gpt-4o-mini"  # $0.15 / $0.60 per million tokens in the simulator's catalog
EMBED = "openai/text-embedding-3-small"
EMBED_FALLBACK = "openai/text-embedding-3-large"


def _responses(client, model, **extra):
    return client.responses.create(model=model, input="hello there", **extra).output_text


def _responses_stream(client, model, **extra):
    events = list(client.responses.create(model=model, input="hello there", stream=True, **extra))
    assert events[-1].type == "response.completed"
    return "".join(e.delta for e in events if e.type == "response.output_text.delta")


def _completions(client, model, **extra):
    return client.completions.create(model=model, prompt="hello there", **extra).choices[0].text


def _completions_stream(client, model, **extra):
    return "".join(c.choices[0].text for c in client.completions.create(model=model, prompt="hello there",
                                                                         stream=True, **extra) if c.choices)


def _embeddings(client, model, **extra):
    return client.embeddings.create(model=model, input="hello there", **extra).data[0].embedding


CALLS = {"responses": _responses, "responses-stream": _responses_stream, "completions": _completions,
         "completions-stream": _completions_stream, "embeddings": _embeddings}
ENDPOINT = {"responses": "responses", "responses-stream": "responses", "completions": "completions",
            "completions-stream": "completions", "embeddings": "embeddings"}


@pytest.fixture(autouse=True)
def _embedding_models(caller):
    """Two embedding models in the catalog; the first is paid, like PAID for the chat-translated APIs."""
    provider = Provider.objects.get(slug="openrouter")
    CatalogModel.objects.update_or_create(provider=provider, model_id=EMBED, defaults={
        "name": EMBED, "enabled": True, "prompt_price": Decimal("0.00000002")})
    CatalogModel.objects.update_or_create(provider=provider, model_id=EMBED_FALLBACK,
                                          defaults={"name": EMBED_FALLBACK, "free": True, "enabled": True})
    CatalogModel.objects.filter(model_id=PAID).update(enabled=True)
    invalidation.announce(invalidation.CATALOG)
    credits_top_up(user=caller.user, amount=Decimal("1"), note="plenty")


def _models(api: str) -> tuple[str, str]:
    return (EMBED, EMBED_FALLBACK) if api == "embeddings" else (LLAMA, QWEN)


@pytest.mark.parametrize("api", CALLS)
def test_each_leaves_a_log_row_with_its_endpoint_tokens_and_cost(caller, gateway, api):
    model = EMBED if api == "embeddings" else PAID
    assert CALLS[api](caller.client, model)
    row = wait_until(lambda: RequestLog.objects.filter(status=200).first())
    assert (row.endpoint, row.model_requested, row.model_used) == (ENDPOINT[api], model, model)
    assert row.prompt_tokens > 0 and row.total_tokens == row.prompt_tokens + row.completion_tokens
    assert (row.completion_tokens > 0) is (api != "embeddings")
    assert row.cost > 0


@pytest.mark.parametrize("api", CALLS)
def test_each_is_refused_by_a_key_that_may_not_use_the_model(caller, gateway, sim, api):
    allowed, other = _models(api)
    limited = openai_client(gateway.url, make_key(caller.user, models=[allowed]))
    before = len(sim.requests())
    with pytest.raises(openai.PermissionDeniedError) as refused:
        CALLS[api](limited, other)
    assert refused.value.body == {"message": f"This key may not use {other!r}.", "type": "permission_error",
                                  "code": "model_not_allowed", "param": "model"}
    assert len(sim.requests()) == before
    row = wait_until(lambda: RequestLog.objects.first())
    assert (row.endpoint, row.status, row.error_type) == (ENDPOINT[api], 403, "model_not_allowed")


@pytest.mark.parametrize("api", CALLS)
def test_each_counts_against_the_keys_rate_limit(caller, gateway, sim, api):
    fresh_minute()
    gateway_key_update(key=GatewayKey.objects.get(user=caller.user), rpm=2)
    model, _ = _models(api)
    for _ in range(2):
        assert CALLS[api](caller.client, model)
    before = len(sim.requests())
    with pytest.raises(openai.RateLimitError) as refused:
        CALLS[api](caller.client, model)
    assert refused.value.body["code"] == "rate_limit_exceeded" and refused.value.body["type"] == "rate_limit_error"
    assert len(sim.requests()) == before


@pytest.mark.parametrize("api", CALLS)
def test_each_falls_back_to_the_next_model_when_the_first_fails(caller, gateway, sim, api):
    first, second = _models(api)
    sim.configure(model_faults={first: "500"})
    assert CALLS[api](caller.client, first, extra_body={"models": [second]})
    row = wait_until(lambda: RequestLog.objects.first())
    assert (row.endpoint, row.status, row.model_used) == (ENDPOINT[api], 200, second)
    tried = [(a["model"], a["status"]) for a in row.attempts]
    assert tried[-1] == (second, 200) and tried[:-1] and set(tried[:-1]) == {(first, 500)}  # on each pool key


@pytest.mark.parametrize("target", ["/v1/responses", "/v1/completions", "/v1/embeddings", "/v1/chat/completions",
                                    "/v1/models", "/v1/responses/resp_unknown", "/v1/nowhere", "/v1/providers"])
def test_every_answer_has_one_date_and_one_server_header(caller, gateway, target):
    method = "GET" if target in ("/v1/models", "/v1/responses/resp_unknown", "/v1/providers") else "POST"
    answer = raw_request(gateway.url, method, target, body=b"{}" if method == "POST" else None,
                         headers={"Authorization": f"Bearer {caller.secret}", "Content-Type": "application/json"})
    names = [name for name, _ in answer.header_list]
    assert names.count("date") == 1 and names.count("server") == 1, answer.header_list
    if answer.status >= 400:
        assert set(answer.json()["error"]) == {"message", "type", "code", "param"}
        assert b"/api/v1" not in answer.body and b"openrouter" not in answer.body.lower()
