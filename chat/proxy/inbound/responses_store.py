"""Stored ``/v1/responses`` answers: what ``previous_response_id`` continues and ``GET /v1/responses/{id}`` returns.

Kept in the hot path's shared store (``gateway_project.shared_state``: Redis, or process
memory when embedded) for ``GATEWAY_RESPONSES_TTL`` seconds, under a key that
holds the owner's user id: another user's id is simply not found (404), so no
owner check can be forgotten. One record holds the Response object and the
whole conversation up to it as chat messages (the instructions excluded, as
they are not inherited), so a continuation reads one key, not a chain
(docs/decisions/0015-responses-completions-embeddings.md).
"""

from __future__ import annotations

import orjson
from django.conf import settings

from accounts.principals import Principal
from chat.proxy.errors import ProxyError
from gateway_project.shared_state import StateUnavailable, store


def _key(principal: Principal, response_id: str) -> str:
    return f"gw:resp:{principal.user_id}:{response_id}"


def _unavailable() -> ProxyError:
    return ProxyError(503, "Stored responses cannot be reached right now; retry shortly, or send store: false "
                      "with the whole history.", code="store_unavailable", headers={"retry-after": "1"})


async def save(principal: Principal, response: dict, history: list[dict]) -> None:
    fields = {"response": orjson.dumps(response).decode(), "history": orjson.dumps(history).decode()}
    try:
        await store().update_hash(_key(principal, response["id"]), fields, settings.GATEWAY.responses_ttl_s)
    except StateUnavailable:
        raise _unavailable() from None


async def load(principal: Principal, response_id: str) -> tuple[dict, list[dict]] | None:
    """The stored (response, history) of ``principal``'s ``response_id``; None when unknown, expired or another's."""
    if not isinstance(response_id, str) or not response_id.startswith("resp_") or len(response_id) > 100:
        return None
    try:
        found = (await store().get_hashes([_key(principal, response_id)]))[0]
    except StateUnavailable:
        raise _unavailable() from None
    if "response" not in found:
        return None
    return orjson.loads(found["response"]), orjson.loads(found.get("history") or "[]")
