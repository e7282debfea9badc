"""The catalog's REST API over real HTTP: 401 anonymous, 403 non-admin, 404 unknown, 400 bad input, good cases."""

from __future__ import annotations

import openai
import pytest

from accounts import crypto
from models_catalog.models import Alias, CatalogModel, Preset, Provider, UsageLimit
from testing.factories import make_key, make_user, sync_catalog

FREE = "meta-llama/llama-3.3-70b-instruct:free"
OTHER = "qwen/qwen3-coder:free"

ADMIN_ENDPOINTS = [
    ("get", "/admin/models", None),
    ("put", "/admin/models/toggle", {"modelId": FREE}),
    ("post", "/admin/sync-models", {}),
    ("get", "/admin/providers", None),
    ("get", "/admin/aliases", None),
    ("put", "/admin/aliases", {"alias": "gpt-4o", "modelId": FREE}),
    ("get", "/admin/presets", None),
    ("put", "/admin/presets", {"name": "fast", "model": FREE}),
    ("delete", "/admin/aliases/gpt-4o", None),
    ("delete", "/admin/presets/fast", None),
    ("get", "/admin/usage-limits", None),
    ("put", "/admin/usage-limits", {"modelId": "*", "maxRequestsPerDay": 5, "maxTokensPerDay": None}),
]


@pytest.fixture
def catalog(gateway):
    sync_catalog()
    return CatalogModel.objects


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ENDPOINTS)
def test_admin_endpoints_refuse_anonymous_401_and_users_403(catalog, anon_api, user_api, method, path, body):
    assert getattr(anon_api, method)(path, **({"json": body} if body is not None else {})).status_code == 401
    refused = getattr(user_api, method)(path, **({"json": body} if body is not None else {}))
    assert refused.status_code == 403
    assert set(refused.json()) == {"message", "extra"}


@pytest.mark.parametrize("path", ["/chat/models", "/user/models", "/user/models/1/status"])
def test_user_endpoints_refuse_anonymous(gateway, anon_api, path):
    assert anon_api.get(path).status_code == 401
    assert anon_api.put("/user/models/1/toggle").status_code == 401


def test_admin_lists_models_in_the_catalog_shape_with_health(catalog, admin_api):
    body = admin_api.get("/admin/models", params={"size": 100}).json()
    assert body["count"] == catalog.count() and body["previous"] is None
    entry = next(m for m in body["results"] if m["modelId"] == "meta-llama/llama-3.3-70b-instruct")
    assert entry["promptPrice"] == "0.00000013" and entry["completionPrice"] == "0.0000004"
    assert {"id", "modelId", "name", "provider", "enabled", "free", "contextLength", "supportsTools",
            "health"} <= set(entry)
    assert entry["provider"] == "openrouter" and entry["enabled"] is False
    assert entry["health"]["samples"] == 0 and entry["health"]["successRate"] is None


def test_admin_toggles_a_model_for_everyone(catalog, admin_api, gateway):
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=make_key(make_user()), max_retries=0)
    assert FREE in {m.id for m in client.models.list()}
    off = admin_api.put("/admin/models/toggle", json={"modelId": FREE})
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert FREE not in {m.id for m in client.models.list()}  # the snapshot was invalidated
    assert CatalogModel.objects.get(model_id=FREE).disabled_reason == "disabled by an admin"
    assert admin_api.put("/admin/models/toggle", json={"modelId": FREE, "enabled": True}).json()["enabled"] is True


def test_admin_toggle_rejects_bad_input_and_unknown_models(catalog, admin_api):
    assert admin_api.put("/admin/models/toggle", json={}).status_code == 400
    missing = admin_api.put("/admin/models/toggle", json={"modelId": "nope/none"})
    assert missing.status_code == 404 and "nope/none" in missing.json()["message"]


def test_sync_button_endpoint_reports_what_changed(gateway, admin_api, sim):
    first = admin_api.post("/admin/sync-models", json={})
    assert first.status_code == 200
    assert OTHER in first.json()["added"]
    sim.configure(remove_models=[OTHER])
    assert admin_api.post("/admin/sync-models", json={}).json()["disabled"] == [OTHER]


