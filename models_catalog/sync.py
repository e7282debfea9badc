"""Pull a provider's models list into the catalog, all or nothing.

The list is fetched and parsed completely before anything is written; then one
transaction applies it. New models arrive disabled for review; a model that is
no longer free or no longer listed is disabled (never deleted: logs point at
it); a zero-priced base id beside its ``:free`` twin is dropped in favour of
the twin; prices are parsed as decimals.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import httpx
from django.db import transaction
from django.utils import timezone

from gateway_project import invalidation
from models_catalog.adapters import for_kind
from models_catalog.models import CatalogModel, Provider

log = logging.getLogger(__name__)


class SyncError(RuntimeError):
    """The models list could not be fetched or parsed; the catalog is unchanged."""


@dataclass
class Parsed:
    model_id: str
    name: str
    canonical_slug: str
    description: str
    context_length: int | None
    prompt_price: Decimal
    completion_price: Decimal
    free: bool
    priced: bool  # False for router models whose prices are "-1"
    input_modalities: list[str]
    output_modalities: list[str]
    supports_tools: bool | None  # None: the list does not say


@dataclass
class SyncResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"added": self.added, "updated": self.updated, "disabled": self.disabled}


def _price(value, model_id: str, name: str) -> Decimal:
    try:
        return Decimal(str(value if value is not None else "0"))
    except InvalidOperation as exc:
        raise SyncError(f"{model_id}: price {name}={value!r} is not a decimal") from exc


MAX_ID = 200  # CatalogModel.model_id's length


def _entry(item, *, tools_default: bool | None) -> Parsed:
    if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"].strip():
        raise SyncError("a model entry has no id")
    model_id = item["id"].strip()
    if len(model_id) > MAX_ID:
        raise SyncError(f"model id {model_id[:40]!r}... is longer than {MAX_ID} characters")
    pricing = item.get("pricing")
    if pricing is not None and not isinstance(pricing, dict):
        raise SyncError(f"{model_id}: pricing is not an object")
    prices = {name: _price(value, model_id, name) for name, value in (pricing or {}).items()}
    # No pricing at all (OpenAI-compatible and Anthropic lists): prices unknown, so never "free".
    priced = bool(prices) and all(p >= 0 for p in prices.values())
    free = priced and all(p == 0 for p in prices.values())
    arch = item.get("architecture") or {}
    params = item.get("supported_parameters")
    if not isinstance(arch, dict) or (params is not None and not isinstance(params, list)):
        raise SyncError(f"{model_id}: architecture or supported_parameters is malformed")
    context = item.get("context_length") or item.get("max_input_tokens")
    return Parsed(
        model_id=model_id,
        name=str(item.get("name") or item.get("display_name") or model_id)[:200],
        canonical_slug=str(item.get("canonical_slug") or model_id.removesuffix(":free"))[:200],
        description=str(item.get("description") or ""),
        context_length=int(context) if isinstance(context, (int, float)) and context > 0 else None,
        prompt_price=max(prices.get("prompt", Decimal(0)), Decimal(0)),
        completion_price=max(prices.get("completion", Decimal(0)), Decimal(0)),
        free=free,
        priced=priced,
        input_modalities=[str(m) for m in arch.get("input_modalities") or ["text"]],
        output_modalities=[str(m) for m in arch.get("output_modalities") or ["text"]],
        supports_tools="tools" in params if params is not None else tools_default,
    )


def parse_models(payload, *, tools_default: bool | None = None) -> list[Parsed]:
    """Parse a models list (``{"data": [...]}``: OpenRouter's, OpenAI's or Anthropic's) into catalog entries.

    Raise SyncError on a malformed list. ``tools_default`` is the tool support of
    entries that do not say (None: unknown, keep what the catalog has).
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        raise SyncError("the models list is not {\"data\": [...]}")
    parsed: dict[str, Parsed] = {}
    for item in payload["data"]:
        entry = _entry(item, tools_default=tools_default)
        parsed[entry.model_id] = entry
    # A base id priced at zero beside its :free twin is the same free model: keep the twin.
    for model_id in list(parsed):
        if model_id.endswith(":free"):
            base = model_id.removesuffix(":free")
            if base in parsed and parsed[base].free:
                del parsed[base]
    return list(parsed.values())


def fetch_models(provider: Provider, base_url: str, api_key: str = "") -> list[Parsed]:
    """Fetch and parse the provider's whole models list (following Anthropic's pages); raise SyncError."""
    url, headers = for_kind(provider.kind).models_request(base_url=base_url, api_key=api_key)
    items: list = []
    payload: dict = {}
    first = url
    for _ in range(100):  # pages
        payload = _get_json(url, headers)
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            break
        items.extend(payload["data"])
        if not payload.get("has_more") or not payload.get("last_id"):
            break
        url = f"{first}{'&' if '?' in first else '?'}after_id={payload['last_id']}"
    else:
        raise SyncError(f"{base_url}/models has more than 100 pages")
    merged = {**payload, "data": items} if isinstance(payload, dict) and "data" in payload else payload
    return parse_models(merged, tools_default=True if provider.kind == Provider.Kind.ANTHROPIC else None)


def _get_json(url: str, headers: dict[str, str]):
    shown = url.split("?")[0]
    try:
        response = httpx.get(url, headers=headers, timeout=30.0)
    except httpx.HTTPError as exc:
        raise SyncError(f"could not reach {shown}: {type(exc).__name__}") from exc
    if response.status_code != 200:
        raise SyncError(f"{shown} answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError as exc:
        raise SyncError(f"{shown} did not answer JSON") from exc


@transaction.atomic
def apply_models(provider: Provider, entries: list[Parsed]) -> SyncResult:
    """Write a parsed list to the catalog in one transaction."""
    result = SyncResult()
    Provider.objects.select_for_update().filter(pk=provider.pk).first()  # one sync per provider at a time
    existing = {m.model_id: m for m in CatalogModel.objects.select_for_update().filter(provider=provider)}
    seen: set[str] = set()
    for entry in entries:
        seen.add(entry.model_id)
        fields = {
            "name": entry.name, "canonical_slug": entry.canonical_slug, "description": entry.description,
            "context_length": entry.context_length, "input_modalities": entry.input_modalities,
            "output_modalities": entry.output_modalities, "supports_tools": entry.supports_tools,
            "free": entry.free, "listed": True,
        }
        if entry.supports_tools is None:
            fields.pop("supports_tools")
        current = existing.get(entry.model_id)
        if current is None:
            CatalogModel.objects.create(provider=provider, model_id=entry.model_id, enabled=False,
                                        prompt_price=entry.prompt_price, completion_price=entry.completion_price,
                                        disabled_reason="new: waiting for review", **fields)
            result.added.append(entry.model_id)
            continue
        if not current.price_overridden:
            fields.update(prompt_price=entry.prompt_price, completion_price=entry.completion_price)
        if current.free and not entry.free and current.enabled:
            fields.update(enabled=False, disabled_reason="no longer free")
            result.disabled.append(entry.model_id)
        changed = {k: v for k, v in fields.items() if getattr(current, k) != v}
        if changed:
            for name, value in changed.items():
                setattr(current, name, value)
            current.save(update_fields=[*changed, "updated_at"])
            if entry.model_id not in result.disabled:
                result.updated.append(entry.model_id)
    for model_id, current in existing.items():
        if model_id not in seen and current.listed:
            current.listed = False
            reason_fields = ["listed", "updated_at"]
            if current.enabled:
                current.enabled = False
                current.disabled_reason = "no longer listed upstream"
                reason_fields += ["enabled", "disabled_reason"]
            current.save(update_fields=reason_fields)
            result.disabled.append(model_id)
    provider.last_sync_at = timezone.now()
    provider.last_sync_error = ""
    provider.last_sync_summary = {k: len(v) for k, v in result.as_dict().items()}
    provider.save(update_fields=["last_sync_at", "last_sync_error", "last_sync_summary"])
    invalidation.announce(invalidation.CATALOG)
    return result
