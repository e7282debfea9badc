"""Routing: which model on which upstream key, in what order, and what to do when one fails.

``open_upstream`` walks the route (each model, on each usable key, best
capacity first) as a small state machine: state says a key is spent or open
(skip it), else one ``attempt`` is sent and its ``Verdict`` decides the next
step: served (return it), the request's own fault (straight back), a refused
key or a failure (the next key or model, never the same pair again), a rate
limit (elsewhere, or wait until it lifts), a gone model (the next model). When
a round ends with nothing, it waits for the earliest window to reopen and tries
again, all inside one deadline per request. Failures are blamed only once the
request was served elsewhere (docs/decisions/0013-a-failure-blame.md). Nothing
here has sent a byte to the client: fallback happens only before the first byte.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings

from accounts.principals import Principal
from chat.proxy import byok, capacity, pool
from chat.proxy.attempt import Attempt, Blame, Opened, Result, Verdict, attempt, sent_count
from chat.proxy.errors import ProxyError
from chat.proxy.pool import Credential
from chat.proxy.upstream_call import CHAT, UpstreamCall
from models_catalog import health as model_health
from models_catalog.selectors import ModelInfo, Snapshot

log = logging.getLogger(__name__)
MAX_INLINE_WAIT_S = 15.0  # longest wait for a window to reopen inside one request

__all__ = ["Attempt", "Opened", "Plan", "Reserved", "credentials_for", "open_upstream", "plan"]


async def credentials_for(model: ModelInfo, principal: Principal) -> list[Credential]:
    """Keys to try for ``model``: the user's own first, then the server pool (OpenRouter),
    or the provider's own key (other providers)."""
    from accounts import crypto

    if model.provider.kind == "openrouter":
        creds: list[Credential] = []
        if principal.byok_encrypted:
            try:
                secret = crypto.decrypt(principal.byok_encrypted)
                creds.append(pool.credential(secret, source="byok", account=f"byok-{principal.user_id}"))
            except crypto.DecryptionError:
                log.error("user %s's own key does not decrypt; using the pool", principal.user_id)
        return creds + await pool.server_pool()
    secret = ""
    if model.provider.api_key_encrypted:
        secret = crypto.decrypt(model.provider.api_key_encrypted)
    return [pool.credential(secret or f"provider:{model.provider.slug}", source="provider",
                            account=f"provider-{model.provider.slug}")]


def _is_context_length(message: str) -> bool:
    """A prompt too long for the model fails the same on every key: the request's fault, whatever the status."""
    lowered = message.lower()
    return "context length" in lowered or "context_length" in lowered or "maximum context" in lowered


async def _model_gone(model: ModelInfo) -> None:
    from models_catalog.services import model_mark_gone

    try:
        await sync_to_async(model_mark_gone, thread_sensitive=False)(model_id=model.model_id)
    except Exception:
        log.exception("could not disable %s after its 404", model.model_id)


@dataclass
class _Walk:
    """The state of one request's walk through its route."""

    attempts: list[Attempt]
    failed: set[tuple[str, str]] = field(default_factory=set)  # (key, model) pairs not sent this request again
    suspects: list[tuple[Credential, str, Blame]] = field(default_factory=list)  # blamed once served elsewhere
    gone: set[str] = field(default_factory=set)
    last_error: ProxyError | None = None
    earliest: float | None = None  # when the first window of this round reopens
    only_daily: bool = True  # every refusal so far was a spent daily quota
    limited: bool = False  # a rate limit or quota refused or skipped something

    def wait_until(self, until: float) -> None:
        self.earliest = until if self.earliest is None else min(self.earliest, until)

    def skip(self, model: ModelInfo, cred: Credential, block: pool.Block, first_round: bool) -> None:
        if first_round:
            self.attempts.append(Attempt(model.model_id, cred.masked, cred.account, None, 0,
                                         f"skipped: {block.reason}", sent=False))
        self.limited = self.limited or block.rate_limit
        if not block.daily:
            self.only_daily = False
            self.wait_until(block.until)

    def exhausted(self) -> ProxyError:
        """The error for a walk that found nothing to relay."""
        if self.limited and (self.last_error is None or self.last_error.status == 429):
            if self.only_daily:
                return ProxyError(429, "Every upstream account has used its daily quota for these models; "
                                  "try again after the quota resets.", code="upstream_quota_exhausted",
                                  headers={"x-should-retry": "false"})
            wait = max(int((self.earliest or time.time() + 60) - time.time()) + 1, 1)
            return ProxyError(429, f"Every upstream account is rate limited for these models; retry in {wait} s.",
                              code="upstream_rate_limited", headers={"retry-after": str(wait)})
        if self.last_error is not None:
            return self.last_error
        return ProxyError(503, "No upstream could serve this request.", code="upstream_unavailable")


