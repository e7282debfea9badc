"""Upstream keys and what the gateway knows about their accounts.

Keys that share an upstream account share its limits, so health is kept per
account: which account is spent until when (per-minute and per-day free-tier
windows, from 429s and from ``X-RateLimit-*`` headers on every answer), which
model is rate-limited or failing on which account, and a circuit breaker per
key for keys that fail authentication or keep failing across requests. It
lives in the shared store, so every gateway process routes on the same facts.

Blame (docs/decisions/0013-a-failure-blame.md): a failure is counted against a
key or a model only once the same request was served elsewhere, so a request
the upstream always refuses never opens anything; a 5xx counts against the
model on that account, a timeout or broken connection against the key.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings

from gateway_project import invalidation
from gateway_project.shared_state import StateUnavailable, store
from gateway_project.singleflight import load_once

log = logging.getLogger(__name__)
ACCOUNT_TTL = 2 * 86400
BREAKER_THRESHOLD = 5  # consecutive failed requests (each counted once) that open a key's breaker
BREAKER_OPEN_S = 60.0
AUTH_BREAKER_OPEN_S = 600.0
MODEL_FAILURE_THRESHOLD = 3  # consecutive failed requests that take a model off one account
MODEL_FAILURE_OPEN_S = 30.0


@dataclass(frozen=True)
class Credential:
    """One upstream key, in memory only. ``repr`` never shows the secret."""

    secret: str
    key_id: str  # first 12 hex of the key's SHA-256: names it in state and logs
    account: str
    source: str  # byok, pool, provider
    free_rpm: int | None = None  # the key's own override of its account's known limits (chat.proxy.capacity)
    free_rpd: int | None = None

    def __repr__(self) -> str:
        return f"Credential({self.source}:{self.masked})"

    @property
    def masked(self) -> str:
        return f"…{self.secret[-4:]}" if len(self.secret) >= 8 else "…"


def credential(secret: str, *, source: str, account: str = "", free_rpm: int | None = None,
               free_rpd: int | None = None) -> Credential:
    key_id = hashlib.sha256(secret.encode()).hexdigest()[:12]
    return Credential(secret=secret, key_id=key_id, account=account or f"key-{key_id}", source=source,
                      free_rpm=free_rpm, free_rpd=free_rpd)


# ---------------------------------------------------------------- the server pool


def _load_pool() -> list[Credential]:
    from accounts import crypto
    from accounts.models import UpstreamKey

    creds: list[Credential] = []
    for raw in settings.GATEWAY.openrouter_api_keys:
        account, sep, secret = raw.partition("=")
        if not sep:
            account, secret = "", raw
        creds.append(credential(secret.strip(), source="pool", account=account.strip()))
    for record in UpstreamKey.objects.filter(enabled=True, provider="openrouter"):
        try:
            creds.append(credential(crypto.decrypt(record.encrypted), source="pool", account=record.account,
                                    free_rpm=record.free_rpm, free_rpd=record.free_rpd))
        except crypto.DecryptionError:
            log.error("upstream key %s does not decrypt under the configured master keys; skipped", record.id)
    seen: set[str] = set()
    return [c for c in creds if not (c.key_id in seen or seen.add(c.key_id))]


_pool: list[tuple[float, list[Credential]]] = []
POOL_TTL = 30.0


def invalidate_local() -> None:
    """Drop the pool and the account health read in this process (registered for ``invalidation.UPSTREAM_POOL``)."""
    _pool.clear()
    _health_cache.clear()


invalidation.register(invalidation.UPSTREAM_POOL, invalidate_local)


async def server_pool() -> list[Credential]:
    """The server's upstream keys (env and admin-added), cached for ``POOL_TTL`` seconds or until a change is announced."""
    if _pool and _pool[0][0] > time.monotonic():
        return _pool[0][1]
    load = sync_to_async(_load_pool, thread_sensitive=False)
    creds, keep = await invalidation.aload(invalidation.UPSTREAM_POOL, "server-pool", load)
    if keep:
        _pool[:] = [(time.monotonic() + POOL_TTL, creds)]
    from chat.proxy import capacity

    capacity.refresh_in_background(creds)  # GET /key for keys new to this process, off this request's path
    return creds


# ---------------------------------------------------------------- account health


def _key(account: str) -> str:
    return f"gw:acct:{account}"


