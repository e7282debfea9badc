"""Writes for users, gateway keys, upstream secrets and credits (device codes: ``accounts.device_flow``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.password_validation import validate_password
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts import crypto, tokens
from accounts.models import (
    CreditAccount,
    GatewayKey,
    LedgerEntry,
    Role,
    UpstreamKey,
    User,
    UserUpstreamKey,
)
from accounts.secrets_util import display_prefix, hash_secret, last4, new_gateway_secret
from accounts.upstream_check import upstream_key_check
from gateway_project import invalidation
from gateway_project.errors import ApiError
from gateway_project.validators import API_KEY_MAX_LENGTH, API_KEY_MIN_LENGTH, decimal_shape, max_length

# ---------------------------------------------------------------- users


@transaction.atomic
def user_create(*, email: str, password: str, role: str = Role.USER) -> User:
    """Create a user with a validated password and an empty credit account."""
    email = email.strip().lower()
    validate_password(password)
    if User.objects.filter(email=email).exists():
        raise ApiError("An account with this email already exists.", status_code=400)
    try:
        user = User.objects.create_user(email=email, password=password, role=role, is_superuser=role == Role.ADMIN)
    except IntegrityError as exc:
        raise ApiError("An account with this email already exists.", status_code=400) from exc
    CreditAccount.objects.create(user=user)
    return user


@transaction.atomic
def user_change_password(*, user: User, old_password: str, new_password: str) -> None:
    """Replace the password; every JWT issued before stops working (accounts/tokens.py)."""
    if not user.check_password(old_password):
        raise ApiError("The current password is wrong.", status_code=400)
    validate_password(new_password, user=user)
    user.set_password(new_password)
    user.save(update_fields=["password"])
    tokens.user_tokens_revoke(user=user)


@transaction.atomic
def user_set_role(*, user: User, role: str, by: User | None = None) -> User:
    """Set a user's role; ``by`` (the admin acting) cannot take away their own admin role."""
    if role not in Role.values:
        raise ApiError(f"role must be one of {', '.join(Role.values)}", status_code=400)
    if by is not None and by.pk == user.pk and role != Role.ADMIN:
        raise ApiError("You cannot remove your own admin role.", status_code=400)
    user.role = role
    user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["role", "is_superuser"])
    invalidation.announce(invalidation.PRINCIPALS, detail=str(user.id))
    return user


@transaction.atomic
def user_set_active(*, user: User, active: bool, by: User | None = None) -> User:
    """Enable or disable a user; a disabled user's tokens and keys stop working at once.

    ``by`` (the admin acting) cannot disable their own account.
    """
    if by is not None and by.pk == user.pk and not active:
        raise ApiError("You cannot disable your own account.", status_code=400)
    user.is_active = active
    user.save(update_fields=["is_active"])
    if not active:
        tokens.user_tokens_revoke(user=user)
    invalidation.announce(invalidation.PRINCIPALS, detail=str(user.id))
    return user


@transaction.atomic
def user_set_limits(
    *, user: User, rpm: int | None = None, tpm: int | None = None,
    budget: Decimal | None = None, budget_period: str | None = None, fields: set[str],
) -> User:
    values = {"rpm": rpm, "tpm": tpm, "budget": budget, "budget_period": budget_period}
    for name in fields:
        setattr(user, name, values[name])
    user.save(update_fields=sorted(fields))
    invalidation.announce(invalidation.PRINCIPALS, detail=str(user.id))
    return user


# ---------------------------------------------------------------- gateway keys


@dataclass(frozen=True)
class CreatedKey:
    key: GatewayKey
    secret: str


@transaction.atomic
def gateway_key_create(
    *, user: User, name: str, expires_at: datetime | None = None, models: list[str] | None = None,
    cache_ttl: int | None = None,
) -> CreatedKey:
    """Create a gateway key; the secret is returned here once and never stored."""
    if expires_at is not None and expires_at <= timezone.now():
        raise ApiError("expiresAt must be in the future.", status_code=400, extra={"param": "expiresAt"})
    secret = new_gateway_secret()
    key = GatewayKey.objects.create(
        user=user,
        name=name.strip() or "default",
        prefix=display_prefix(secret),
        key_hash=hash_secret(secret),
        expires_at=expires_at,
        allowed_models=list(models or []),
        cache_ttl=cache_ttl,
    )
    return CreatedKey(key=key, secret=secret)


