"""Admission: requests and tokens per minute (per key and per user) and daily usage per model.

Each admission is one ``state.check`` call: one Lua script in Redis, so several
gateway processes together admit no more than the limit. Tokens are only known
after the answer, so token counters are checked at admission (already at the
limit means refused) and charged at settlement.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from django.conf import settings

from accounts.principals import Principal
from chat.proxy import clock
from chat.proxy.errors import ProxyError
from gateway_project.shared_state import CheckResult, Counter, StateUnavailable, store

log = logging.getLogger(__name__)
DAY = 86400


@dataclass
class Admission:
    headers: dict[str, str] = field(default_factory=dict)
    token_keys: list[tuple[str, int]] = field(default_factory=list)  # (counter key, ttl) to charge tokens to
    degraded: bool = False
    then: CheckResult | None = None  # the outcome of the counters checked along (admit(..., then=...)) once admitted


def _reset_duration(seconds: int) -> str:
    seconds = max(int(seconds), 0)
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60}s"
    return f"{seconds}s"


def _seconds_to_midnight(now: float) -> int:
    return int(DAY - (now % DAY)) or DAY


def _counters(principal: Principal, model_id: str, daily: tuple[int | None, int | None]) -> tuple[list[Counter], list[str]]:
    cfg = settings.GATEWAY
    now = clock.now()
    minute = int(now // 60)
    ttl_minute = 60 - int(now % 60)
    counters: list[Counter] = []
    labels: list[str] = []
    scopes = [(f"u{principal.user_id}", principal.user_rpm or cfg.default_rpm, principal.user_tpm or cfg.default_tpm)]
    if principal.key_id is not None:
        scopes.insert(0, (f"k{principal.key_id}", principal.key_rpm or cfg.default_rpm, principal.key_tpm or cfg.default_tpm))
    for scope, rpm, tpm in scopes:
        counters.append(Counter(f"gw:rl:{scope}:r:{minute}", rpm, ttl_minute, 1))
        labels.append("rpm")
        counters.append(Counter(f"gw:rl:{scope}:t:{minute}", tpm, ttl_minute, 0))
        labels.append("tpm")
    max_requests, max_tokens = daily
    day = int(now // DAY)
    ttl_day = _seconds_to_midnight(now)
    # The account's own daily quota on the server pool (self-registered accounts start with one);
    # with their own key (BYOK) the user pays upstream, as in accounting.reserve.
    if principal.user_daily_requests is not None and principal.byok_encrypted is None:
        counters.append(Counter(f"gw:up:{principal.user_id}:r:{day}", principal.user_daily_requests, ttl_day, 1))
        labels.append("daily_pool_requests")
    if max_requests is not None:
        counters.append(Counter(f"gw:ud:{principal.user_id}:{model_id}:r:{day}", max_requests, ttl_day, 1))
        labels.append("daily_requests")
    if max_tokens is not None:
        counters.append(Counter(f"gw:ud:{principal.user_id}:{model_id}:t:{day}", max_tokens, ttl_day, 0))
        labels.append("daily_tokens")
    return counters, labels


def _until_reset(label: str) -> int:
    """Whole seconds until the refusing counter's window ends, rounded up: a Retry-After is never early.

    The windows are clock buckets (the minute, the UTC day), so the end is known exactly.
    """
    now = clock.now()
    left = DAY - (now % DAY) if label.startswith("daily") else 60 - (now % 60)
    return max(math.ceil(left), 1)


def _described(labels: list[str], failed: int) -> tuple[int, int]:
    """Which counters the request and token headers describe: the first scope's, or the refusing one's."""
    if failed < 0:
        return 0, 1
    if labels[failed] in ("rpm", "tpm"):  # the per-minute pairs come first, one (rpm, tpm) pair per scope
        first = failed - failed % 2
        return first, first + 1
    return (0, failed) if labels[failed] == "daily_tokens" else (failed, 1)


async def admit(principal: Principal, model_id: str, daily: tuple[int | None, int | None],
                then: list[Counter] = ()) -> Admission:
    """Count one request against every limit, or raise 429 naming the limit that is spent.

    ``then`` (the first upstream account's capacity windows, chat.proxy.capacity) is checked in the same
    atomic step once the request is admitted, so both cost one round trip; its outcome is ``Admission.then``.
    """
    counters, labels = _counters(principal, model_id, daily)
    try:
        result = await store().check(counters, then)
    except StateUnavailable:
        if settings.GATEWAY.redis_failure_mode == "closed":
            log.error("rate-limit store unreachable; refusing requests (REDIS_FAILURE_MODE=closed)")
            raise ProxyError(503, "The gateway's rate-limit store is unavailable; try again shortly.",
                             code="limits_unavailable") from None
        log.warning("rate-limit store unreachable; admitting without limits (REDIS_FAILURE_MODE=open)")
        return Admission(degraded=True)
    # OpenAI's limit headers describe the tightest scope: the key's when there is one, and the limit that
    # refused when one did (the user's, when the user's is spent).
    req, tok = _described(labels, result.failed if not result.ok else -1)
    headers = {
        "x-ratelimit-limit-requests": str(counters[req].limit),
        "x-ratelimit-remaining-requests": str(max(counters[req].limit - result.values[req], 0)),
        "x-ratelimit-reset-requests": _reset_duration(result.ttls[req]),
        "x-ratelimit-limit-tokens": str(counters[tok].limit),
        "x-ratelimit-remaining-tokens": str(max(counters[tok].limit - result.values[tok], 0)),
        "x-ratelimit-reset-tokens": _reset_duration(result.ttls[tok]),
    }
    if not result.ok:
        label = labels[result.failed]
        wait = _until_reset(label)
        if label.startswith("daily"):
            what = "tokens" if label == "daily_tokens" else "requests"
            scope = "through the server pool" if label == "daily_pool_requests" else f"for {model_id}"
            limit = counters[result.failed].limit
            headers.update({"x-should-retry": "false", "retry-after": str(wait)})
            raise ProxyError(
                429,
                f"Daily limit of {limit} {what} {scope} reached; it resets at 00:00 UTC (in {wait} s).",
                code="daily_limit_exceeded",
                headers=headers,
            )
        headers["retry-after"] = str(wait)
        what = "requests" if label == "rpm" else "tokens"
        raise ProxyError(
            429,
            f"Rate limit of {counters[result.failed].limit} {what} per minute reached; retry in {wait} s.",
            code="rate_limit_exceeded",
            headers=headers,
        )
    token_keys = [(c.key, c.ttl) for c, label in zip(counters, labels, strict=True) if label in ("tpm", "daily_tokens")]
    return Admission(headers=headers, token_keys=token_keys, then=result.then)


async def charge_tokens(admission: Admission, tokens: int) -> None:
    """Add the tokens a request used to its per-minute and daily token counters."""
    if tokens <= 0 or not admission.token_keys:
        return
    try:
        await store().charge([(key, tokens, ttl) for key, ttl in admission.token_keys])
    except StateUnavailable:
        log.warning("could not record %s tokens: rate-limit store unreachable", tokens)