DAILY_QUOTA = "account_daily_quota"
_RATE_LIMITS = {DAILY_QUOTA, "account_rate_limited", "model_rate_limited"}


@dataclass(frozen=True)
class Block:
    """Why a key must not be used for a model now, and until when."""

    reason: str  # circuit_open, account_daily_quota, account_rate_limited, model_rate_limited, model_failing
    until: float

    @property
    def rate_limit(self) -> bool:
        return self.reason in _RATE_LIMITS

    @property
    def daily(self) -> bool:
        return self.reason == DAILY_QUOTA


@dataclass(frozen=True)
class Health:
    """What the shared state says about one account, read once per request."""

    fields: dict[str, str]

    @classmethod
    def spent_for_the_day(cls, until: float) -> Health:
        """What an account is known to be right after its daily quota ran out (no need to read it back)."""
        return cls({"day_until": str(until)})

    def _f(self, name: str) -> float:
        try:
            return float(self.fields.get(name, "0"))
        except ValueError:
            return 0.0

    def blocked(self, cred: Credential, model: str, now: float) -> Block | None:
        """Return the block when ``cred`` must not be used for ``model`` now."""
        for reason, name in (("circuit_open", f"cb:{cred.key_id}"), (DAILY_QUOTA, "day_until"),
                             ("account_rate_limited", "until"), ("model_rate_limited", f"m:{model}"),
                             ("model_failing", f"md:{model}")):
            until = self._f(name)
            if until > now:
                return Block(reason, until)
        return None

    def capacity(self, now: float) -> float:
        """Requests left in the account's current window (unknown counts as plenty)."""
        if "rem" not in self.fields or self._f("reset") <= now:
            return 1e9
        return self._f("rem")


# What this process last read of each account, for GATEWAY_HEALTH_CACHE_TTL seconds: a Redis round trip
# less per request. Another process's change reaches this one within the TTL; this process's own
# changes drop its entry at once (see _forget), so it never routes on a stale view of its own writes.
_health_cache: dict[str, tuple[float, Health]] = {}


def _forget(account: str) -> None:
    _health_cache.pop(account, None)


async def read_health(accounts: list[str], *, fresh: bool = False) -> dict[str, Health]:
    unique = list(dict.fromkeys(accounts))
    ttl = settings.GATEWAY.health_cache_ttl_s
    now = time.monotonic()
    if ttl > 0 and not fresh:
        cached = [_health_cache.get(a) for a in unique]
        if all(hit is not None and hit[0] > now for hit in cached):
            return {a: hit[1] for a, hit in zip(unique, cached, strict=True)}
    keys = [_key(a) for a in unique]
    try:
        if ttl > 0 and not fresh:  # requests that miss together share one read
            raw = await load_once("health:" + ",".join(keys), lambda: store().get_hashes(keys))
        else:
            raw = await store().get_hashes(keys)
    except StateUnavailable:
        log.warning("routing state unreachable; routing without account health")
        return {a: Health({}) for a in unique}
    health = {a: Health(h) for a, h in zip(unique, raw, strict=True)}
    if ttl > 0:
        if len(_health_cache) > 10_000:
            _health_cache.clear()
        for account, value in health.items():
            _health_cache[account] = (now + ttl, value)
    return health


async def _update(account: str, fields: dict[str, str]) -> None:
    _forget(account)
    try:
        await store().update_hash(_key(account), fields, ACCOUNT_TTL)
    except StateUnavailable:
        log.warning("routing state unreachable; could not record account %s", account)


def _reset_epoch(value: str | None) -> float | None:
    """``X-RateLimit-Reset`` is epoch milliseconds at OpenRouter; accept seconds too."""
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number / 1000.0 if number > 1e11 else number


def _learned_limit(headers, reset: float) -> dict[str, str]:
    """The account's limit as ``X-RateLimit-Limit`` states it: the daily one when its window resets more than an
    hour away, else the per-minute one (chat.proxy.capacity reads them)."""
    try:
        limit = int(headers.get("X-RateLimit-Limit") or 0)
    except ValueError:
        return {}
    if limit <= 0:
        return {}
    return {"lim_d" if reset - time.time() > 3600 else "lim_m": str(limit)}


async def note_account(account: str, fields: dict[str, str]) -> None:
    """Record what is known of an account from outside a request (``GET /key``)."""
    await _update(account, fields)


