"""Reads for users, keys and credits."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import CreditAccount, GatewayKey, LedgerEntry, UpstreamKey, User, UserUpstreamKey


def user_get(*, user_id: int) -> User | None:
    return User.objects.filter(pk=user_id).first()


def user_list() -> QuerySet[User]:
    return User.objects.select_related("credit_account").order_by("id")


def gateway_key_list(*, user: User | None = None) -> QuerySet[GatewayKey]:
    """Live (not deleted) keys, of one user or of everyone."""
    keys = GatewayKey.objects.filter(deleted_at__isnull=True).select_related("user")
    return keys.filter(user=user) if user is not None else keys


def gateway_key_get(*, key_id: int, user: User | None = None) -> GatewayKey | None:
    """Return a live key by id; with ``user``, only that user's (others look absent)."""
    return gateway_key_list(user=user).filter(pk=key_id).first()


def user_upstream_key_status(*, user: User) -> dict:
    record = UserUpstreamKey.objects.filter(user=user).first()
    return {"configured": record is not None, "last4": record.last4 if record else None}


def upstream_key_list() -> QuerySet[UpstreamKey]:
    return UpstreamKey.objects.all()


def upstream_key_get(*, key_id: int) -> UpstreamKey | None:
    return UpstreamKey.objects.filter(pk=key_id).first()


def credit_balance(*, user: User) -> CreditAccount:
    account, _ = CreditAccount.objects.get_or_create(user=user)
    return account


def ledger_list(*, user: User) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(user=user)
