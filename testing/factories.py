"""Build test data through the real services, as users and admins would."""

from __future__ import annotations

import itertools

from accounts.models import Role, User
from accounts.services import gateway_key_create, user_create

_n = itertools.count(1)
PASSWORD = "correct-horse-battery-9"


def make_user(*, email: str | None = None, password: str = PASSWORD, admin: bool = False) -> User:
    return user_create(email=email or f"user{next(_n)}@example.com", password=password,
                       role=Role.ADMIN if admin else Role.USER)


def make_key(user: User, **kwargs) -> str:
    """Create a gateway key for ``user`` and return its secret."""
    return gateway_key_create(user=user, name=kwargs.pop("name", "test"), **kwargs).secret


def sync_catalog(*enable: str) -> None:
    """Sync the catalog from the simulator and enable the given models (all free ones when none given)."""
    from gateway_project import invalidation
    from models_catalog.models import CatalogModel
    from models_catalog.services import catalog_seed, catalog_sync, models_enable_free

    catalog_seed()
    catalog_sync()
    if enable:
        CatalogModel.objects.filter(model_id__in=enable).update(enabled=True, disabled_reason="")
        invalidation.announce(invalidation.CATALOG)
    else:
        models_enable_free()


def catalog_free_models(*model_ids: str) -> None:
    """List ``model_ids`` in the OpenRouter catalog, free and enabled (embedding models: its models list has none)."""
    from gateway_project import invalidation
    from models_catalog.models import CatalogModel, Provider

    provider = Provider.objects.get(slug="openrouter")
    for model_id in model_ids:
        CatalogModel.objects.update_or_create(provider=provider, model_id=model_id,
                                              defaults={"name": model_id, "free": True, "enabled": True})
    invalidation.announce(invalidation.CATALOG)


def api_client(base_url: str, user: User):
    """An httpx client on the gateway's ``/api`` with ``user``'s JWT (they log in with ``PASSWORD``)."""
    import httpx

    client = httpx.Client(base_url=f"{base_url}/api", timeout=30)
    tokens = client.post("/auth/login", json={"email": user.email, "password": PASSWORD})
    assert tokens.status_code == 200, tokens.text
    client.headers["Authorization"] = f"Bearer {tokens.json()['access']}"
    return client


def openai_client(base_url: str, api_key: str, **kwargs):
    """The real OpenAI SDK pointed at a gateway (no SDK retries unless asked)."""
    from openai import OpenAI

    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 30)
    return OpenAI(base_url=f"{base_url}/v1", api_key=api_key, **kwargs)


def anthropic_client(base_url: str, api_key: str | None, **kwargs):
    """The real Anthropic SDK pointed at a gateway (no SDK retries unless asked)."""
    from anthropic import Anthropic

    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", 30)
    return Anthropic(base_url=base_url, api_key=api_key, **kwargs)
