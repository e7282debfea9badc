"""A change made in the Django admin reaches another gateway process within a second, after it commits."""

from __future__ import annotations

import openai
import pytest
from django.contrib import admin
from django.test import Client

from accounts.models import GatewayKey, UpstreamKey, User
from accounts.services import upstream_key_add
from gateway_project import invalidation
from gateway_project.announcing_admin import AnnouncingAdmin
from models_catalog.models import Alias, CatalogModel, Preset, Provider, UsageLimit
from testing.factories import make_key, make_user, openai_client, sync_catalog
from testing.servers import wait_until

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
USER = [{"role": "user", "content": "hi"}]
LONG_CACHES = {"GATEWAY_CATALOG_CACHE_TTL": "600", "GATEWAY_AUTH_CACHE_TTL": "600"}
WITHIN_A_SECOND = 1.0
POOL_KEY = "sk-or-v1-admin-pool-key-7777"

# Every model a cache is built from, and the topic a change to it must announce.
CACHED_MODELS = {
    Provider: invalidation.CATALOG, CatalogModel: invalidation.CATALOG, Alias: invalidation.CATALOG,
    Preset: invalidation.CATALOG, UsageLimit: invalidation.CATALOG,
    User: invalidation.PRINCIPALS, GatewayKey: invalidation.PRINCIPALS,
    UpstreamKey: invalidation.UPSTREAM_POOL,
}


@pytest.fixture
def admin_client(transactional_db):
    client = Client()
    client.force_login(make_user(admin=True))
    return client


def _chat(client) -> str:
    return client.chat.completions.create(model="fast", messages=USER).model


def _unknown(client) -> bool:
    try:
        _chat(client)
    except openai.NotFoundError:
        return True
    return False


@pytest.mark.parametrize("model", CACHED_MODELS, ids=lambda m: m.__name__)
def test_every_cached_model_is_administered_by_a_class_that_announces_its_topic(model):
    model_admin = admin.site._registry[model]
    assert isinstance(model_admin, AnnouncingAdmin)
    assert CACHED_MODELS[model] in model_admin.announces


def test_an_alias_added_in_the_admin_reaches_another_process_within_a_second(admin_client, gateway_process_factory):
    sync_catalog()
    proc = gateway_process_factory(**LONG_CACHES)
    client = openai_client(proc.url, make_key(make_user()))
    assert _unknown(client)  # "fast" is not a model: the catalog is now cached there

    response = admin_client.post("/django-admin/models_catalog/alias/add/",
                                 {"alias": "fast", "model_id": LLAMA, "fallbacks": "[]", "strategy": "ordered"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert wait_until(lambda: not _unknown(client), timeout=WITHIN_A_SECOND)


def test_a_pool_key_disabled_in_the_admin_leaves_another_processs_pool_within_a_second(
        admin_client, gateway_process_factory, sim):
    sync_catalog()
    record = upstream_key_add(api_key=POOL_KEY, label="admin-test")
    proc = gateway_process_factory(OPENROUTER_API_KEYS="", **LONG_CACHES)
    client = openai_client(proc.url, make_key(make_user()))
    assert client.chat.completions.create(model=LLAMA, messages=USER).choices  # the pool is now cached there
    assert sim.requests()[-1]["key"] == POOL_KEY

    response = admin_client.post(f"/django-admin/accounts/upstreamkey/{record.id}/change/",
                                 {"label": "admin-test", "provider": "openrouter", "account": ""})  # unticked
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not UpstreamKey.objects.get(pk=record.id).enabled

    def refused() -> bool:
        try:
            client.chat.completions.create(model=LLAMA, messages=USER)
        except openai.APIStatusError as exc:
            return exc.status_code == 503 and exc.body["code"] == "no_upstream_key"
        return False

    assert wait_until(refused, timeout=WITHIN_A_SECOND)
