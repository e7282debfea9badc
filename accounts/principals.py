"""Who is calling /v1: the principal behind a gateway key or a JWT, cached in process.

The hot path never queries the database per request: a principal is looked up
once and kept for ``GATEWAY_AUTH_CACHE_TTL`` seconds. Every service (and the
Django admin) that changes a user or a key announces ``invalidation.PRINCIPALS``
after its transaction commits, which drops this cache in every gateway process.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from accounts.authentication import jwt_access_claims
from gateway_project import invalidation
from gateway_project.errors import ApiError


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    role: str
    key_id: int | None = None
    key_prefix: str = ""
    key_name: str = ""
    allowed_models: tuple[str, ...] = ()
    key_rpm: int | None = None
    key_tpm: int | None = None
    key_budget: Decimal | None = None
    key_budget_period: str = "monthly"
    key_expires_at: float | None = None
    key_cache_ttl: int | None = None  # seconds of the response cache for this key; None: GATEWAY_CACHE_TTL
    user_rpm: int | None = None
    user_tpm: int | None = None
    user_budget: Decimal | None = None
    user_budget_period: str = "monthly"
    user_daily_requests: int | None = None
    token_version: int = 0
    byok_encrypted: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def expired(self, now: float | None = None) -> bool:
        return self.key_expires_at is not None and (now or time.time()) >= self.key_expires_at


_cache: dict[str, tuple[float, Principal | None]] = {}


def _remember(cache_key: str, principal: Principal | None) -> None:
    ttl = settings.GATEWAY.auth_cache_ttl_s
    if len(_cache) > 50_000:
        _cache.clear()
    _cache[cache_key] = (time.monotonic() + ttl, principal)


def _cached(cache_key: str) -> tuple[bool, Principal | None]:
    hit = _cache.get(cache_key)
    if hit is None or hit[0] < time.monotonic():
        return False, None
    return True, hit[1]


def invalidate_local() -> None:
    """Drop every cached principal in this process (registered for ``invalidation.PRINCIPALS``).

    Changes to users and keys are rare next to requests, so dropping everything
    (negative entries included, so a re-enabled key works at once) is simpler
    than tracking which entries a change touches.
    """
    _cache.clear()


invalidation.register(invalidation.PRINCIPALS, invalidate_local)


def _user_fields(user) -> dict:
    """The user's part of a principal: identity, own limits and encrypted BYOK key."""
    byok = getattr(user, "upstream_key", None)
    return {
        "user_id": user.id,
        "email": user.email,
        "role": user.role,
        "user_rpm": user.rpm,
        "user_tpm": user.tpm,
        "user_budget": user.budget,
        "user_budget_period": user.budget_period,
        "user_daily_requests": user.daily_requests,
        "token_version": user.token_version,
        "byok_encrypted": byok.encrypted if byok else None,
    }


def _principal_for_key_hash(key_hash: str) -> Principal | None:
    from accounts.models import GatewayKey

    key = (
        GatewayKey.objects.select_related("user", "user__upstream_key")
        .filter(key_hash=key_hash, deleted_at__isnull=True)
        .first()
    )
    if key is None or not key.enabled or not key.user.is_active:
        return None
    if key.expires_at is not None and key.expires_at <= timezone.now():
        return None
    return Principal(
        **_user_fields(key.user),
        key_id=key.id,
        key_prefix=key.prefix,
        key_name=key.name,
        allowed_models=tuple(key.allowed_models or ()),
        key_rpm=key.rpm,
        key_tpm=key.tpm,
        key_budget=key.budget,
        key_budget_period=key.budget_period,
        key_expires_at=key.expires_at.timestamp() if key.expires_at else None,
        key_cache_ttl=key.cache_ttl,
    )


def _principal_for_user_id(user_id: int) -> Principal | None:
    from accounts.models import User

    user = User.objects.select_related("upstream_key").filter(pk=user_id, is_active=True).first()
    return Principal(**_user_fields(user)) if user is not None else None


def principal_for_user(user_id: int) -> Principal | None:
    """Return the principal of an active user (JWT or session callers), cached."""
    cache_key = f"u:{user_id}"
    found, principal = _cached(cache_key)
    if found:
        return principal
    seen = invalidation.generation(invalidation.PRINCIPALS)
    principal = _principal_for_user_id(user_id)
    if invalidation.may_keep(invalidation.PRINCIPALS, seen):
        _remember(cache_key, principal)
    return principal


DISABLED_MESSAGE = "This account is disabled."


def require_principal(user_id: int) -> Principal:
    """The principal of a signed-in caller; raise ApiError 401 when the account was disabled meanwhile."""
    return _or_401(principal_for_user(user_id))


async def arequire_principal(user_id: int) -> Principal:
    """See require_principal()."""
    return _or_401(await aprincipal_for_user(user_id))


def _or_401(principal: Principal | None) -> Principal:
    if principal is None:
        raise ApiError(DISABLED_MESSAGE, status_code=401)
    return principal


async def _aload(cache_key: str, load) -> Principal | None:
    principal, keep = await invalidation.aload(invalidation.PRINCIPALS, cache_key, load)
    if keep:
        _remember(cache_key, principal)
    return principal


async def aprincipal_for_key_hash(key_hash: str) -> Principal | None:
    """Return the principal of an enabled, unexpired key of an active user, or None."""
    cache_key = f"k:{key_hash}"
    found, principal = _cached(cache_key)
    if found:
        if principal is not None and principal.expired():
            return None
        return principal
    load = sync_to_async(_principal_for_key_hash, thread_sensitive=False)
    return await _aload(cache_key, lambda: load(key_hash))


async def aprincipal_for_user(user_id: int) -> Principal | None:
    """See principal_for_user()."""
    cache_key = f"u:{user_id}"
    found, principal = _cached(cache_key)
    if found:
        return principal
    load = sync_to_async(_principal_for_user_id, thread_sensitive=False)
    return await _aload(cache_key, lambda: load(user_id))


async def aprincipal_for_jwt(token: str) -> Principal | None:
    """Return the principal of a valid access token whose user is active and has not revoked it, or None.

    The token's version is compared with the cached principal's: a revocation
    (``accounts.tokens.user_tokens_revoke``) raises the user's version and drops
    the cache, so an access token issued before it stops at once.
    """
    claims = jwt_access_claims(token)
    if claims is None:
        return None
    principal = await aprincipal_for_user(claims.user_id)
    if principal is None or principal.token_version != claims.token_version:
        return None
    return principal
