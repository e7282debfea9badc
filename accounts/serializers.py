"""Output shapes shared by the user and admin APIs (camelCase, as API.md fixes)."""

from __future__ import annotations

from accounts.models import GatewayKey, User
from gateway_project.money import money


def gateway_key_out(key: GatewayKey, *, secret: str | None = None, with_user: bool = False) -> dict:
    data = {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "enabled": key.enabled,
        "expiresAt": key.expires_at.isoformat() if key.expires_at else None,
        "models": list(key.allowed_models or []),
        "rpm": key.rpm,
        "tpm": key.tpm,
        "budget": money(key.budget),
        "budgetPeriod": key.budget_period,
        "cacheTtl": key.cache_ttl,
        "createdAt": key.created_at.isoformat(),
        "lastUsedAt": key.last_used_at.isoformat() if key.last_used_at else None,
    }
    if with_user:
        data["user"] = {"id": key.user_id, "email": key.user.email}
    if secret is not None:
        data["secret"] = secret
    return data


def user_out(user: User) -> dict:
    account = getattr(user, "credit_account", None)
    return {
        "id": user.id,
        "email": user.email,
        "role": user.role,
        "active": user.is_active,
        "dateJoined": user.date_joined.isoformat(),
        "rpm": user.rpm,
        "tpm": user.tpm,
        "budget": money(user.budget),
        "budgetPeriod": user.budget_period,
        "dailyRequests": user.daily_requests,
        "balance": money(account.balance) if account else "0",
    }
