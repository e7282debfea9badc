"""Gateway key secrets: generation, hashing, display prefix."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "sk-gw-"


def new_gateway_secret() -> str:
    """Return a new key: ``sk-gw-`` and 32 url-safe bytes (256 bits of randomness)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(secret: str) -> str:
    return secret[: len(KEY_PREFIX) + 6]


def last4(secret: str) -> str:
    return secret[-4:] if len(secret) >= 4 else "****"