@dataclass
class Plan:
    """What a request's walk starts from: the enabled models of its route, each one's keys, and what the shared
    state said of their accounts (read once, at admission, and used for the walk's first round)."""

    models: list[ModelInfo]
    creds_by_model: dict[str, list[Credential]]
    health: dict[str, pool.Health]

    @property
    def accounts(self) -> list[str]:
        return [c.account for creds in self.creds_by_model.values() for c in creds]

    def first(self) -> tuple[ModelInfo, Credential] | None:
        """The (model, key) the walk sends to first, as the health read says; None when it would not send at once."""
        now = time.time()
        for model in self.models:
            for cred in _ordered(self.creds_by_model[model.model_id], self.health, now):
                block = self.health[cred.account].blocked(cred, model.model_id, now)
                if block is None:
                    return model, cred
                if byok.blocked(cred, block):
                    return None
        return None


@dataclass
class Reserved:
    """The capacity slot admission took for the walk's first (model, key) (``Plan.first``): ``block`` says the
    account's window was spent instead. The walk ``used`` it, or the request's settlement gives it back."""

    model_id: str
    key_id: str
    windows: list
    block: pool.Block | None
    used: bool = False


async def plan(*, principal: Principal, snapshot: Snapshot, model_ids: tuple[str, ...]) -> Plan:
    """The walk's starting point for ``model_ids`` (in the order the route's strategy chose)."""
    models = [snapshot.models[m] for m in model_ids if m in snapshot.models and snapshot.models[m].enabled]
    creds_by_model = {m.model_id: await credentials_for(m, principal) for m in models}
    accounts = [c.account for creds in creds_by_model.values() for c in creds]
    return Plan(models, creds_by_model, await pool.read_health(accounts) if accounts else {})


def _ordered(creds: list[Credential], health: dict[str, pool.Health], now: float) -> list[Credential]:
    """Most capacity first; the user's own key keeps its place in front."""
    return sorted(creds, key=lambda c: (c.source != "byok", -health[c.account].capacity(now)))


