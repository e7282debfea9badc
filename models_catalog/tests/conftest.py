"""Helpers for the catalog's tests: signed-in REST clients and an Anthropic provider on the simulator."""

from __future__ import annotations

import httpx
import pytest

from testing.factories import api_client, make_user


@pytest.fixture
def signed_in(gateway):
    """``signed_in(user)``: an httpx client on ``/api`` with the user's JWT."""
    clients: list[httpx.Client] = []

    def make(user) -> httpx.Client:
        clients.append(api_client(gateway.url, user))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def admin_api(signed_in):
    return signed_in(make_user(admin=True))


@pytest.fixture
def user_api(signed_in):
    return signed_in(make_user())


@pytest.fixture
def anon_api(gateway):
    with httpx.Client(base_url=f"{gateway.url}/api", timeout=30) as client:
        yield client


@pytest.fixture
def anthropic_provider(sim, transactional_db):
    """An Anthropic provider on the simulator's Messages API, synced, with its Claude models enabled."""
    from gateway_project import invalidation
    from models_catalog.models import CatalogModel
    from models_catalog.services import catalog_sync, provider_create

    provider = provider_create(slug="anthropic", name="Anthropic", kind="anthropic",
                               base_url=f"{sim.root}/anthropic/v1", api_key="sk-ant-sim-key-1234")
    catalog_sync(provider_slug="anthropic")
    CatalogModel.objects.filter(provider=provider).update(enabled=True)
    invalidation.announce(invalidation.CATALOG)
    return provider
