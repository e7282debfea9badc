"""``GET /v1/models`` and ``GET /v1/models/{id}``: what the caller may use, in OpenAI's list shape."""

from __future__ import annotations

import orjson
from asgiref.sync import sync_to_async

from accounts.principals import Principal
from chat.proxy.errors import ProxyError
from models_catalog.selectors import asnapshot, user_disabled_model_ids


def _entry(model_id: str, created: int, owned_by: str) -> dict:
    return {"id": model_id, "object": "model", "created": created, "owned_by": owned_by}


async def visible_models(principal: Principal) -> list[dict]:
    """Enabled models the user has not turned off, then aliases to them; narrowed by the key's allowed list."""
    snapshot = await asnapshot()
    off = await sync_to_async(user_disabled_model_ids, thread_sensitive=False)(user_id=principal.user_id)
    allowed = set(principal.allowed_models)
    entries: list[dict] = []
    usable: set[str] = set()
    for model in sorted(snapshot.models.values(), key=lambda m: m.model_id):
        if not model.enabled or model.model_id in off or (allowed and model.model_id not in allowed):
            continue
        usable.add(model.model_id)
        entries.append(_entry(model.model_id, model.created, model.provider.slug))
    for alias, route in sorted(snapshot.aliases.items()):
        if (not allowed or alias in allowed) and any(m in usable for m in route.models):
            entries.append(_entry(alias, 0, "gateway-alias"))
    for name, route in sorted(snapshot.presets.items()):
        if any(m in usable for m in route.models):
            entries.append(_entry(f"@preset/{name}", 0, "gateway-preset"))
    return entries


async def list_models(principal: Principal) -> bytes:
    return orjson.dumps({"object": "list", "data": await visible_models(principal)})


async def get_model(principal: Principal, model_id: str) -> bytes:
    from urllib.parse import unquote

    model_id = unquote(model_id)
    for entry in await visible_models(principal):
        if entry["id"] == model_id:
            return orjson.dumps(entry)
    raise ProxyError(404, f"The model {model_id!r} does not exist or is not available to you.",
                     code="model_not_found", param="model")