@transaction.atomic
def gateway_key_update(*, key: GatewayKey, **changes) -> GatewayKey:
    """Apply ``changes`` (enabled, rpm, tpm, budget, budget_period, name, models, cache_ttl) to a key."""
    for name, value in changes.items():
        setattr(key, name, value)
    key.save(update_fields=sorted(changes))
    invalidation.announce(invalidation.PRINCIPALS, detail=str(key.user_id))
    return key


@transaction.atomic
def gateway_key_delete(*, key: GatewayKey) -> None:
    """Soft-delete a key: it stops working at once, its logs keep pointing at it."""
    key.deleted_at = timezone.now()
    key.enabled = False
    key.save(update_fields=["deleted_at", "enabled"])
    invalidation.announce(invalidation.PRINCIPALS, detail=str(key.user_id))


def gateway_key_touch(*, key_ids: set[int], when: datetime) -> None:
    """Record that keys were used (called in batches by the log flusher)."""
    if key_ids:
        GatewayKey.objects.filter(id__in=key_ids).update(last_used_at=when)


# ---------------------------------------------------------------- BYOK


def api_key_looks_valid(api_key: str) -> bool:
    """Say whether ``api_key`` can be an upstream API key: one printable word of 8 to 500 characters."""
    return (API_KEY_MIN_LENGTH <= len(api_key) <= API_KEY_MAX_LENGTH and api_key.isprintable()
            and not any(c.isspace() for c in api_key))


def api_key_clean(api_key: str) -> str:
    """Return ``api_key`` without surrounding blanks; raise ApiError (400, param apiKey) when it is not one."""
    api_key = api_key.strip()
    if not api_key_looks_valid(api_key):
        raise ApiError(f"apiKey does not look like an API key (one word of {API_KEY_MIN_LENGTH} to "
                       f"{API_KEY_MAX_LENGTH} printable characters).", status_code=400, extra={"param": "apiKey"})
    return api_key


def user_upstream_key_set(*, user: User, api_key: str) -> UserUpstreamKey:
    """Save the user's own upstream key once the upstream accepts it (``GET /key``); a refused key saves nothing."""
    api_key = api_key_clean(api_key)
    upstream_key_check(api_key)  # outside the transaction: a network call holds no database connection open
    with transaction.atomic():
        record, _ = UserUpstreamKey.objects.update_or_create(
            user=user, defaults={"encrypted": crypto.encrypt(api_key), "last4": last4(api_key)}
        )
        invalidation.announce(invalidation.PRINCIPALS, detail=str(user.id))
    return record


@transaction.atomic
def user_upstream_key_delete(*, user: User) -> bool:
    deleted, _ = UserUpstreamKey.objects.filter(user=user).delete()
    invalidation.announce(invalidation.PRINCIPALS, detail=str(user.id))
    return bool(deleted)


# ---------------------------------------------------------------- server pool


@transaction.atomic
def upstream_key_add(*, api_key: str, label: str = "", account: str = "", provider: str = "openrouter",
                     free_rpm: int | None = None, free_rpd: int | None = None) -> UpstreamKey:
    """Add a key to the server pool (idempotent on the key itself)."""
    api_key = api_key_clean(api_key)
    record, _ = UpstreamKey.objects.get_or_create(
        key_hash=hash_secret(api_key),
        defaults={
            "encrypted": crypto.encrypt(api_key),
            "last4": last4(api_key),
            "label": label,
            "account": account,
            "provider": provider,
            "free_rpm": free_rpm,
            "free_rpd": free_rpd,
        },
    )
    invalidation.announce(invalidation.UPSTREAM_POOL)
    return record


@transaction.atomic
def upstream_key_set_limits(*, record: UpstreamKey, **limits: int | None) -> UpstreamKey:
    """Set a pool key's own known free-tier limits (``free_rpm``, ``free_rpd``; None: the configured default)."""
    fields = [name for name in ("free_rpm", "free_rpd") if name in limits]
    for name in fields:
        setattr(record, name, limits[name])
    record.save(update_fields=fields)
    invalidation.announce(invalidation.UPSTREAM_POOL)
    return record


