"""Each user turns enabled models on and off for themselves; /v1/models and the chat list follow, for them only."""

from __future__ import annotations

import openai
import pytest

from models_catalog.models import CatalogModel
from testing.factories import make_key, make_user, sync_catalog

FREE = "meta-llama/llama-3.3-70b-instruct:free"


@pytest.fixture
def catalog(gateway):
    sync_catalog()
    return CatalogModel.objects


def _sdk(gateway, user) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=make_key(user), max_retries=0)


def test_a_users_toggle_changes_v1_models_for_that_user_only(catalog, gateway, signed_in):
    alice, bob = make_user(), make_user()
    model = catalog.get(model_id=FREE)
    alice_api = signed_in(alice)
    off = alice_api.put(f"/user/models/{model.id}/toggle")
    assert off.status_code == 200 and off.json()["enabled"] is False and off.json()["modelId"] == FREE
    assert FREE not in {m.id for m in _sdk(gateway, alice).models.list()}
    assert FREE in {m.id for m in _sdk(gateway, bob).models.list()}
    on = alice_api.put(f"/user/models/{model.id}/toggle", json={"enabled": True})
    assert on.json()["enabled"] is True
    assert FREE in {m.id for m in _sdk(gateway, alice).models.list()}


def test_user_models_lists_every_enabled_model_with_the_callers_toggle(catalog, user_api):
    model = catalog.get(model_id=FREE)
    user_api.put(f"/user/models/{model.id}/toggle", json={"enabled": False})
    body = user_api.get("/user/models", params={"size": 100}).json()
    assert body["count"] == catalog.filter(enabled=True).count()
    mine = {m["modelId"]: m["enabled"] for m in body["results"]}
    assert mine[FREE] is False
    assert all(on for model_id, on in mine.items() if model_id != FREE)
    assert not any(m["modelId"] == "openai/gpt-4o-mini" for m in body["results"])  # admin-disabled: not offered


def test_chat_models_lists_only_what_the_caller_can_use(catalog, user_api):
    model = catalog.get(model_id=FREE)
    before = {m["modelId"] for m in user_api.get("/chat/models", params={"size": 100}).json()["results"]}
    assert FREE in before and "openai/gpt-4o-mini" not in before
    user_api.put(f"/user/models/{model.id}/toggle")
    after = {m["modelId"] for m in user_api.get("/chat/models", params={"size": 100}).json()["results"]}
    assert after == before - {FREE}


def test_model_status_shows_the_callers_toggle(catalog, user_api):
    model = catalog.get(model_id=FREE)
    status = user_api.get(f"/user/models/{model.id}/status").json()
    assert status["id"] == model.id and status["enabled"] is True and status["available"] is True
    user_api.put(f"/user/models/{model.id}/toggle")
    assert user_api.get(f"/user/models/{model.id}/status").json()["enabled"] is False


def test_unknown_or_admin_disabled_models_are_404(catalog, user_api):
    hidden = catalog.get(model_id="openai/gpt-4o-mini")
    assert user_api.put(f"/user/models/{hidden.id}/toggle").status_code == 404
    assert user_api.get(f"/user/models/{hidden.id}/status").status_code == 404
    assert user_api.put("/user/models/999999/toggle").status_code == 404
    assert user_api.put(f"/user/models/{catalog.get(model_id=FREE).id}/toggle",
                        json={"enabled": "maybe"}).status_code == 400


def test_selectors_give_the_playground_the_users_models(catalog, gateway):
    from asgiref.sync import async_to_sync

    from models_catalog import selectors, services

    user = make_user()
    services.user_model_toggle(user_id=user.id, model=catalog.get(model_id=FREE), enabled=False)
    ids = selectors.user_model_ids(user_id=user.id)
    assert FREE not in ids and "qwen/qwen3-coder:free" in ids
    assert async_to_sync(selectors.auser_model_ids)(user_id=user.id) == sorted(ids)
