"""Output shapes of the catalog's REST API (camelCase, as API.md fixes). No provider secret ever leaves here."""

from __future__ import annotations

from decimal import Decimal

from models_catalog.health import ModelHealth
from models_catalog.models import Alias, CatalogModel, Preset, Provider, UsageLimit


def price(value: Decimal) -> str:
    """A price per token as a plain decimal string: ``"0.00000013"``, ``"0"``."""
    text = format(value.normalize(), "f")
    return text


def catalog_model_out(model: CatalogModel, *, enabled: bool | None = None) -> dict:
    """The catalog model shape; ``enabled`` overrides the admin flag (a user's own toggle)."""
    return {
        "id": model.id,
        "modelId": model.model_id,
        "name": model.name,
        "provider": model.provider.slug,
        "enabled": model.enabled if enabled is None else enabled,
        "free": model.free,
        "contextLength": model.context_length,
        "promptPrice": price(model.prompt_price),
        "completionPrice": price(model.completion_price),
        "supportsTools": model.supports_tools,
    }


def admin_model_out(model: CatalogModel, health: ModelHealth) -> dict:
    return {
        **catalog_model_out(model),
        "inputModalities": list(model.input_modalities),
        "outputModalities": list(model.output_modalities),
        "listed": model.listed,
        "disabledReason": model.disabled_reason,
        "priceOverridden": model.price_overridden,
        "health": health.as_dict(),
    }


def provider_out(provider: Provider) -> dict:
    return {
        "id": provider.id,
        "slug": provider.slug,
        "name": provider.name,
        "kind": provider.kind,
        "baseUrl": provider.base_url,
        "enabled": provider.enabled,
        "apiKeyLast4": provider.api_key_last4 or None,
        "lastSyncAt": provider.last_sync_at.isoformat() if provider.last_sync_at else None,
        "lastSyncError": provider.last_sync_error,
        "lastSyncSummary": provider.last_sync_summary,
    }


def alias_out(alias: Alias) -> dict:
    return {"alias": alias.alias, "modelId": alias.model_id, "fallbacks": list(alias.fallbacks),
            "strategy": alias.strategy}


def preset_out(preset: Preset) -> dict:
    return {"name": preset.name, "model": preset.model_id, "fallbacks": list(preset.fallbacks),
            "params": dict(preset.params), "strategy": preset.strategy}


def usage_limit_out(limit: UsageLimit) -> dict:
    return {"modelId": limit.model.model_id if limit.model else None,
            "maxRequestsPerDay": limit.max_requests_per_day, "maxTokensPerDay": limit.max_tokens_per_day}
