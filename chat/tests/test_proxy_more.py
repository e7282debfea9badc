"""The rest of /v1: models, embeddings, pass-through, presets, usage when none came, cache invalidation."""

import openai
import pytest

from chat.tests.conftest import LLAMA, QWEN
from gateway_project import invalidation
from models_catalog.models import Preset
from testing.factories import catalog_free_models, make_key, openai_client

USER = [{"role": "user", "content": "hi"}]


def test_models_list_and_detail_in_openai_shape(caller):
    models = caller.client.models.list()
    ids = [m.id for m in models]
    assert LLAMA in ids and QWEN in ids
    assert "openai/gpt-4o-mini" not in ids  # paid models arrive disabled
    assert all(m.object == "model" and m.owned_by for m in models)
    assert caller.client.models.retrieve(LLAMA).id == LLAMA
    with pytest.raises(openai.NotFoundError):
        caller.client.models.retrieve("no/such-model")


def test_key_with_allowed_models_sees_and_uses_only_those(gateway, caller):
    limited = openai_client(gateway.url, make_key(caller.user, models=[QWEN]))
    assert [m.id for m in limited.models.list()] == [QWEN]
    assert limited.chat.completions.create(model=QWEN, messages=USER).choices
    with pytest.raises(openai.PermissionDeniedError):
        limited.chat.completions.create(model=LLAMA, messages=USER)


def test_embeddings_are_served_and_the_pool_accounts_key_info_is_not(caller, gateway, http, sim):
    catalog_free_models("openai/text-embedding-3-small")
    embedding = caller.client.embeddings.create(model="openai/text-embedding-3-small", input=["a", "b"])
    assert len(embedding.data) == 2 and len(embedding.data[0].embedding) == 8
    r = http.get(f"{gateway.url}/v1/key", headers={"Authorization": f"Bearer {caller.secret}"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert r.headers["x-request-id"].startswith("req_")
    assert [s["body"]["model"] for s in sim.requests()] == ["openai/text-embedding-3-small"]  # nothing for /v1/key


def test_preset_supplies_model_fallbacks_and_default_parameters(caller, sim):
    Preset.objects.create(name="cheap", model_id=LLAMA, fallbacks=[QWEN], params={"temperature": 0.2, "max_tokens": 50})
    invalidation.announce(invalidation.CATALOG)
    raw = caller.client.chat.completions.with_raw_response.create(
        model="@preset/cheap", messages=USER, temperature=0.9, extra_body={"sim": {"faults": {LLAMA: "503"}}})
    assert raw.headers["x-gateway-model"] == QWEN
    sent = sim.requests()[-1]["body"]
    assert sent["temperature"] == 0.9  # the request's own value wins
    assert sent["max_tokens"] == 50


def test_tokens_are_counted_when_the_upstream_reports_none(caller):
    from chat.models import RequestLog
    from testing.servers import wait_until

    completion = caller.client.chat.completions.create(
        model=LLAMA, messages=[{"role": "user", "content": "x" * 400}], extra_body={"sim": {"fault": "no_usage"}})
    assert completion.usage is None
    row = wait_until(lambda: RequestLog.objects.first())
    assert row.prompt_tokens == 100 and row.completion_tokens >= 1


def test_disabling_a_key_stops_it_at_once_in_another_process(caller, gateway_process_factory):
    """The other process hears of the change by Redis pub/sub, well inside its cache TTL (set to a minute here,
    so only the announcement can stop the key). Delivery is asynchronous: a request racing the message in the
    same instant may still pass, so the check allows the message a moment to arrive."""
    import time

    from accounts.models import GatewayKey
    from accounts.services import gateway_key_update

    proc = gateway_process_factory(GATEWAY_AUTH_CACHE_TTL="60")
    client = openai_client(proc.url, caller.secret)
    assert client.chat.completions.create(model=LLAMA, messages=USER).choices  # now cached in that process
    gateway_key_update(key=GatewayKey.objects.get(user=caller.user), enabled=False)
    deadline = time.monotonic() + 1.0
    while True:
        try:
            client.chat.completions.create(model=LLAMA, messages=USER)
        except openai.AuthenticationError as refused:
            assert refused.body["code"] == "invalid_api_key"
            break
        assert time.monotonic() < deadline, "the disabled key still served a second after the commit"
        time.sleep(0.02)


def test_x_client_api_key_wins_over_a_placeholder_bearer(caller, gateway):
    from openai import OpenAI

    client = OpenAI(base_url=f"{gateway.url}/v1", api_key="placeholder", max_retries=0,
                    default_headers={"X-Client-API-Key": caller.secret})
    assert client.chat.completions.create(model=LLAMA, messages=USER).choices
