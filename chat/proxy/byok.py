"""The caller's own upstream key (BYOK) when the upstream refuses it.

A user who saved their own OpenRouter key expects their requests to run on
it. When the upstream refuses that key (401/403: not a key; 402: out of
credits), or its breaker is open after such a refusal, the request ends with
an error naming the key (its last four characters, never more) instead of
falling back to the server pool silently (docs/decisions/0021-ux-fixes.md).
The user fixes or removes the key in Settings; without one, the pool serves.
"""

from __future__ import annotations

from chat.proxy.errors import ProxyError
from chat.proxy.pool import Block, Credential

REFUSED_CODE = "byok_key_refused"
NO_CREDITS_CODE = "byok_out_of_credits"
SETTINGS_HINT = "Fix or remove it in Settings (without your own key the server pool answers)."


def refused(cred: Credential, upstream_status: int) -> ProxyError:
    """The error for a request whose own key the upstream just refused with ``upstream_status``."""
    if upstream_status == 402:
        return ProxyError(402, f"Your own OpenRouter key {cred.masked} is out of credits. {SETTINGS_HINT}",
                          code=NO_CREDITS_CODE)
    return ProxyError(401, f"OpenRouter refused your own key {cred.masked} (HTTP {upstream_status}). "
                      f"{SETTINGS_HINT}", code=REFUSED_CODE)


def blocked(cred: Credential, block: Block) -> ProxyError | None:
    """The error when the caller's own key is held back by its breaker; None for other blocks (rate limits wait)."""
    if cred.source != "byok" or block.reason != "circuit_open":
        return None
    return ProxyError(401, f"Your own OpenRouter key {cred.masked} is not usable right now: the upstream refused it "
                      f"or it kept failing. {SETTINGS_HINT}", code=REFUSED_CODE)
