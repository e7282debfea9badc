"""The pass-through forwards only its allowlist, never the pool account's endpoints, and admits what runs a model."""

import dataclasses

import httpx
import openai
import pytest

from accounts.models import GatewayKey
from accounts.services import gateway_key_update, user_upstream_key_set
from chat.models import RequestLog
from chat.tests.conftest import QWEN
from gateway_project import invalidation
from models_catalog.models import Alias
from testing.browser import jwt_headers
from testing.factories import catalog_free_models, make_key, make_user, openai_client
from testing.rawhttp import raw_request
from testing.servers import fresh_minute, wait_until

MOD = "openai/omni-moderation-latest"
OTHER_MOD = "openai/text-moderation-stable"
UNLISTED = "openai/text-moderation-007"


@pytest.fixture(autouse=True)
def _moderation_models(caller, settings):
    """Moderations are forwarded (no route of the gateway's own serves them); the catalog lists two models, free."""
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, passthrough_paths=("providers", "moderations"))
    catalog_free_models(MOD, OTHER_MOD)
TRAVERSALS = ["/v1/../../_sim/requests", "/v1/%2e%2e/%2e%2e/_sim/requests", "/v1/..%2f..%2f_sim/requests",
              "/v1/moderations/../../../_sim/requests", "/v1/moderations%2f..%2f..%2f_sim%2frequests"]
ACCOUNT = ["/v1/key", "/v1/keys", "/v1/credits", "/v1/auth/keys", "/v1/activity", "/v1/generation?id=gen-1",
           "/v1/KEY", "/v1/%6bey", "/v1/./key", "/v1/moderations/../key"]


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}


@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_never_reaches_the_upstream_host(caller, gateway, sim, target):
    before = sim.forwarded()
    answer = raw_request(gateway.url, "GET", target, headers=_auth(caller.secret))
    assert answer.status in (400, 404) and set(answer.json()["error"]) == {"message", "type", "code", "param"}
    assert b"_sim" not in answer.body and b"requests" not in answer.body
    assert sim.forwarded() == before


@pytest.mark.parametrize("target", ACCOUNT)
def test_the_pool_accounts_own_endpoints_are_404_naming_no_upstream_path(caller, gateway, sim, target):
    before = sim.forwarded()
    answer = raw_request(gateway.url, "GET", target, headers=_auth(caller.secret))
    assert answer.status == 404
    assert answer.json()["error"] == {"message": "There is no such /v1 route.", "type": "not_found_error",
                                      "code": "not_found", "param": None}
    assert sim.forwarded() == before


def test_the_account_endpoints_stay_closed_whatever_the_configuration_says(caller, gateway, sim, settings):
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, passthrough_paths=("key", "credits", "moderations"))
    before = sim.forwarded()
    for target in ("/v1/key", "/v1/credits"):
        assert raw_request(gateway.url, "GET", target, headers=_auth(caller.secret)).status == 404
    assert sim.forwarded() == before


def test_an_unlisted_path_is_404_and_a_listed_one_is_forwarded(caller, gateway, sim, settings):
    before = sim.forwarded()
    assert raw_request(gateway.url, "GET", "/v1/somewhere/else", headers=_auth(caller.secret)).status == 404
    assert sim.forwarded() == before
    moderation = caller.client.moderations.create(model=MOD, input=["a", "b"])
    assert len(moderation.results) == 2 and moderation.results[0].flagged is False
    assert sim.forwarded()[len(before):] == ["POST /api/v1/moderations"]


def test_passthrough_off_answers_404_for_every_forwarded_path(caller, gateway, sim, settings):
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, passthrough=False)
    before = sim.forwarded()
    with pytest.raises(openai.NotFoundError) as refused:
        caller.client.moderations.create(model=MOD, input=["a"])
    assert refused.value.body["code"] == "not_found"
    assert sim.forwarded() == before
    assert caller.client.chat.completions.create(model=QWEN, messages=[{"role": "user", "content": "hi"}]).choices


def test_a_key_limited_to_one_model_cannot_forward_with_another(caller, gateway, sim):
    limited = openai_client(gateway.url, make_key(caller.user, models=[MOD]))
    assert limited.moderations.create(model=MOD, input="a").results
    before = sim.forwarded()
    with pytest.raises(openai.PermissionDeniedError) as refused:
        limited.moderations.create(model=OTHER_MOD, input="a")
    assert refused.value.body["code"] == "model_not_allowed" and refused.value.body["param"] == "model"
    assert sim.forwarded() == before
    rows = wait_until(lambda: list(RequestLog.objects.order_by("created_at")) if RequestLog.objects.count() == 2
                      else None)
    assert [(r.endpoint, r.status, r.model_requested, r.model_used) for r in rows] == [
        ("moderations", 200, MOD, MOD), ("moderations", 403, OTHER_MOD, "")]
    assert rows[1].error_type == "model_not_allowed"


def test_forwarded_requests_count_against_the_keys_rate_limit(caller, gateway, sim):
    fresh_minute()
    gateway_key_update(key=GatewayKey.objects.get(user=caller.user), rpm=2)
    for remaining in ("1", "0"):
        raw = caller.client.moderations.with_raw_response.create(model=MOD, input="a")
        assert raw.headers["x-ratelimit-remaining-requests"] == remaining
    before = sim.forwarded()
    with pytest.raises(openai.RateLimitError) as refused:
        caller.client.moderations.create(model=MOD, input="a")
    assert refused.value.body["code"] == "rate_limit_exceeded"
    assert sim.forwarded() == before


