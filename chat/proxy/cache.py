"""The exact response cache: identical non-streaming chat requests of one user, answered again within a TTL.

An entry is keyed by a hash of the canonical request (the body as orjson with
sorted keys, after the preset's defaults), the user id and the resolved route
(the model ids before a strategy orders them), so it is never shared between
users, and a change of alias or preset reaches a new key. The TTL is the
request's ``x-gateway-cache-ttl`` header, else the key's ``cacheTtl``, else
``GATEWAY_CACHE_TTL``; 0 is off. ``Cache-Control: no-cache`` skips the lookup
(the fresh answer is still kept). Entries live in Redis when ``REDIS_URL`` is
set (every process shares them), else in bounded process memory. The cache is
advisory: a store that cannot be reached is a miss, never a failed request.

``chat/proxy/exchange.py`` owns the request: it calls ``prepare`` at admission
and ``fetch`` once the limits admitted it (a hit counts as a request), and settles a hit as
``Outcome.CACHED`` (no reservation, no tokens, ``cacheHit`` on the log row).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import orjson
from django.conf import settings

from accounts.models import CACHE_TTL_MAX_S
from accounts.principals import Principal
from chat.proxy.errors import ProxyError
from gateway_project.metrics import record_cache  # gateway_cache_total{result}

log = logging.getLogger(__name__)
PREFIX = "gw:cache:"
MAX_TTL_S = CACHE_TTL_MAX_S
MAX_ENTRY_BYTES = 1024 * 1024  # answers larger than this are not kept
MEMORY_ENTRIES = 1000  # the embedded store keeps the most recently used entries
TTL_HEADER = b"x-gateway-cache-ttl"




@dataclass(frozen=True)
class CachePolicy:
    """What the request's headers ask of the cache; an invalid TTL header is refused at admission."""

    ttl: int | None = None
    no_cache: bool = False
    invalid: str = ""

    @classmethod
    def from_headers(cls, headers: Mapping[bytes, bytes]) -> CachePolicy:
        no_cache = b"no-cache" in headers.get(b"cache-control", b"").lower()
        raw = headers.get(TTL_HEADER)
        if raw is None:
            return cls(no_cache=no_cache)
        text = raw.decode("latin-1").strip()
        if not text.isdigit() or int(text) > MAX_TTL_S:
            return cls(no_cache=no_cache, invalid=text[:40])
        return cls(ttl=int(text), no_cache=no_cache)


@dataclass
class Lookup:
    """The cache's part in one exchange: its key and TTL, and the cached answer on a hit."""

    key: str
    ttl: int
    bypass: bool = False  # a stream, or Cache-Control: no-cache: not looked up (a whole answer is still kept)
    hit: bool = False
    raw: bytes = b""
    model: str = ""

    @property
    def result(self) -> str:
        return "hit" if self.hit else "miss"


def ttl_for(principal: Principal, policy: CachePolicy) -> int:
    if policy.ttl is not None:
        return policy.ttl
    if principal.key_cache_ttl is not None:
        return principal.key_cache_ttl
    return settings.GATEWAY.cache_ttl_s


def cache_key(*, body: dict, user_id: int, model_ids: tuple[str, ...]) -> str:
    canonical = orjson.dumps([user_id, list(model_ids), body], option=orjson.OPT_SORT_KEYS)
    return PREFIX + hashlib.sha256(canonical).hexdigest()


def prepare(*, principal: Principal, body: dict, model_ids: tuple[str, ...], stream: bool,
            policy: CachePolicy | None) -> Lookup | None:
    """Return the cache's part in this request (None when the cache is off for it); raise 400 on a bad header."""
    policy = policy or CachePolicy()
    if policy.invalid:
        raise ProxyError(400, f"x-gateway-cache-ttl must be a whole number of seconds from 0 to {MAX_TTL_S}, "
                         f"got {policy.invalid!r}.", code="invalid_cache_ttl")
    ttl = ttl_for(principal, policy)
    if ttl <= 0:
        return None
    return Lookup(key=cache_key(body=body, user_id=principal.user_id, model_ids=model_ids), ttl=ttl,
                  bypass=stream or policy.no_cache)


async def fetch(found: Lookup | None) -> bool:
    """Look the answer up (after the limits admitted the request); True on a hit."""
    if found is None:
        return False
    if found.bypass:
        record_cache("bypass")
        return False
    entry = await _store().get(found.key)
    if entry is not None:
        stored_at, model, raw = entry
        if time.time() - stored_at < found.ttl:
            found.hit, found.model, found.raw = True, model, raw
    record_cache(found.result)
    return found.hit


async def keep(found: Lookup | None, *, raw: bytes, model: str, stream: bool) -> None:
    """Keep a good whole answer for the lookup's TTL; never raises."""
    if found is None or found.hit or stream or len(raw) > MAX_ENTRY_BYTES:
        return
    await _store().put(found.key, time.time(), model, raw, found.ttl)


def clear() -> int:
    """Drop every cached answer (the admin's ``DELETE /api/admin/cache``); return how many were dropped."""
    if settings.GATEWAY.redis_url is None:
        return _memory.clear()
    from gateway_project.redis_client import sync_client

    client = sync_client()
    dropped = 0
    batch: list[bytes] = []
    for name in client.scan_iter(match=PREFIX + "*", count=1000):
        batch.append(name)
        if len(batch) >= 500:
            dropped += client.delete(*batch)
            batch = []
    if batch:
        dropped += client.delete(*batch)
    return dropped


# ---------------------------------------------------------------- stores: value is "<stored at>\n<model>\n<raw>"


def _encode(stored_at: float, model: str, raw: bytes) -> bytes:
    return f"{stored_at:.3f}\n{model}\n".encode() + raw


def _decode(value: bytes) -> tuple[float, str, bytes] | None:
    parts = value.split(b"\n", 2)
    if len(parts) != 3:
        return None
    try:
        return float(parts[0]), parts[1].decode(), parts[2]
    except (ValueError, UnicodeDecodeError):
        return None


class _MemoryCache:
    """Process memory, least recently used first out, at most ``MEMORY_ENTRIES``."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def get(self, key: str) -> tuple[float, str, bytes] | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.time():
            self._entries.pop(key, None)
            return None
        self._entries.move_to_end(key)
        return _decode(entry[1])

    async def put(self, key: str, stored_at: float, model: str, raw: bytes, ttl: int) -> None:
        self._entries[key] = (stored_at + ttl, _encode(stored_at, model, raw))
        self._entries.move_to_end(key)
        while len(self._entries) > MEMORY_ENTRIES:
            self._entries.popitem(last=False)

    def clear(self) -> int:
        dropped = len(self._entries)
        self._entries.clear()
        return dropped


class _RedisCache:
    async def get(self, key: str) -> tuple[float, str, bytes] | None:
        from gateway_project.redis_client import async_client

        try:
            value = await async_client().get(key)
        except Exception as exc:
            log.warning("response cache unreachable; answering without it: %s", exc)
            return None
        return _decode(value) if value is not None else None

    async def put(self, key: str, stored_at: float, model: str, raw: bytes, ttl: int) -> None:
        from gateway_project.redis_client import async_client

        try:
            await async_client().set(key, _encode(stored_at, model, raw), ex=ttl)
        except Exception as exc:
            log.warning("response cache unreachable; answer not kept: %s", exc)


_memory = _MemoryCache()
_redis = _RedisCache()


def _store() -> _MemoryCache | _RedisCache:
    return _redis if settings.GATEWAY.redis_url else _memory


def reset_local() -> None:
    """Forget this process's entries (tests switch stores between runs)."""
    _memory.clear()