def upstream_keys_import(*, text: str, account: str = "") -> dict[str, int]:
    """Add every key of a text file (one a line; blank lines and ``#`` comments skipped).

    A line that is not a key refuses the whole import, naming its line number (never its text: it may be a key).
    """
    added = existing = 0
    numbered = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1)]
    numbered = [(n, line) for n, line in numbered if line and not line.startswith("#")]
    bad = [n for n, line in numbered if not api_key_looks_valid(line)]
    if bad:
        lines = ", ".join(str(n) for n in bad[:10]) + (" and more" if len(bad) > 10 else "")
        raise ApiError(f"Line{'s' if len(bad) > 1 else ''} {lines} {'do' if len(bad) > 1 else 'does'} not hold one "
                       f"API key (one word of {API_KEY_MIN_LENGTH} to {API_KEY_MAX_LENGTH} printable characters); "
                       "nothing was imported.", status_code=400, extra={"lines": bad[:100]})
    keys = [line for _, line in numbered]
    with transaction.atomic():
        for key in keys:
            if UpstreamKey.objects.filter(key_hash=hash_secret(key)).exists():
                existing += 1
            else:
                upstream_key_add(api_key=key, account=account)
                added += 1
    return {"added": added, "existing": existing}


@transaction.atomic
def upstream_key_set_enabled(*, record: UpstreamKey, enabled: bool) -> UpstreamKey:
    """Take a stored pool key out of routing, or put it back (every process reloads the pool)."""
    record.enabled = enabled
    record.save(update_fields=["enabled"])
    invalidation.announce(invalidation.UPSTREAM_POOL)
    return record


@transaction.atomic
def upstream_key_delete(*, record: UpstreamKey) -> None:
    """Remove a stored pool key for good (every process reloads the pool)."""
    record.delete()
    invalidation.announce(invalidation.UPSTREAM_POOL)


# ---------------------------------------------------------------- encryption rotation


def secrets_rotate(*, old_keys: list[str]) -> int:
    """Re-encrypt every stored secret under the current master key; return how many changed."""
    from models_catalog.services import provider_secrets_for_rotation

    changed = 0
    with transaction.atomic():
        for model in (UserUpstreamKey, UpstreamKey):
            for record in model.objects.select_for_update().all():
                if crypto.is_current(record.encrypted):
                    continue
                record.encrypted = crypto.encrypt(crypto.decrypt(record.encrypted, extra_keys=old_keys))
                record.save(update_fields=["encrypted"])
                changed += 1
        for record, field_name in provider_secrets_for_rotation():
            value = getattr(record, field_name)
            if not value or crypto.is_current(value):
                continue
            setattr(record, field_name, crypto.encrypt(crypto.decrypt(value, extra_keys=old_keys)))
            record.save(update_fields=[field_name])
            changed += 1
        # Principals carry users' encrypted BYOK keys and the snapshot the providers' encrypted keys.
        invalidation.announce(invalidation.PRINCIPALS)
        invalidation.announce(invalidation.CATALOG)
    return changed


# ---------------------------------------------------------------- credits


def _balance_bound() -> Decimal:
    """The first amount a balance column can no longer hold (10 ** whole digits)."""
    shape = decimal_shape(CreditAccount, "balance")
    return Decimal(10) ** (shape["max_digits"] - shape["decimal_places"])


@transaction.atomic
def credits_top_up(*, user: User, amount: Decimal, note: str = "", by: User | None = None) -> LedgerEntry:
    """Add ``amount`` (positive, or negative for a correction) to a user's balance, with a ledger line."""
    if amount == 0:
        raise ApiError("amount must not be zero.", status_code=400, extra={"param": "amount"})
    CreditAccount.objects.get_or_create(user=user)
    bound = _balance_bound()
    # one conditional UPDATE: a balance that would not fit its column is never written, even under races
    changed = CreditAccount.objects.filter(user=user, balance__lt=bound - amount, balance__gt=-bound - amount).update(
        balance=F("balance") + amount
    )
    if not changed:
        raise ApiError(f"amount would take the balance past what it can hold (±{bound - Decimal('0.000001')}).",
                       status_code=400, extra={"param": "amount"})
    account = CreditAccount.objects.get(user=user)
    return LedgerEntry.objects.create(
        user=user,
        kind=LedgerEntry.Kind.TOPUP if amount > 0 else LedgerEntry.Kind.ADJUSTMENT,
        amount=amount,
        balance_after=account.balance,
        note=note[: max_length(LedgerEntry, "note")],
        created_by=by,
    )
