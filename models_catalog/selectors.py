"""Reads of the catalog. The /v1 path reads one in-process snapshot, dropped when a change is announced or on TTL."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import F, QuerySet

from gateway_project import invalidation
from gateway_project.errors import ApiError
from models_catalog.models import Alias, CatalogModel, Preset, Provider, UsageLimit, UserModelChoice


@dataclass(frozen=True)
class ProviderInfo:
    slug: str
    kind: str
    base_url: str
    api_key_encrypted: str


@dataclass(frozen=True)
class ModelInfo:
    pk: int
    model_id: str
    name: str
    provider: ProviderInfo
    prompt_price: Decimal
    completion_price: Decimal
    free: bool
    enabled: bool
    supports_tools: bool
    context_length: int | None
    created: int

    @property
    def paid(self) -> bool:
        return self.prompt_price > 0 or self.completion_price > 0


@dataclass(frozen=True)
class Route:
    """What a requested name resolves to: models in the order to try, and default parameters."""

    models: tuple[str, ...]
    params: dict = field(default_factory=dict)
    strategy: str = "ordered"  # models_catalog.models.Strategy


@dataclass(frozen=True)
class Snapshot:
    models: dict[str, ModelInfo]
    aliases: dict[str, Route]
    presets: dict[str, Route]
    usage_limits: dict[str | None, tuple[int | None, int | None]]
    loaded_at: float

    def resolve(self, name: str) -> Route | None:
        """Resolve a model name, alias or ``@preset/<name>`` to its route; None when unknown."""
        if name.startswith("@preset/"):
            return self.presets.get(name.removeprefix("@preset/"))
        if name in self.aliases:
            return self.aliases[name]
        if name in self.models:
            return Route(models=(name,))
        return None

    def daily_limit(self, model_id: str) -> tuple[int | None, int | None]:
        """(max requests, max tokens) per user per UTC day for a model, or the default."""
        return self.usage_limits.get(model_id) or self.usage_limits.get(None) or (None, None)


def _provider_info(provider: Provider) -> ProviderInfo:
    default = settings.GATEWAY.openrouter_base_url if provider.kind == Provider.Kind.OPENROUTER else ""
    base = provider.base_url or default
    return ProviderInfo(slug=provider.slug, kind=provider.kind, base_url=base.rstrip("/"),
                        api_key_encrypted=provider.api_key_encrypted)


def load_snapshot() -> Snapshot:
    providers = {p.id: _provider_info(p) for p in Provider.objects.filter(enabled=True)}
    models = {}
    for m in CatalogModel.objects.filter(provider_id__in=providers.keys()):
        models[m.model_id] = ModelInfo(
            pk=m.pk, model_id=m.model_id, name=m.name, provider=providers[m.provider_id],
            prompt_price=m.prompt_price, completion_price=m.completion_price, free=m.free, enabled=m.enabled,
            supports_tools=m.supports_tools, context_length=m.context_length, created=int(m.created_at.timestamp()),
        )
    aliases = {a.alias: Route(models=(a.model_id, *a.fallbacks), strategy=a.strategy) for a in Alias.objects.all()}
    presets = {p.name: Route(models=(p.model_id, *p.fallbacks), params=dict(p.params), strategy=p.strategy)
               for p in Preset.objects.all()}
    limits: dict[str | None, tuple[int | None, int | None]] = {}
    for limit in UsageLimit.objects.select_related("model"):
        limits[limit.model.model_id if limit.model else None] = (limit.max_requests_per_day, limit.max_tokens_per_day)
    return Snapshot(models=models, aliases=aliases, presets=presets, usage_limits=limits, loaded_at=time.monotonic())


_snapshot: list[Snapshot] = []  # at most one; a list so no ``global`` is needed


def invalidate_local() -> None:
    """Drop this process's snapshot; the next read loads a fresh one (registered for ``invalidation.CATALOG``)."""
    _snapshot.clear()


invalidation.register(invalidation.CATALOG, invalidate_local)


def _fresh() -> Snapshot | None:
    if _snapshot and time.monotonic() - _snapshot[0].loaded_at < settings.GATEWAY.catalog_cache_ttl_s:
        return _snapshot[0]
    return None


def snapshot() -> Snapshot:
    """Return the catalog snapshot (cached in process)."""
    current = _fresh()
    if current is None:
        seen = invalidation.generation(invalidation.CATALOG)
        current = load_snapshot()
        if invalidation.may_keep(invalidation.CATALOG, seen):
            _snapshot[:] = [current]
    return current


