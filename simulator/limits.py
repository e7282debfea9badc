"""Keys and the free tier: who is calling, their account, and its per-minute and per-day request limits."""

from __future__ import annotations

import hashlib
import time

from simulator.replies import error
from simulator.state import SimState, Window


def authenticate(state: SimState, headers: dict[str, str]) -> str:
    """Return the bearer key; raise OpenRouter's 401 for a missing, revoked or ``sk-bad`` key."""
    auth = headers.get("authorization", "")
    if not auth.lower().startswith("bearer ") or not auth[7:].strip():
        raise error(401, "No auth credentials found")
    key = auth[7:].strip()
    if key in state.revoked_keys or key.startswith("sk-bad"):
        raise error(401, "User not found.")
    return key


def _account(state: SimState, key: str) -> str:
    return state.accounts.get(key) or "acct-" + hashlib.sha256(key.encode()).hexdigest()[:8]


def _limit_headers(limit: int, remaining: int, reset_ms: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(remaining, 0)),
        "X-RateLimit-Reset": str(reset_ms),
    }


def admit(state: SimState, key: str) -> dict[str, str]:
    """Count a request against the key's account; raise the free tier's 429 when spent."""
    account = _account(state, key)
    limits = state.account_limits.get(account) or state.limits
    if not limits:
        return {}
    now = time.time()
    window = state.windows.setdefault(account, Window())
    if now - window.minute_start >= 60:
        window.minute_start, window.minute_count = now, 0
    if now - window.day_start >= 86400:
        window.day_start, window.day_count = now, 0
    rpd, rpm = limits.get("rpd"), limits.get("rpm")
    if rpd is not None and window.day_count >= rpd:
        window.refused += 1
        headers = _limit_headers(rpd, 0, int((window.day_start + 86400) * 1000))
        raise error(429, "Rate limit exceeded: free-models-per-day", {"headers": headers}, headers)
    if rpm is not None and window.minute_count >= rpm:
        window.refused += 1
        headers = _limit_headers(rpm, 0, int((window.minute_start + 60) * 1000))
        raise error(429, "Rate limit exceeded: free-models-per-min", {"headers": headers}, headers)
    window.minute_count += 1
    window.day_count += 1
    if rpm is not None:
        return _limit_headers(rpm, rpm - window.minute_count, int((window.minute_start + 60) * 1000))
    return _limit_headers(rpd, rpd - window.day_count, int((window.day_start + 86400) * 1000))


def key_info(state: SimState, key: str) -> dict:
    """Return ``GET /key``'s answer for ``key``: its account's tier, and its per-minute limit when one is set
    (OpenRouter now answers ``-1`` there)."""
    account = _account(state, key)
    limits = state.account_limits.get(account) or state.limits
    return {
        "data": {
            "label": f"sim-…{key[-4:]}",
            "limit": None,
            "limit_remaining": None,
            "usage": 0,
            "is_free_tier": account not in state.paid_accounts,
            "rate_limit": {"requests": limits.get("rpm", -1), "interval": "1m" if "rpm" in limits else "10s"},
        }
    }
