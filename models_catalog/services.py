"""Writes for the catalog: seeding, sync, toggles, aliases, presets, limits."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import transaction

from models_catalog.models import Provider

OPENROUTER_SLUG = "openrouter"


@transaction.atomic
def catalog_seed() -> str:
    """Ensure the default OpenRouter provider exists; return what was done."""
    _, created = Provider.objects.get_or_create(
        slug=OPENROUTER_SLUG, defaults={"name": "OpenRouter", "kind": Provider.Kind.OPENROUTER}
    )
    return "created provider openrouter" if created else "provider openrouter present"


def provider_secrets_for_rotation() -> Iterator[tuple[Provider, str]]:
    """Yield each stored provider secret as (record, field name), for key rotation."""
    for provider in Provider.objects.exclude(api_key_encrypted="").select_for_update():
        yield provider, "api_key_encrypted"


def model_mark_gone(*, model_id: str) -> int:
    """Disable a model the upstream answers 404 for (never deleted: logs point at it)."""
    from models_catalog import selectors
    from models_catalog.models import CatalogModel

    changed = CatalogModel.objects.filter(model_id=model_id, enabled=True).update(
        enabled=False, disabled_reason="upstream answered 404 (model gone)"
    )
    selectors.invalidate()
    return changed


def catalog_sync(*, provider_slug: str = OPENROUTER_SLUG) -> dict:
    """Sync one provider's models list into the catalog; on failure nothing changes and the error is kept.

    Raise ``SyncError`` (after recording it on the provider) when the list cannot be used.
    """
    from django.conf import settings

    from accounts import crypto
    from models_catalog import selectors
    from models_catalog.sync import SyncError, apply_models, fetch_models

    provider = Provider.objects.get(slug=provider_slug)
    base_url = provider.base_url or settings.GATEWAY.openrouter_base_url
    api_key = crypto.decrypt(provider.api_key_encrypted) if provider.api_key_encrypted else ""
    if not api_key and provider.kind == Provider.Kind.OPENROUTER and settings.GATEWAY.openrouter_api_keys:
        api_key = settings.GATEWAY.openrouter_api_keys[0].rpartition("=")[2]
    try:
        entries = fetch_models(provider, base_url.rstrip("/"), api_key)
        result = apply_models(provider, entries)
    except SyncError as exc:
        Provider.objects.filter(pk=provider.pk).update(last_sync_error=str(exc)[:2000])
        import logging

        logging.getLogger(__name__).error("catalog sync of %s failed: %s", provider_slug, exc)
        raise
    selectors.invalidate()
    return result.as_dict()


def models_enable_free() -> int:
    """Enable every listed free model (the quick start's demo catalog)."""
    from models_catalog import selectors
    from models_catalog.models import CatalogModel

    changed = CatalogModel.objects.filter(free=True, listed=True, enabled=False).update(enabled=True, disabled_reason="")
    selectors.invalidate()
    return changed


# ---------------------------------------------------------------- a user's own choices
# Added by the web-pages branch for the Settings page; the catalog branch has the same
# function with the same signature: on merge, keep the catalog branch's copy.


@transaction.atomic
def user_model_toggle(*, user_id: int, model, enabled: bool | None = None) -> bool:
    """Turn ``model`` on or off for this user only (flip when ``enabled`` is None); return the new state."""
    from models_catalog.models import UserModelChoice

    choice, _ = UserModelChoice.objects.select_for_update().get_or_create(user_id=user_id, model=model)
    choice.enabled = (not choice.enabled) if enabled is None else enabled
    choice.save(update_fields=["enabled"])
    return choice.enabled
