"""Authenticate a /v1 caller: gateway key (Bearer, X-Client-API-Key or Anthropic's X-Api-Key) or JWT."""

from __future__ import annotations

from accounts import principals
from accounts.principals import Principal
from accounts.secrets_util import KEY_PREFIX, hash_secret
from chat.proxy.errors import ProxyError


def credential_from(headers: dict[bytes, bytes]) -> str | None:
    """The caller's key: ``X-Client-API-Key`` when sent, else ``X-Api-Key`` (Anthropic's, what Claude Code
    sends), else the bearer token.

    The explicit headers win because SDKs always send ``Authorization`` (often with a
    placeholder key) and a client that adds one of them means that one.
    """
    for name in (b"x-client-api-key", b"x-api-key"):
        raw = headers.get(name)
        if raw and raw.strip():
            return raw.decode("latin-1").strip()
    raw = headers.get(b"authorization")
    if raw:
        scheme, _, token = raw.decode("latin-1").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return None


async def authenticate(headers: dict[bytes, bytes]) -> Principal:
    """Return the caller's principal or raise 401 in the OpenAI shape."""
    token = credential_from(headers)
    if not token:
        raise ProxyError(401, "Missing API key: send it as 'Authorization: Bearer <key>', 'X-Api-Key' or "
                         "'X-Client-API-Key'.",
                         code="missing_api_key")
    if token.startswith(KEY_PREFIX):
        principal = await principals.aprincipal_for_key_hash(hash_secret(token))
    elif token.count(".") == 2:
        principal = await principals.aprincipal_for_jwt(token)
    else:
        principal = None
    if principal is None:
        raise ProxyError(401, "Invalid API key: it is unknown, disabled, expired or deleted.", code="invalid_api_key")
    return principal
