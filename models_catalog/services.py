"""Writes for the catalog: providers, sync, toggles, aliases, presets, limits, users' own choices.

Every write that changes what the /v1 snapshot holds announces
``invalidation.CATALOG``; the announcement goes out after the transaction
commits, so every gateway process reloads committed rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import crypto
from gateway_project import invalidation
from models_catalog.models import Alias, CatalogModel, Preset, Provider, Strategy, UsageLimit, UserModelChoice
from models_catalog.sync import SyncError, apply_models, fetch_models

log = logging.getLogger(__name__)
OPENROUTER_SLUG = "openrouter"
PRESET_RESERVED_PARAMS = frozenset({"model", "models", "messages", "stream", "sim"})


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


# ---------------------------------------------------------------- providers


def provider_api_key_apply(provider: Provider, api_key: str | None) -> None:
    """Put ``api_key`` on the (unsaved) provider encrypted, with its last 4; "" removes it, None keeps it."""
    if api_key is None:
        return
    api_key = api_key.strip()
    provider.api_key_encrypted = crypto.encrypt(api_key) if api_key else ""
    provider.api_key_last4 = api_key[-4:] if api_key else ""


@transaction.atomic
def provider_create(*, slug: str, name: str, kind: str, base_url: str = "", api_key: str = "") -> Provider:
    """Add a provider (an OpenAI-compatible base URL, or Anthropic's API); its key is stored encrypted."""
    if kind not in Provider.Kind.values:
        raise ValidationError(f"kind must be one of {', '.join(Provider.Kind.values)}")
    if kind != Provider.Kind.OPENROUTER and not base_url:
        raise ValidationError("baseUrl is required for this kind of provider")
    if Provider.objects.filter(slug=slug).exists():
        raise ValidationError(f"a provider named {slug!r} exists")
    provider = Provider(slug=slug, name=name, kind=kind, base_url=base_url.rstrip("/"))
    provider_api_key_apply(provider, api_key)
    provider.full_clean()
    provider.save()
    invalidation.announce(invalidation.CATALOG)
    return provider


@transaction.atomic
def provider_update(*, provider: Provider, name: str | None = None, base_url: str | None = None,
                    enabled: bool | None = None, api_key: str | None = None) -> Provider:
    """Change a provider; ``api_key=""`` removes its key, None keeps it."""
    if name is not None:
        provider.name = name
    if base_url is not None:
        provider.base_url = base_url.rstrip("/")
    if enabled is not None:
        provider.enabled = enabled
    provider_api_key_apply(provider, api_key)
    provider.full_clean()
    provider.save()
    invalidation.announce(invalidation.CATALOG)
    return provider


def _provider_api_key(provider: Provider) -> str:
    if provider.api_key_encrypted:
        return crypto.decrypt(provider.api_key_encrypted)
    if provider.kind == Provider.Kind.OPENROUTER and settings.GATEWAY.openrouter_api_keys:
        return settings.GATEWAY.openrouter_api_keys[0].rpartition("=")[2].strip()
    return ""


# ---------------------------------------------------------------- sync


def catalog_sync(*, provider_slug: str = OPENROUTER_SLUG) -> dict:
    """Sync one provider's models list into the catalog, all or nothing; return what was added/updated/disabled.

    On failure nothing in the catalog changes, the reason is kept on
    ``provider.last_sync_error`` and logged, and ``SyncError`` is raised.
    """
    provider = Provider.objects.get(slug=provider_slug)
    base_url = (provider.base_url or settings.GATEWAY.openrouter_base_url).rstrip("/")
    try:
        try:
            api_key = _provider_api_key(provider)
        except crypto.DecryptionError as exc:
            raise SyncError("the provider's stored key does not decrypt under the configured master keys") from exc
        entries = fetch_models(provider, base_url, api_key)
        try:
            result = apply_models(provider, entries)
        except SyncError:
            raise
        except Exception as exc:  # the transaction rolled back: say so rather than half-explain
            log.exception("catalog sync of %s failed while writing", provider_slug)
            raise SyncError(f"writing the catalog failed ({type(exc).__name__}); nothing was changed") from exc
    except SyncError as exc:
        Provider.objects.filter(pk=provider.pk).update(last_sync_error=str(exc)[:2000])
        log.error("catalog sync of %s failed, catalog unchanged: %s", provider_slug, exc)
        raise
    log.info("catalog sync of %s: %s", provider_slug, {k: len(v) for k, v in result.as_dict().items()})
    return result.as_dict()


def catalog_sync_all() -> dict[str, dict | str]:
    """Sync every enabled provider; return each one's result or its error (one failure stops none)."""
    outcome: dict[str, dict | str] = {}
    for slug in Provider.objects.filter(enabled=True).values_list("slug", flat=True):
        try:
            outcome[slug] = catalog_sync(provider_slug=slug)
        except SyncError as exc:
            outcome[slug] = f"failed: {exc}"
    return outcome


# ---------------------------------------------------------------- models


def model_mark_gone(*, model_id: str) -> int:
    """Disable a model the upstream answers 404 for (never deleted: logs point at it)."""
    changed = CatalogModel.objects.filter(model_id=model_id, enabled=True).update(
        enabled=False, disabled_reason="upstream answered 404 (model gone)"
    )
    invalidation.announce(invalidation.CATALOG)
    return changed


def models_enable_free() -> int:
    """Enable every listed free model (the quick start's demo catalog)."""
    changed = CatalogModel.objects.filter(free=True, listed=True, enabled=False).update(
        enabled=True, disabled_reason=""
    )
    invalidation.announce(invalidation.CATALOG)
    return changed


@transaction.atomic
def model_toggle(*, model: CatalogModel, enabled: bool | None = None) -> CatalogModel:
    """Turn a catalog model on or off for everyone (flip it when ``enabled`` is None)."""
    model.enabled = (not model.enabled) if enabled is None else enabled
    model.disabled_reason = "" if model.enabled else "disabled by an admin"
    model.save(update_fields=["enabled", "disabled_reason", "updated_at"])
    invalidation.announce(invalidation.CATALOG)
    return model


@transaction.atomic
def models_set_enabled(*, pks: list[int], enabled: bool) -> int:
    """Turn many catalog models on or off at once (one announcement); return how many changed."""
    changed = CatalogModel.objects.filter(pk__in=pks).exclude(enabled=enabled).update(
        enabled=enabled, disabled_reason="" if enabled else "disabled by an admin", updated_at=timezone.now())
    if changed:
        invalidation.announce(invalidation.CATALOG)
    return changed


# ---------------------------------------------------------------- aliases, presets, limits


def _check_models_exist(model_ids: list[str]) -> None:
    known = set(CatalogModel.objects.filter(model_id__in=model_ids).values_list("model_id", flat=True))
    missing = [m for m in model_ids if m not in known]
    if missing:
        raise ValidationError(f"unknown model(s): {', '.join(missing)}")


@transaction.atomic
def alias_set(*, alias: str, model_id: str, fallbacks: list[str] | None = None, strategy: str | None = None) -> Alias:
    """Create or replace the alias ``alias`` -> ``model_id`` then ``fallbacks``, tried as ``strategy`` orders them
    (``ordered`` when None)."""
    alias = alias.strip()
    if not alias or alias.startswith("@"):
        raise ValidationError("alias must be a non-empty name not starting with @")
    if CatalogModel.objects.filter(model_id=alias).exists():
        raise ValidationError(f"{alias!r} is a catalog model id; an alias cannot shadow it")
    fallbacks = [f for f in dict.fromkeys(fallbacks or []) if f != model_id]
    _check_models_exist([model_id, *fallbacks])
    record, _ = Alias.objects.update_or_create(alias=alias, defaults={
        "model_id": model_id, "fallbacks": fallbacks, "strategy": _strategy(strategy)})
    invalidation.announce(invalidation.CATALOG)
    return record


def _strategy(strategy: str | None) -> str:
    strategy = strategy or Strategy.ORDERED
    if strategy not in Strategy.values:
        raise ValidationError(f"strategy must be one of {', '.join(Strategy.values)}")
    return strategy


@transaction.atomic
def alias_delete(*, alias: Alias) -> None:
    """Remove an alias; requests naming it get 404 from then on."""
    alias.delete()
    invalidation.announce(invalidation.CATALOG)


@transaction.atomic
def preset_set(*, name: str, model_id: str, fallbacks: list[str] | None = None, params: dict | None = None,
               strategy: str | None = None) -> Preset:
    """Create or replace ``@preset/<name>``: a model, fallbacks, default request parameters and the strategy that
    orders the models (``ordered`` when None)."""
    params = dict(params or {})
    reserved = sorted(PRESET_RESERVED_PARAMS & params.keys())
    if reserved:
        raise ValidationError(f"params may not set {', '.join(reserved)}")
    fallbacks = [f for f in dict.fromkeys(fallbacks or []) if f != model_id]
    _check_models_exist([model_id, *fallbacks])
    record, _ = Preset.objects.update_or_create(
        name=name, defaults={"model_id": model_id, "fallbacks": fallbacks, "params": params,
                             "strategy": _strategy(strategy)}
    )
    invalidation.announce(invalidation.CATALOG)
    return record


@transaction.atomic
def preset_delete(*, preset: Preset) -> None:
    """Remove ``@preset/<name>``; requests naming it get 404 from then on."""
    preset.delete()
    invalidation.announce(invalidation.CATALOG)


@transaction.atomic
def usage_limit_set(*, model: CatalogModel | None, max_requests_per_day: int | None,
                    max_tokens_per_day: int | None) -> UsageLimit:
    """Set a per-user daily limit for ``model`` (None: the default for every model); None values: unlimited."""
    limit = UsageLimit.objects.select_for_update().filter(model=model).first() if model else \
        UsageLimit.objects.select_for_update().filter(model__isnull=True).first()
    if limit is None:
        limit = UsageLimit(model=model)
    limit.max_requests_per_day = max_requests_per_day
    limit.max_tokens_per_day = max_tokens_per_day
    limit.save()
    invalidation.announce(invalidation.CATALOG)
    return limit


@transaction.atomic
def usage_limit_delete(*, limit: UsageLimit) -> None:
    """Remove a limit: a model's falls back to the default, the default's to no limit."""
    limit.delete()
    invalidation.announce(invalidation.CATALOG)


# ---------------------------------------------------------------- a user's own choices


@transaction.atomic
def user_model_toggle(*, user_id: int, model: CatalogModel, enabled: bool | None = None) -> bool:
    """Turn ``model`` on or off for this user only (flip when ``enabled`` is None); return the new state."""
    choice, _ = UserModelChoice.objects.select_for_update().get_or_create(user_id=user_id, model=model)
    choice.enabled = (not choice.enabled) if enabled is None else enabled
    choice.save(update_fields=["enabled"])
    return choice.enabled
