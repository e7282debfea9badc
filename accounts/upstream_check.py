"""Ask the upstream whether an API key is a key: ``GET {OPENROUTER_BASE_URL}/key`` with it.

Used before a user's own key (BYOK) is saved, and by the console's "Test" on a
pool key. The answer never repeats the key or the upstream's text: only the
status, and the facts OpenRouter returns about the key (label, limit, usage).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from django.conf import settings

from gateway_project.errors import ApiError

CHECK_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class KeyInfo:
    label: str
    limit: float | None
    usage: float | None
    free_tier: bool | None

    def summary(self) -> str:
        limit = "no credit limit" if self.limit is None else f"limit ${self.limit:g}"
        usage = "" if self.usage is None else f", used ${self.usage:g}"
        tier = " (free tier)" if self.free_tier else ""
        return f"{self.label or 'key'}: {limit}{usage}{tier}"


def _number(value) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def upstream_key_check(api_key: str) -> KeyInfo:
    """Return what the upstream says about ``api_key``; raise ApiError when it refuses it or cannot be asked.

    Refused (401/403): 400 naming ``apiKey``; out of credits (402): 400 as well; no answer: 502.
    """
    url = f"{settings.GATEWAY.openrouter_base_url}/key"
    try:
        response = httpx.get(url, headers={"Authorization": f"Bearer {api_key}"}, timeout=CHECK_TIMEOUT_S)
    except httpx.HTTPError:
        raise ApiError("OpenRouter could not be reached to check the key; nothing was saved. Try again in a moment.",
                       status_code=502, extra={"code": "upstream_unreachable"}) from None
    if response.status_code in (401, 403):
        raise ApiError(f"OpenRouter refused this key (HTTP {response.status_code}): it is not a valid API key. "
                       "Check that you copied the whole key; nothing was saved.", status_code=400,
                       extra={"param": "apiKey", "code": "upstream_key_refused"})
    if response.status_code == 402:
        raise ApiError("OpenRouter says this key's account is out of credits; nothing was saved.", status_code=400,
                       extra={"param": "apiKey", "code": "upstream_key_no_credits"})
    if response.status_code != 200:
        raise ApiError(f"OpenRouter answered HTTP {response.status_code} when asked about the key; nothing was saved. "
                       "Try again in a moment.", status_code=502, extra={"code": "upstream_unavailable"})
    try:
        data = response.json().get("data") or {}
    except (ValueError, AttributeError):
        data = {}
    data = data if isinstance(data, dict) else {}
    label = data.get("label")
    return KeyInfo(label=label[:100] if isinstance(label, str) else "", limit=_number(data.get("limit")),
                   usage=_number(data.get("usage")),
                   free_tier=data.get("is_free_tier") if isinstance(data.get("is_free_tier"), bool) else None)


def pool_key_check(record) -> KeyInfo:
    """Ask the upstream about a stored pool key (an ``UpstreamKey``); raise ApiError when it refuses it."""
    from accounts import crypto

    return upstream_key_check(crypto.decrypt(record.encrypted))
