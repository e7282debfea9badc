"""AES-256-GCM for upstream secrets stored in the database.

A stored value is ``v1$<key id>$<base64(nonce || ciphertext)>``: the version tag
lets the format change, the key id (first 8 hex of the key's SHA-256) picks the
master key that decrypts it, so values written under a previous master key
still decrypt while ``rotate_encryption_key`` re-encrypts them.
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

VERSION = "v1"
_AAD = b"gateway-upstream-secret"


class DecryptionError(ValueError):
    """The value is not ours, or no configured master key opens it."""


def key_id(master_hex: str) -> str:
    return hashlib.sha256(bytes.fromhex(master_hex)).hexdigest()[:8]


def _keys() -> dict[str, bytes]:
    cfg = settings.GATEWAY
    keys = {key_id(k): bytes.fromhex(k) for k in cfg.encryption_previous_keys}
    keys[key_id(cfg.encryption_master_key)] = bytes.fromhex(cfg.encryption_master_key)
    return keys


def encrypt(plaintext: str, *, master_hex: str | None = None) -> str:
    """Return ``plaintext`` encrypted under the current (or given) master key with a fresh nonce."""
    master = master_hex or settings.GATEWAY.encryption_master_key
    nonce = os.urandom(12)
    sealed = AESGCM(bytes.fromhex(master)).encrypt(nonce, plaintext.encode(), _AAD)
    return f"{VERSION}${key_id(master)}${base64.b64encode(nonce + sealed).decode()}"


def decrypt(stored: str, *, extra_keys: list[str] | None = None) -> str:
    """Return the plaintext of a value made by ``encrypt``; raise DecryptionError otherwise."""
    try:
        version, kid, payload = stored.split("$", 2)
    except ValueError as exc:
        raise DecryptionError("not an encrypted value") from exc
    if version != VERSION:
        raise DecryptionError(f"unknown format {version}")
    keys = _keys()
    for extra in extra_keys or []:
        keys[key_id(extra)] = bytes.fromhex(extra)
    key = keys.get(kid)
    if key is None:
        raise DecryptionError("no configured master key matches this value")
    raw = base64.b64decode(payload)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], _AAD).decode()
    except Exception as exc:  # InvalidTag: tampered or wrong key
        raise DecryptionError("value does not decrypt") from exc


def is_current(stored: str) -> bool:
    """Tell whether ``stored`` is already under the current master key."""
    parts = stored.split("$", 2)
    return len(parts) == 3 and parts[1] == key_id(settings.GATEWAY.encryption_master_key)