def test_failed_sync_is_502_catalog_unchanged_and_error_shown_on_providers(catalog, admin_api, sim):
    before = catalog.count()
    sim.configure(models_fault=500, remove_models=[OTHER])
    failed = admin_api.post("/admin/sync-models", json={})
    assert failed.status_code == 502
    assert "unchanged" in failed.json()["message"] and "HTTP 500" in failed.json()["message"]
    assert catalog.count() == before and catalog.get(model_id=OTHER).enabled
    providers = admin_api.get("/admin/providers").json()["results"]
    assert "HTTP 500" in next(p for p in providers if p["slug"] == "openrouter")["lastSyncError"]
    assert admin_api.post("/admin/sync-models", json={"provider": "nope"}).status_code == 404
    assert admin_api.post("/admin/sync-models", json={"provider": "not a slug!"}).status_code == 400


def test_admin_adds_a_provider_whose_key_never_comes_back(gateway, admin_api, sim):
    created = admin_api.post("/admin/providers", json={
        "slug": "groq", "name": "Groq", "kind": "openai", "baseUrl": f"{sim.root}/api/v1", "apiKey": "gsk-secret-9876"})
    assert created.status_code == 201
    assert created.json()["apiKeyLast4"] == "9876"
    assert "gsk-secret-9876" not in created.text
    stored = Provider.objects.get(slug="groq")
    assert stored.api_key_encrypted != "gsk-secret-9876"
    assert crypto.decrypt(stored.api_key_encrypted) == "gsk-secret-9876"
    assert "gsk-secret" not in admin_api.get("/admin/providers").text
    assert admin_api.post("/admin/providers", json={"slug": "x", "name": "X", "kind": "bogus"}).status_code == 400
    assert admin_api.post("/admin/providers", json={"slug": "y", "name": "Y", "kind": "openai"}).status_code == 400
    patched = admin_api.patch(f"/admin/providers/{stored.id}", json={"enabled": False})
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    assert admin_api.patch("/admin/providers/999999", json={"enabled": False}).status_code == 404


def test_alias_routes_v1_requests_to_its_model(catalog, admin_api, gateway):
    saved = admin_api.put("/admin/aliases", json={"alias": "gpt-4o", "modelId": FREE, "fallbacks": [OTHER]})
    assert saved.status_code == 200
    assert saved.json() == {"alias": "gpt-4o", "modelId": FREE, "fallbacks": [OTHER], "strategy": "ordered"}
    assert admin_api.get("/admin/aliases").json()["results"] == [saved.json()]
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=make_key(make_user()), max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert reply.model == FREE
    assert Alias.objects.get(alias="gpt-4o").fallbacks == [OTHER]


def test_alias_rejects_unknown_models_and_shadowing(catalog, admin_api):
    unknown = admin_api.put("/admin/aliases", json={"alias": "gpt-4o", "modelId": "nope/none"})
    assert unknown.status_code == 400 and "nope/none" in unknown.json()["message"]
    assert admin_api.put("/admin/aliases", json={"alias": OTHER, "modelId": FREE}).status_code == 400
    assert admin_api.put("/admin/aliases", json={"modelId": FREE}).status_code == 400
    assert not Alias.objects.exists()


def test_preset_applies_its_params_through_v1(catalog, admin_api, gateway):
    saved = admin_api.put("/admin/presets", json={"name": "terse", "model": FREE, "params": {"max_tokens": 3}})
    assert saved.status_code == 200 and saved.json()["params"] == {"max_tokens": 3}
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=make_key(make_user()), max_retries=0)
    reply = client.chat.completions.create(model="@preset/terse", messages=[{"role": "user", "content": "hi"}])
    assert reply.model == FREE and reply.choices[0].finish_reason == "length"
    assert admin_api.get("/admin/presets").json()["count"] == 1


def test_preset_rejects_reserved_params_and_unknown_models(catalog, admin_api):
    bad = admin_api.put("/admin/presets", json={"name": "x", "model": FREE, "params": {"messages": []}})
    assert bad.status_code == 400 and "messages" in bad.json()["message"]
    assert admin_api.put("/admin/presets", json={"name": "x", "model": "nope/none"}).status_code == 400
    assert admin_api.put("/admin/presets", json={"name": "not a slug", "model": FREE}).status_code == 400
    assert not Preset.objects.exists()


