"""Known free-tier limits of upstream accounts, and the capacity reserved before each attempt.

OpenRouter limits free models per account: ``OPENROUTER_FREE_RPM`` requests a
minute and ``OPENROUTER_FREE_RPD`` a day (1000 a day once the account bought
credits). The limit of an account is known before its first 429, best source
first: the key's own override (``UpstreamKey.free_rpm``/``free_rpd``, set in the
console or the REST API), what the upstream's ``X-RateLimit-*`` headers said
(``lim_m``/``lim_d`` in the account's health, written by ``pool``), what
``GET /key`` said when the key joined the pool (``rpm``/``tier``, written by
``refresh_key_info`` in the background), then the configured default.

``reserve`` takes one slot of the account's minute and day windows in the shared
store before a request is sent (one ``state.check`` call: one Lua script in
Redis, so concurrent requests of every process never take more than the limit;
in-flight requests hold their slot). A window starts with its first request and
lasts a little longer than the upstream's (``WINDOW_GUARD_S``), so it never
reopens before the upstream's has. See docs/decisions/0018-known-limits.md.
"""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
from django.conf import settings

from chat.proxy import pool, upstream
from chat.proxy.pool import Credential
from gateway_project.shared_state import CheckResult, Counter, StateUnavailable, store
from models_catalog.selectors import ModelInfo

log = logging.getLogger(__name__)
PAID_ACCOUNT_RPD = 1000  # OpenRouter's daily free-model limit once an account bought credits
WINDOW_GUARD_S = 1  # our window outlasts the upstream's, which starts when our request arrives there
MINUTE_S = 60
DAY_S = 86400
KEY_INFO_TIMEOUT_S = 10.0
STARTUP_WAIT_S = 5.0


def _positive(value: object) -> int | None:
    try:
        number = int(float(str(value)))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def known_limits(cred: Credential, health: pool.Health) -> tuple[int, int]:
    """(requests a minute, requests a day) of ``cred``'s account for free models; 0 means no known limit."""
    cfg = settings.GATEWAY
    fields = health.fields
    rpm = cred.free_rpm or _positive(fields.get("lim_m")) or _positive(fields.get("rpm")) or cfg.openrouter_free_rpm
    daily_default = max(PAID_ACCOUNT_RPD, cfg.openrouter_free_rpd) if fields.get("tier") == "paid" \
        else cfg.openrouter_free_rpd
    rpd = cred.free_rpd or _positive(fields.get("lim_d")) or daily_default
    return rpm, rpd


def applies(model: ModelInfo, cred: Credential) -> bool:
    """The free-tier limits are reserved for OpenRouter's free models on the server pool's keys. A user's own key
    (BYOK) is not: the gateway never asked its ``GET /key``, and an account that bought credits may send far more
    than the free default; its 429s are learned as before."""
    return model.provider.kind == "openrouter" and cred.source == "pool" and (
        model.free or model.model_id.endswith(":free"))


def _window_key(account: str, window: str) -> str:
    return f"gw:cap:{account}:{window}"


def counters(model: ModelInfo, cred: Credential, health: pool.Health) -> list[Counter]:
    """The windows one request on ``cred`` for ``model`` takes a slot of; none when no known limit applies."""
    if not applies(model, cred):
        return []
    rpm, rpd = known_limits(cred, health)
    windows: list[Counter] = []
    if rpm:
        windows.append(Counter(_window_key(cred.account, "m"), rpm, MINUTE_S + WINDOW_GUARD_S, 1))
    if rpd:
        windows.append(Counter(_window_key(cred.account, "d"), rpd, DAY_S + WINDOW_GUARD_S, 1))
    return windows


def verdict(windows: list[Counter], result: CheckResult | None) -> pool.Block | None:
    """The ``Block`` (until when) when the check of ``windows`` found one spent; None when a slot was taken (or the
    store could not say: ``result`` None)."""
    if result is None or result.ok:
        return None
    # A TTL is whole seconds rounded down: one more second makes the reopening never early.
    until = time.time() + max(result.ttls[result.failed], 0) + 1
    daily = windows[result.failed].ttl > MINUTE_S + WINDOW_GUARD_S
    return pool.Block(pool.DAILY_QUOTA if daily else "account_rate_limited", until)


async def reserve(model: ModelInfo, cred: Credential, health: pool.Health) -> pool.Block | None:
    """Take one request of the account's known capacity; return the ``Block`` (until when) when it is spent.

    Nothing is sent upstream without a slot, so a known limit never refuses a request upstream.
    """
    windows = counters(model, cred, health)
    if not windows:
        return None
    try:
        result = await store().check(windows)
    except StateUnavailable:
        log.warning("routing state unreachable; sending without reserving account %s's capacity", cred.account)
        return None
    return verdict(windows, result)


async def release(windows: list[Counter]) -> None:
    """Give back the slot a request took and never used (it was refused or answered before it was sent)."""
    try:
        await store().add([(c.key, -c.cost, c.ttl) for c in windows])
    except StateUnavailable:
        log.warning("routing state unreachable; an unused capacity slot is kept until its window ends")


# ---------------------------------------------------------------- GET /key, in the background


_refreshed: set[str] = set()  # key ids this process asked GET /key about
_tasks: set[asyncio.Task] = set()


def refresh_in_background(creds: list[Credential]) -> list[asyncio.Task]:
    """Ask ``GET /key`` about each pool key this process has not asked yet, off the request's path."""
    fresh = [c for c in creds if c.source == "pool" and c.key_id not in _refreshed]
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return []
    started = []
    for cred in fresh:
        _refreshed.add(cred.key_id)
        task = loop.create_task(refresh_key_info(cred))
        _tasks.add(task)
        task.add_done_callback(_tasks.discard)
        started.append(task)
    return started


async def refresh_at_startup() -> None:
    """When the pool starts: load it (which asks ``GET /key`` about its keys) and give the answers a few
    seconds, so the first requests already route on them. Never raises."""
    try:
        await asyncio.wait_for(pool.server_pool(), STARTUP_WAIT_S)
        pending = list(_tasks)
        if pending:
            await asyncio.wait(pending, timeout=STARTUP_WAIT_S)
    except Exception as exc:  # the database or the upstream may be down at start; requests refresh later
        log.warning("could not read the upstream pool's limits at start: %s: %s", type(exc).__name__, exc)


async def refresh_key_info(cred: Credential) -> None:
    """Write what ``GET /key`` says of the key's account (its tier and, when stated, its per-minute limit)."""
    url = settings.GATEWAY.openrouter_base_url + "/key"
    response = None
    try:
        async with asyncio.timeout(KEY_INFO_TIMEOUT_S):
            response = await upstream.request("GET", url, headers={"Authorization": f"Bearer {cred.secret}"})
            raw = await response.read()
        if response.status != 200:
            log.info("GET /key answered %s for key %s", response.status, cred.masked)
            return
        data = orjson.loads(raw).get("data") or {}
    except (OSError, ValueError, AttributeError) as exc:  # unreachable or late (TimeoutError), not JSON, not an object
        log.info("GET /key failed for key %s: %s", cred.masked, type(exc).__name__)
        return
    finally:
        if response is not None:
            response.close()
    if not isinstance(data, dict):
        return
    fields = {"tier": "free" if data.get("is_free_tier", True) else "paid"}
    rate = data.get("rate_limit") if isinstance(data.get("rate_limit"), dict) else {}
    requests = _positive(rate.get("requests"))
    if requests and str(rate.get("interval", "")).strip() in ("1m", "60s"):
        fields["rpm"] = str(requests)
    await pool.note_account(cred.account, fields)
