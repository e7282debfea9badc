"""The pass-through forwards only its allowlist, never the pool account's endpoints, and admits what runs a model."""

import dataclasses

import openai
import pytest

from accounts.models import GatewayKey
from accounts.services import gateway_key_update, user_upstream_key_set
from chat.models import RequestLog
from chat.tests.conftest import QWEN
from gateway_project import invalidation
from models_catalog.models import Alias
from testing.factories import catalog_free_models, make_key, openai_client
from testing.rawhttp import raw_request
from testing.servers import fresh_minute, wait_until

EMBED = "openai/text-embedding-3-small"
OTHER_EMBED = "openai/text-embedding-3-large"
UNLISTED = "openai/text-embedding-ada-002"


@pytest.fixture(autouse=True)
def _embedding_models(caller):
    """The catalog lists the two embedding models, free: the pool may run them."""
    catalog_free_models(EMBED, OTHER_EMBED)
TRAVERSALS = ["/v1/../../_sim/requests", "/v1/%2e%2e/%2e%2e/_sim/requests", "/v1/..%2f..%2f_sim/requests",
              "/v1/embeddings/../../../_sim/requests", "/v1/embeddings%2f..%2f..%2f_sim%2frequests"]
ACCOUNT = ["/v1/key", "/v1/keys", "/v1/credits", "/v1/auth/keys", "/v1/activity", "/v1/generation?id=gen-1",
           "/v1/KEY", "/v1/%6bey", "/v1/./key", "/v1/embeddings/../key"]


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_never_reaches_the_upstream_host(caller, gateway, sim, target):
    before = sim.paths()
    answer = raw_request(gateway.url, "GET", target, headers=_auth(caller.secret))
    assert answer.status in (400, 404) and set(answer.json()["error"]) == {"message", "type", "code", "param"}
    assert b"_sim" not in answer.body and b"requests" not in answer.body
    assert sim.paths() == before


@pytest.mark.parametrize("target", ACCOUNT)
def test_the_pool_accounts_own_endpoints_are_404_naming_no_upstream_path(caller, gateway, sim, target):
    before = sim.paths()
    answer = raw_request(gateway.url, "GET", target, headers=_auth(caller.secret))
    assert answer.status == 404
    assert answer.json()["error"] == {"message": "There is no such /v1 route.", "type": "not_found_error",
                                      "code": "not_found", "param": None}
    assert sim.paths() == before


def test_the_account_endpoints_stay_closed_whatever_the_configuration_says(caller, gateway, sim, settings):
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, passthrough_paths=("key", "credits", "embeddings"))
    before = sim.paths()
    for target in ("/v1/key", "/v1/credits"):
        assert raw_request(gateway.url, "GET", target, headers=_auth(caller.secret)).status == 404
    assert sim.paths() == before


def test_an_unlisted_path_is_404_and_a_listed_one_is_forwarded(caller, gateway, sim, settings):
    before = sim.paths()
    assert raw_request(gateway.url, "GET", "/v1/somewhere/else", headers=_auth(caller.secret)).status == 404
    assert sim.paths() == before
    embedding = caller.client.embeddings.create(model=EMBED, input=["a", "b"])
    assert len(embedding.data) == 2 and len(embedding.data[0].embedding) == 8
    assert sim.paths()[len(before):] == ["POST /api/v1/embeddings"]


def test_passthrough_off_answers_404_for_every_forwarded_path(caller, gateway, sim, settings):
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, passthrough=False)
    before = sim.paths()
    with pytest.raises(openai.NotFoundError) as refused:
        caller.client.embeddings.create(model=EMBED, input=["a"])
    assert refused.value.body["code"] == "not_found"
    assert sim.paths() == before
    assert caller.client.chat.completions.create(model=QWEN, messages=[{"role": "user", "content": "hi"}]).choices