def test_deleting_an_alias_answers_204_and_the_alias_stops_routing(catalog, admin_api, gateway):
    assert admin_api.put("/admin/aliases", json={"alias": "team/fast", "modelId": FREE}).status_code == 200
    assert admin_api.put("/admin/aliases", json={"alias": "kept", "modelId": FREE}).status_code == 200
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=make_key(make_user()), max_retries=0)
    assert client.chat.completions.create(model="team/fast", messages=[{"role": "user", "content": "hi"}]).model == FREE

    deleted = admin_api.delete("/admin/aliases/team/fast")
    assert deleted.status_code == 204 and deleted.content == b""
    assert list(Alias.objects.values_list("alias", flat=True)) == ["kept"]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="team/fast", messages=[{"role": "user", "content": "hi"}])
    again = admin_api.delete("/admin/aliases/team/fast")
    assert again.status_code == 404 and again.json()["message"] == "No alias 'team/fast'."


def test_deleting_a_preset_answers_204_and_the_preset_stops_routing(catalog, admin_api, gateway):
    assert admin_api.put("/admin/presets", json={"name": "terse", "model": FREE}).status_code == 200
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=make_key(make_user()), max_retries=0)
    assert client.chat.completions.create(model="@preset/terse", messages=[{"role": "user", "content": "hi"}]).model \
        == FREE

    assert admin_api.delete("/admin/presets/terse").status_code == 204
    assert not Preset.objects.exists()
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="@preset/terse", messages=[{"role": "user", "content": "hi"}])
    missing = admin_api.delete("/admin/presets/terse")
    assert missing.status_code == 404 and missing.json()["message"] == "No preset 'terse'."


def test_users_cannot_delete_aliases_or_presets(catalog, admin_api, user_api, anon_api):
    admin_api.put("/admin/aliases", json={"alias": "gpt-4o", "modelId": FREE})
    admin_api.put("/admin/presets", json={"name": "fast", "model": FREE})
    for client in (anon_api, user_api):
        assert client.delete("/admin/aliases/gpt-4o").status_code in (401, 403)
        assert client.delete("/admin/presets/fast").status_code in (401, 403)
    assert Alias.objects.filter(alias="gpt-4o").exists() and Preset.objects.filter(name="fast").exists()


def test_usage_limits_default_and_per_model(catalog, admin_api):
    default = admin_api.put("/admin/usage-limits", json={"modelId": "*", "maxRequestsPerDay": 100,
                                                         "maxTokensPerDay": 5000})
    assert default.json() == {"modelId": None, "maxRequestsPerDay": 100, "maxTokensPerDay": 5000}
    again = admin_api.put("/admin/usage-limits", json={"modelId": None, "maxRequestsPerDay": 50,
                                                       "maxTokensPerDay": None})
    assert again.status_code == 200
    admin_api.put("/admin/usage-limits", json={"modelId": FREE, "maxRequestsPerDay": 2, "maxTokensPerDay": None})
    listed = admin_api.get("/admin/usage-limits").json()["results"]
    assert listed == [{"modelId": None, "maxRequestsPerDay": 50, "maxTokensPerDay": None},
                      {"modelId": FREE, "maxRequestsPerDay": 2, "maxTokensPerDay": None}]
    assert UsageLimit.objects.count() == 2
    assert admin_api.put("/admin/usage-limits", json={"modelId": "nope/none", "maxRequestsPerDay": 1,
                                                      "maxTokensPerDay": 1}).status_code == 404
    assert admin_api.put("/admin/usage-limits", json={"modelId": "*", "maxRequestsPerDay": -1,
                                                      "maxTokensPerDay": 1}).status_code == 400


def test_a_per_model_limit_is_enforced_on_v1(catalog, admin_api, gateway):
    admin_api.put("/admin/usage-limits", json={"modelId": FREE, "maxRequestsPerDay": 1, "maxTokensPerDay": None})
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=make_key(make_user()), max_retries=0)
    client.chat.completions.create(model=FREE, messages=[{"role": "user", "content": "one"}])
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model=FREE, messages=[{"role": "user", "content": "two"}])