async def note_success(cred: Credential, model: str, headers, known: Health | None = None) -> None:
    """Record the limit headers of a good answer, and reset the key's and the model's failure counts.

    ``known`` is the account's health as read for this request: when it shows no
    failures to reset and the answer carries no limit headers, there is nothing
    to write, and the Redis round trip is skipped.
    """
    counts = (f"cbf:{cred.key_id}", f"mf:{model}")
    fields = dict.fromkeys(counts, "0")
    remaining = headers.get("X-RateLimit-Remaining")
    reset = _reset_epoch(headers.get("X-RateLimit-Reset"))
    nothing_to_reset = known is not None and all(known.fields.get(name, "0") == "0" for name in counts)
    if (remaining is None or reset is None) and nothing_to_reset:
        return
    if remaining is not None and reset is not None:
        fields.update({"rem": remaining, "reset": str(reset), "lim": headers.get("X-RateLimit-Limit", "")})
        fields.update(_learned_limit(headers, reset))
        if remaining.strip() == "0":
            # A window that resets more than an hour away is the daily quota.
            fields["day_until" if reset - time.time() > 3600 else "until"] = str(reset)
    await _update(cred.account, fields)


async def note_rate_limited(cred: Credential, model: str, message: str, headers, retry_after: float | None) -> tuple[str, float]:
    """Record a 429 and return (scope, until): the account's window or the model's."""
    now = time.time()
    reset = _reset_epoch(headers.get("X-RateLimit-Reset"))
    if "per-day" in message:
        until = reset or now + 3600
        await _update(cred.account, {"day_until": str(until), "rem": "0", "reset": str(until),
                                     **_learned_limit(headers, until)})
        return DAILY_QUOTA, until
    if "per-min" in message or (reset and "Provider returned error" not in message):
        until = reset or now + 60
        await _update(cred.account, {"until": str(until), "rem": "0", "reset": str(until),
                                     **_learned_limit(headers, until)})
        return "account_rate_limited", until
    until = now + (retry_after if retry_after is not None else 10.0)
    await _update(cred.account, {f"m:{model}": str(until)})
    return "model_rate_limited", until


async def note_auth_failure(cred: Credential) -> None:
    """Open the key's breaker at once: the upstream refused the key itself (bad key, no credits)."""
    await _update(cred.account, {f"cb:{cred.key_id}": str(time.time() + AUTH_BREAKER_OPEN_S)})


async def note_key_failure(cred: Credential) -> None:
    """Count one request the key failed (and another key served); open its breaker after several in a row."""
    await _count(cred.account, f"cbf:{cred.key_id}", f"cb:{cred.key_id}", BREAKER_THRESHOLD, BREAKER_OPEN_S)


async def note_model_failure(cred: Credential, model: str) -> None:
    """Count one request ``model`` failed on the key's account (and was served elsewhere); after several in a
    row, route ``model`` away from that account for a while. The key stays usable for other models."""
    await _count(cred.account, f"mf:{model}", f"md:{model}", MODEL_FAILURE_THRESHOLD, MODEL_FAILURE_OPEN_S)


async def _count(account: str, count_field: str, until_field: str, threshold: int, open_s: float) -> None:
    _forget(account)
    try:
        count = await store().incr_hash(_key(account), count_field, 1, ACCOUNT_TTL)
    except StateUnavailable:
        return
    if count >= threshold:
        await _update(account, {until_field: str(time.time() + open_s), count_field: "0"})


def pool_report() -> list[dict]:
    """Each server-pool key, masked, with its account and what the shared state says of it now.

    Synchronous, for the admin's key-pool page; never returns a secret.
    """
    from asgiref.sync import async_to_sync

    creds = _load_pool()
    health = async_to_sync(read_health)([c.account for c in creds])
    now = time.time()
    report = []
    for cred in creds:
        state = health[cred.account]
        blocked = state.blocked(cred, "", now)
        report.append({
            "key": cred.masked,
            "account": cred.account,
            "state": blocked.reason if blocked else "ok",
            "until": blocked.until if blocked else None,
            "remaining": state.fields.get("rem") if state.capacity(now) < 1e9 else None,
            "limit": state.fields.get("lim") or None,
            "recentFailures": int(state.fields.get(f"cbf:{cred.key_id}", "0") or 0),
        })
    return report