def test_an_alias_in_a_forwarded_body_resolves_to_its_model(caller, gateway, sim):
    Alias.objects.create(alias="moderator", model_id=QWEN)
    invalidation.announce(invalidation.CATALOG)
    limited = openai_client(gateway.url, make_key(caller.user, models=[QWEN]))
    assert limited.moderations.create(model="moderator", input="a").results
    rows = wait_until(lambda: list(RequestLog.objects.all()) or None)
    assert (rows[0].model_requested, rows[0].model_used) == ("moderator", QWEN)


def test_a_body_that_is_not_json_is_refused_before_going_upstream(caller, gateway, sim):
    before = sim.forwarded()
    answer = raw_request(gateway.url, "POST", "/v1/moderations", headers=_auth(caller.secret), body=b"{nope")
    assert answer.status == 400 and answer.json()["error"]["code"] == "invalid_json"
    answer = raw_request(gateway.url, "POST", "/v1/moderations", headers=_auth(caller.secret),
                         body=b'{"model": 7, "input": "a"}')
    assert answer.status == 400 and answer.json()["error"]["param"] == "model"
    assert sim.forwarded() == before


def test_the_pool_never_pays_for_a_model_the_catalog_does_not_list_free(caller, gateway, sim):
    from models_catalog.models import CatalogModel

    CatalogModel.objects.filter(model_id=OTHER_MOD).update(free=False, prompt_price="0.00000002")
    invalidation.announce(invalidation.CATALOG)
    before = sim.forwarded()
    with pytest.raises(openai.NotFoundError) as unlisted:
        caller.client.moderations.create(model=UNLISTED, input="a")
    assert unlisted.value.body["code"] == "model_not_found" and unlisted.value.body["param"] == "model"
    with pytest.raises(openai.APIStatusError) as paid:
        caller.client.moderations.create(model=OTHER_MOD, input="a")
    assert paid.value.status_code == 402 and paid.value.body["code"] == "paid_model_needs_own_key"
    assert sim.forwarded() == before  # neither reached the upstream on the operator's key
    rows = wait_until(lambda: list(RequestLog.objects.filter(endpoint="moderations").order_by("id")) or None)
    assert [(r.status, r.error_type, r.model_requested) for r in rows] == [
        (404, "model_not_found", UNLISTED), (402, "paid_model_needs_own_key", OTHER_MOD)]


def test_a_caller_with_their_own_upstream_key_may_run_any_model(caller, gateway, sim):
    user_upstream_key_set(user=caller.user, api_key="sk-or-v1-" + "b" * 64)
    invalidation.announce(invalidation.PRINCIPALS, detail=str(caller.user.id))
    moderation = caller.client.moderations.create(model=UNLISTED, input="a")
    assert len(moderation.results) == 1
    assert sim.forwarded()[-1:] == ["POST /api/v1/moderations"]


def _trace(gateway, user, request_id: str) -> httpx.Response:
    wait_until(lambda: RequestLog.objects.filter(request_id=request_id).exists(), timeout=10)
    return httpx.get(f"{gateway.url}/api/traces/{request_id}", headers=jwt_headers(user), timeout=30)


def test_a_forwarded_request_has_a_trace_that_only_its_owner_reads(caller, gateway, sim):
    raw = caller.client.moderations.with_raw_response.create(model=MOD, input=["a", "b"])
    request_id = raw.headers["x-request-id"]

    answer = _trace(gateway, caller.user, request_id)
    assert answer.status_code == 200 and answer.json()["modelUsed"] == MOD
    events = answer.json()["events"]
    assert [e["type"] for e in events] == ["accepted", "admitted", "attempt", "first_byte", "done"]
    assert [e["atMs"] for e in events] == sorted(e["atMs"] for e in events)
    assert events[0]["model"] == MOD and events[1]["limitsLeft"]["requests"] == raw.headers[
        "x-ratelimit-remaining-requests"]
    attempt = events[2]
    assert (attempt["model"], attempt["status"], attempt["sent"], attempt["verdict"]) == (MOD, 200, True, "served")
    assert attempt["key"].startswith("…") and attempt["account"]
    done = events[-1]
    assert (done["status"], done["modelUsed"]) == (200, MOD) and events[3]["ttftMs"] <= done["latencyMs"]
    assert caller.secret not in answer.text
    assert _trace(gateway, make_user(), request_id).status_code == 404


def test_a_forwarded_request_the_upstream_refuses_ends_failed_and_one_the_gateway_refuses_ends_refused(
        caller, gateway, sim):
    with pytest.raises(openai.BadRequestError) as upstream_refused:
        caller.client.moderations.create(model=MOD, input=[])  # the upstream's 400, relayed as it came
    events = _trace(gateway, caller.user, upstream_refused.value.response.headers["x-request-id"]).json()["events"]
    assert [e["type"] for e in events] == ["accepted", "admitted", "attempt", "first_byte", "failed"]
    assert (events[2]["status"], events[2]["verdict"]) == (400, "failed") and events[-1]["status"] == 400

    limited = openai_client(gateway.url, make_key(caller.user, models=[MOD]))
    with pytest.raises(openai.PermissionDeniedError) as refused:
        limited.moderations.create(model=OTHER_MOD, input="a")
    events = _trace(gateway, caller.user, refused.value.response.headers["x-request-id"]).json()["events"]
    assert [e["type"] for e in events] == ["accepted", "refused"]
    assert (events[0]["model"], events[-1]["status"], events[-1]["code"]) == (OTHER_MOD, 403, "model_not_allowed")
