"""Strategies: the order in which a route's models are tried, from what the gateway measures.

An alias or preset names one (``models_catalog.models.Strategy``); a request
that names a fallback list (``models``) may ask for one with OpenRouter's
``provider.sort``. ``ordered`` keeps the route's order, ``cheapest`` sorts by
the catalog's prices (which the sync takes from the upstream), ``fastest`` by
recent p50 time to first token (untried models go after the measured ones, and
one of them is explored first now and then), ``most-available`` by the requests
left across the accounts that can serve each model. Whatever the strategy, a
model whose recent success rate has collapsed goes last. The exchange calls
``order`` once, at admission, before ``router.open_upstream`` walks the result.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal

from accounts.principals import Principal
from chat.proxy import pool
from models_catalog.health_selectors import arouting_health, collapsed, speed_ms
from models_catalog.models import Strategy
from models_catalog.selectors import Snapshot

EXPLORE_RATE = 0.1  # how often ``fastest`` tries an untried model first
SORTS = {"price": Strategy.CHEAPEST, "latency": Strategy.FASTEST, "throughput": Strategy.MOST_AVAILABLE}
_random = random.Random()


def requested(route_strategy: str, body: dict) -> str:
    """The strategy for this request: ``provider.sort`` when the body names a fallback list, else the route's."""
    provider = body.get("provider")
    if body.get("models") and isinstance(provider, dict) and provider.get("sort") in SORTS:
        return SORTS[provider["sort"]].value
    return route_strategy or Strategy.ORDERED.value


async def order(model_ids: tuple[str, ...], *, strategy: str, snapshot: Snapshot,
                principal: Principal) -> tuple[str, ...]:
    """Return ``model_ids`` in the order to try them."""
    if len(model_ids) < 2:
        return model_ids
    health = await arouting_health(list(model_ids))
    ids = list(model_ids)
    if strategy == Strategy.CHEAPEST:
        ids.sort(key=lambda m: _price(snapshot, m))
    elif strategy == Strategy.FASTEST:
        ids = _fastest(ids, {m: speed_ms(health[m]) for m in ids})
    elif strategy == Strategy.MOST_AVAILABLE:
        capacity = await _capacity(ids, snapshot, principal)
        ids.sort(key=lambda m: -capacity[m])
    ids.sort(key=lambda m: collapsed(health[m]))  # stable: the collapsed go last, in their order
    return tuple(ids)


def _price(snapshot: Snapshot, model_id: str) -> Decimal:
    model = snapshot.models.get(model_id)
    if model is None:
        return Decimal("Infinity")
    return model.prompt_price + model.completion_price


def _fastest(ids: list[str], speeds: dict[str, int | None]) -> list[str]:
    measured = sorted((m for m in ids if speeds[m] is not None), key=lambda m: speeds[m])
    untried = [m for m in ids if speeds[m] is None]
    if untried and measured and _random.random() < EXPLORE_RATE:
        return [untried[0], *measured, *untried[1:]]
    return measured + untried


async def _capacity(ids: list[str], snapshot: Snapshot, principal: Principal) -> dict[str, float]:
    """Requests left for each model across the accounts of its usable keys (unknown counts as plenty)."""
    from chat.proxy.router import credentials_for

    creds = {m: await credentials_for(snapshot.models[m], principal) if m in snapshot.models else [] for m in ids}
    health = await pool.read_health([c.account for found in creds.values() for c in found])
    now = time.time()
    usable = {m: {c.account for c in creds[m] if health[c.account].blocked(c, m, now) is None} for m in ids}
    return {m: sum(min(health[a].capacity(now), 1e6) for a in usable[m]) for m in ids}
