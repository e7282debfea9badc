"""Model health: live figures per model from recent traffic, shared by every gateway process.

The router calls ``record`` once per upstream attempt. Each model has one hash
in the shared store (Redis, or process memory when ``REDIS_URL`` is unset; the
same ``store()`` the routing state uses): a ring of the last ``WINDOW``
samples (``time|ok|latency ms|ttft ms|status``), the last rate limit and when
it lifts, and when tools last worked or were refused. ``aread`` turns that into
success rate, p50 latency and p50 time to first token. Health is advisory: a
store that cannot be reached never fails a request.
"""

from __future__ import annotations

import logging
import statistics
import time
from dataclasses import dataclass

from asgiref.sync import async_to_sync

from gateway_project.shared_state import StateUnavailable, store

log = logging.getLogger(__name__)
# Upstream answers that are the request's own fault: they go straight back, never fall back, and never count
# against a key or a model (here and in chat/proxy/attempt.py).
CLIENT_ERRORS = frozenset({400, 413, 422})
WINDOW = 100  # samples kept per model
TTL = 7 * 86400


def _key(model_id: str) -> str:
    return f"gw:mh:{model_id}"


def record(*, attempt: dict, stream: bool, tools: bool, until: float | None = None) -> None:
    """Note one attempt (``Attempt.as_log()`` of the router) in its model's health; never waits, never raises."""
    model_id, status, reason = attempt["model"], attempt["status"], attempt["reason"]
    now = time.time()
    ok = status == 200 and reason == "ok"
    fields: dict[str, str] = {}
    if status not in CLIENT_ERRORS:  # the request's fault, not the model's: not counted in the success rate
        ttft = attempt["latencyMs"] if ok and stream else ""
        fields["sample"] = f"{now:.3f}|{int(ok)}|{attempt['latencyMs']}|{ttft}|{status or ''}"
    if status == 429:
        fields.update(rl_at=f"{now:.3f}", rl_until=f"{until or now:.3f}", rl_reason=reason)
    if tools and ok:
        fields["tools_ok_at"] = f"{now:.3f}"
    elif tools and status in CLIENT_ERRORS:
        fields["tools_refused_at"] = f"{now:.3f}"
    if not fields:
        return
    sample = fields.pop("sample", "")
    store().ring_record(_key(model_id), window=WINDOW, sample=sample, fields=fields, ttl=TTL)


@dataclass(frozen=True)
class ModelHealth:
    """What recent traffic says about one model."""

    samples: int
    success_rate: float | None
    p50_latency_ms: int | None
    p50_ttft_ms: int | None
    last_rate_limited_at: float | None
    rate_limited_until: float | None
    tools_observed: bool | None  # True: a request with tools succeeded last; False: one was refused last

    @property
    def rate_limited(self) -> bool:
        return self.rate_limited_until is not None and self.rate_limited_until > time.time()

    def as_dict(self) -> dict:
        """The camelCase shape of the admin API."""
        return {
            "samples": self.samples,
            "successRate": self.success_rate,
            "p50LatencyMs": self.p50_latency_ms,
            "p50TtftMs": self.p50_ttft_ms,
            "lastRateLimitedAt": self.last_rate_limited_at,
            "rateLimitedUntil": self.rate_limited_until,
            "rateLimited": self.rate_limited,
            "toolsObserved": self.tools_observed,
        }


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _median(values: list[int]) -> int | None:
    return int(statistics.median(values)) if values else None


def _parse(fields: dict[str, str], since: float = 0.0) -> ModelHealth:
    oks, latencies, ttfts = [], [], []
    for name, value in fields.items():
        if not (name.startswith("s") and name[1:].isdigit()):
            continue
        parts = value.split("|")
        if len(parts) != 5 or (since and (_float(parts[0]) or 0.0) < since):
            continue
        oks.append(parts[1] == "1")
        if parts[1] == "1":
            latencies.append(int(parts[2]))
            if parts[3]:
                ttfts.append(int(parts[3]))
    tools_ok, tools_refused = _float(fields.get("tools_ok_at")), _float(fields.get("tools_refused_at"))
    tools = None
    if tools_ok or tools_refused:
        tools = (tools_ok or 0) >= (tools_refused or 0)
    return ModelHealth(
        samples=len(oks),
        success_rate=round(sum(oks) / len(oks), 4) if oks else None,
        p50_latency_ms=_median(latencies),
        p50_ttft_ms=_median(ttfts),
        last_rate_limited_at=_float(fields.get("rl_at")),
        rate_limited_until=_float(fields.get("rl_until")),
        tools_observed=tools,
    )


async def aread(model_ids: list[str], *, since: float = 0.0) -> dict[str, ModelHealth]:
    """Return each model's health (no traffic yet: zero samples and None figures); ``since``: only the samples
    taken from that epoch time on."""
    unique = list(dict.fromkeys(model_ids))
    try:
        raw = await store().get_hashes([_key(m) for m in unique])
    except StateUnavailable:
        log.warning("model health store unreachable; reporting no figures")
        raw = [{} for _ in unique]
    return {m: _parse(h, since) for m, h in zip(unique, raw, strict=True)}


def read(model_ids: list[str]) -> dict[str, ModelHealth]:
    """See aread()."""
    return async_to_sync(aread)(model_ids)
