"""Reads of live model health for routing: recent figures per model, cached in process.

The router's strategies (``chat/proxy/strategies.py``) read these once per
request with several models; the figures are read from the shared store at most
once per ``ROUTING_HEALTH_TTL_S`` per process, so most requests pay no round
trip. Only samples of the last ``RECENT_S`` seconds count: a model whose recent
success rate has collapsed is routed last, and recovers its place once it
serves again or its failures age out.
"""

from __future__ import annotations

import time

from gateway_project import invalidation
from models_catalog import health as model_health
from models_catalog.health import ModelHealth

ROUTING_HEALTH_TTL_S = 1.0
RECENT_S = 300.0
COLLAPSE_MIN_SAMPLES = 4
COLLAPSE_SUCCESS_RATE = 0.5

_cache: dict[str, tuple[float, ModelHealth]] = {}


def invalidate_local() -> None:
    _cache.clear()


invalidation.register(invalidation.UPSTREAM_POOL, invalidate_local)


def collapsed(figures: ModelHealth) -> bool:
    """Whether recent traffic says the model mostly fails (enough samples, success rate under the threshold)."""
    return (figures.samples >= COLLAPSE_MIN_SAMPLES and figures.success_rate is not None
            and figures.success_rate < COLLAPSE_SUCCESS_RATE)


def speed_ms(figures: ModelHealth) -> int | None:
    """Recent p50 time to first token (streams), else p50 latency of whole answers; None when untried."""
    return figures.p50_ttft_ms if figures.p50_ttft_ms is not None else figures.p50_latency_ms


async def arouting_health(model_ids: list[str]) -> dict[str, ModelHealth]:
    """Each model's figures over the last ``RECENT_S`` seconds, cached for ``ROUTING_HEALTH_TTL_S``."""
    now = time.monotonic()
    missing = [m for m in dict.fromkeys(model_ids) if (hit := _cache.get(m)) is None or hit[0] <= now]
    if missing:
        fresh = await model_health.aread(missing, since=time.time() - RECENT_S)
        if len(_cache) > 10_000:
            _cache.clear()
        for model_id, figures in fresh.items():
            _cache[model_id] = (now + ROUTING_HEALTH_TTL_S, figures)
    return {m: _cache[m][1] for m in model_ids}