def test_a_key_limited_to_one_model_cannot_embed_with_another(caller, gateway, sim):
    limited = openai_client(gateway.url, make_key(caller.user, models=[EMBED]))
    assert limited.embeddings.create(model=EMBED, input="a").data
    before = sim.paths()
    with pytest.raises(openai.PermissionDeniedError) as refused:
        limited.embeddings.create(model=OTHER_EMBED, input="a")
    assert refused.value.body["code"] == "model_not_allowed" and refused.value.body["param"] == "model"
    assert sim.paths() == before
    rows = wait_until(lambda: list(RequestLog.objects.order_by("created_at")) if RequestLog.objects.count() == 2
                      else None)
    assert [(r.endpoint, r.status, r.model_requested, r.model_used) for r in rows] == [
        ("embeddings", 200, EMBED, EMBED), ("embeddings", 403, OTHER_EMBED, "")]
    assert rows[1].error_type == "model_not_allowed"


def test_embeddings_count_against_the_keys_rate_limit(caller, gateway, sim):
    fresh_minute()
    gateway_key_update(key=GatewayKey.objects.get(user=caller.user), rpm=2)
    for remaining in ("1", "0"):
        raw = caller.client.embeddings.with_raw_response.create(model=EMBED, input="a")
        assert raw.headers["x-ratelimit-remaining-requests"] == remaining
    before = sim.paths()
    with pytest.raises(openai.RateLimitError) as refused:
        caller.client.embeddings.create(model=EMBED, input="a")
    assert refused.value.body["code"] == "rate_limit_exceeded"
    assert sim.paths() == before


def test_an_alias_in_a_forwarded_body_resolves_to_its_model(caller, gateway, sim):
    Alias.objects.create(alias="embedder", model_id=QWEN)
    invalidation.announce(invalidation.CATALOG)
    limited = openai_client(gateway.url, make_key(caller.user, models=[QWEN]))
    assert limited.embeddings.create(model="embedder", input="a").data
    rows = wait_until(lambda: list(RequestLog.objects.all()) or None)
    assert (rows[0].model_requested, rows[0].model_used) == ("embedder", QWEN)


def test_a_body_that_is_not_json_is_refused_before_going_upstream(caller, gateway, sim):
    before = sim.paths()
    answer = raw_request(gateway.url, "POST", "/v1/embeddings", headers=_auth(caller.secret), body=b"{nope")
    assert answer.status == 400 and answer.json()["error"]["code"] == "invalid_json"
    answer = raw_request(gateway.url, "POST", "/v1/embeddings", headers=_auth(caller.secret),
                         body=b'{"model": 7, "input": "a"}')
    assert answer.status == 400 and answer.json()["error"]["param"] == "model"
    assert sim.paths() == before


def test_the_pool_never_pays_for_a_model_the_catalog_does_not_list_free(caller, gateway, sim):
    from models_catalog.models import CatalogModel

    CatalogModel.objects.filter(model_id=OTHER_EMBED).update(free=False, prompt_price="0.00000002")
    invalidation.announce(invalidation.CATALOG)
    before = sim.paths()
    with pytest.raises(openai.NotFoundError) as unlisted:
        caller.client.embeddings.create(model=UNLISTED, input="a")
    assert unlisted.value.body["code"] == "model_not_found" and unlisted.value.body["param"] == "model"
    with pytest.raises(openai.APIStatusError) as paid:
        caller.client.embeddings.create(model=OTHER_EMBED, input="a")
    assert paid.value.status_code == 402 and paid.value.body["code"] == "paid_model_needs_own_key"
    assert sim.paths() == before  # neither reached the upstream on the operator's key
    rows = wait_until(lambda: list(RequestLog.objects.filter(endpoint="embeddings").order_by("id")) or None)
    assert [(r.status, r.error_type, r.model_requested) for r in rows] == [
        (404, "model_not_found", UNLISTED), (402, "paid_model_needs_own_key", OTHER_EMBED)]


def test_a_caller_with_their_own_upstream_key_may_run_any_model(caller, gateway, sim):
    user_upstream_key_set(user=caller.user, api_key="sk-or-v1-" + "b" * 64)
    invalidation.announce(invalidation.PRINCIPALS, detail=str(caller.user.id))
    embedding = caller.client.embeddings.create(model=UNLISTED, input="a")
    assert len(embedding.data) == 1
    assert sim.paths()[-1:] == ["POST /api/v1/embeddings"]