async def asnapshot() -> Snapshot:
    """See snapshot()."""
    current = _fresh()
    if current is None:
        load = sync_to_async(load_snapshot, thread_sensitive=False)
        current, keep = await invalidation.aload(invalidation.CATALOG, "snapshot", load)
        if keep:
            _snapshot[:] = [current]
    return current


# ---------------------------------------------------------------- plain reads for pages and APIs


def model_list(*, enabled_only: bool = False) -> QuerySet[CatalogModel]:
    """Catalog models with their provider, ordered by model id."""
    models = CatalogModel.objects.select_related("provider")
    return models.filter(enabled=True) if enabled_only else models


def model_get(*, pk: int) -> CatalogModel | None:
    return model_list().filter(pk=pk).first()


def model_get_by_model_id(*, model_id: str) -> CatalogModel | None:
    return model_list().filter(model_id=model_id).first()


def provider_list() -> QuerySet[Provider]:
    return Provider.objects.all()


def provider_get(*, pk: int) -> Provider | None:
    return Provider.objects.filter(pk=pk).first()


def alias_list() -> QuerySet[Alias]:
    return Alias.objects.all()


def alias_get(*, alias: str) -> Alias | None:
    return Alias.objects.filter(alias=alias).first()


def preset_list() -> QuerySet[Preset]:
    return Preset.objects.all()


def preset_get(*, name: str) -> Preset | None:
    return Preset.objects.filter(name=name).first()


def usage_limit_list() -> QuerySet[UsageLimit]:
    """The default limit (model null) first, then per model."""
    return UsageLimit.objects.select_related("model").order_by(F("model_id").asc(nulls_first=True))


def usage_limit_get(*, model_id: str | None) -> UsageLimit | None:
    """The limit of one model by its model id, or the default one (``model_id`` None)."""
    if model_id is None:
        return usage_limit_list().filter(model__isnull=True).first()
    return usage_limit_list().filter(model__model_id=model_id).first()


def user_disabled_model_ids(*, user_id: int) -> set[str]:
    """Model ids the user turned off for themselves."""
    return set(
        UserModelChoice.objects.filter(user_id=user_id, enabled=False).values_list("model__model_id", flat=True)
    )


def user_model_choices(*, user_id: int) -> list[tuple[CatalogModel, bool]]:
    """Every admin-enabled model with the user's own toggle (on unless they turned it off)."""
    off = user_disabled_model_ids(user_id=user_id)
    return [(m, m.model_id not in off) for m in model_list(enabled_only=True)]


def user_usable_models(*, user_id: int) -> list[CatalogModel]:
    """Enabled catalog models the user has not turned off ("My models"), as rows."""
    return [m for m, on in user_model_choices(user_id=user_id) if on]


def user_model_ids(*, user_id: int) -> list[str]:
    """Enabled catalog models the user has not turned off ("My models")."""
    return [m.model_id for m in user_usable_models(user_id=user_id)]


async def auser_models(*, user_id: int) -> list[ModelInfo]:
    """The user's usable models from the snapshot (for the playground, agent and orchestrator)."""
    current = await asnapshot()
    off = await sync_to_async(user_disabled_model_ids, thread_sensitive=False)(user_id=user_id)
    return [m for _, m in sorted(current.models.items()) if m.enabled and m.model_id not in off]


async def auser_model_ids(*, user_id: int) -> list[str]:
    """See user_model_ids()."""
    return [m.model_id for m in await auser_models(user_id=user_id)]


async def ausable_models(*, user_id: int, allowed_models: tuple[str, ...] = ()) -> list[ModelInfo]:
    """Return the user's models ("My models"), within a key's ``allowed_models`` when it has any, free first."""
    models = await auser_models(user_id=user_id)
    if allowed_models:
        models = [m for m in models if m.model_id in allowed_models]
    return sorted(models, key=lambda m: (not m.free, m.model_id))


def check_usable(*, usable: list[ModelInfo], requested: list[str]) -> None:
    """Raise a 400 naming the requested models that are not among ``usable``."""
    unknown = sorted(set(requested) - {m.model_id for m in usable})
    if unknown:
        raise ApiError(f"You cannot use {', '.join(unknown)}; GET /api/user/models lists your models.",
                       extra={"unknown": unknown})