async def open_upstream(
    *,
    plan: Plan,
    model_ids: tuple[str, ...],
    body: dict,
    stream: bool,
    attempts: list[Attempt],
    deadline: float,
    call: UpstreamCall = CHAT,
    reserved: Reserved | None = None,
) -> Opened:
    """Return the first good upstream answer, or raise the ProxyError the client should see.

    Every attempt, sent or skipped, is appended to ``attempts``.
    """
    cfg = settings.GATEWAY
    models = plan.models
    if not models:
        raise ProxyError(404, f"Model {model_ids[0]!r} is not available on this gateway.", code="model_not_found",
                         param="model")
    creds_by_model = plan.creds_by_model
    if not any(creds_by_model.values()):
        raise ProxyError(503, "No upstream key is configured: add your own key in Settings, or ask an admin to "
                         "add one to the pool.", code="no_upstream_key")
    accounts = plan.accounts
    walk = _Walk(attempts)
    round_no = 0
    health = plan.health
    while True:
        if round_no:
            health = await pool.read_health(accounts)
        now = time.time()
        walk.earliest, walk.only_daily = None, True
        for model in models:
            if model.model_id in walk.gone:
                continue
            for cred in _ordered(creds_by_model[model.model_id], health, now):
                block = health[cred.account].blocked(cred, model.model_id, now)
                if block is not None and (own_key_error := byok.blocked(cred, block)):
                    raise own_key_error
                if block is not None:
                    walk.skip(model, cred, block, first_round=round_no == 0)
                    continue
                if (cred.key_id, model.model_id) in walk.failed:
                    continue
                if sent_count(attempts) >= cfg.max_attempts:
                    break
                if reserved is not None and not reserved.used and (reserved.model_id, reserved.key_id) == (
                        model.model_id, cred.key_id):
                    reserved.used = True  # admission already checked this account's known limit
                    block = reserved.block
                else:
                    block = await capacity.reserve(model, cred, health[cred.account])  # the account's known limit
                if block is not None:
                    walk.skip(model, cred, block, first_round=round_no == 0)
                    continue
                result = await attempt(model, cred, body, stream, deadline, health[cred.account], call)
                attempts.append(result.record)
                model_health.record(attempt=result.record.as_log(), stream=stream,
                                    tools=bool(body.get("tools")), until=result.until)
                if result.verdict is Verdict.SERVED:
                    await _blame(walk.suspects)
                    return result.opened
                if result.verdict is Verdict.REQUEST_REFUSED:
                    raise result.error
                if result.verdict is Verdict.KEY_REFUSED and cred.source == "byok":  # never the pool silently
                    raise byok.refused(cred, result.record.status or 401)
                _after_refusal(walk, result, model, cred)
                if result.verdict is Verdict.MODEL_GONE:
                    await _model_gone(model)
                    break
                if result.verdict is Verdict.DAILY_QUOTA:
                    health[cred.account] = pool.Health.spent_for_the_day(result.until)
                elif result.verdict is Verdict.RATE_LIMITED:
                    health[cred.account] = await _refresh(cred.account)
        round_no += 1
        if sent_count(attempts) >= cfg.max_attempts or walk.earliest is None:
            break
        wait = max(walk.earliest - time.time(), 0.05) + random.uniform(0, 0.1)
        if wait > min(deadline - time.monotonic(), MAX_INLINE_WAIT_S):
            break
        await asyncio.sleep(wait)
    raise walk.exhausted()


def _after_refusal(walk: _Walk, result: Result, model: ModelInfo, cred: Credential) -> None:
    """Update the walk after an attempt that did not serve and did not end the request."""
    log.info("upstream attempt did not serve: model %s, account %s, %s", model.model_id, cred.account,
             result.record.reason)
    walk.last_error = result.error
    if result.verdict is not Verdict.DAILY_QUOTA:
        walk.only_daily = False
    if result.verdict in (Verdict.RATE_LIMITED, Verdict.DAILY_QUOTA):
        walk.limited = True
    if result.verdict is Verdict.RATE_LIMITED:
        walk.wait_until(result.until)
    elif result.verdict is Verdict.MODEL_GONE:
        walk.gone.add(model.model_id)
    elif result.verdict in (Verdict.FAILED, Verdict.KEY_REFUSED):
        walk.failed.add((cred.key_id, model.model_id))
    if result.blame is not None:
        walk.suspects.append((cred, model.model_id, result.blame))


async def _blame(suspects: list[tuple[Credential, str, Blame]]) -> None:
    """The request was served, so what failed before was not the request's fault: count it, once per request."""
    for cred, model_id, blame in dict.fromkeys(suspects):
        if blame is Blame.KEY:
            await pool.note_key_failure(cred)
        else:
            await pool.note_model_failure(cred, model_id)


async def _refresh(account: str) -> pool.Health:
    return (await pool.read_health([account], fresh=True))[account]
