"""Shared state of the hot path: limit counters and upstream-account health.

Two stores with the same semantics: Redis (several gateway processes share it;
each check is one Lua script, so admission is atomic across processes) and
process memory (the embedded default). See docs/decisions/0002-shared-state.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from django.conf import settings

from gateway_project import redis_pipe

log = logging.getLogger(__name__)
CHARGE_FLUSH_S = 0.05  # longest a token charge waits before other processes see it


@dataclass(frozen=True)
class Counter:
    """One limit to check: ``key`` may hold at most ``limit`` within a window of ``ttl`` seconds.

    ``cost`` is added when every counter of the check passes; a counter passes
    when ``current + cost <= limit`` (or, for ``cost == 0``, ``current < limit``).
    """

    key: str
    limit: int
    ttl: int
    cost: int


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check; ``values`` and ``ttls`` hold one entry per counter, whatever the outcome.

    ``then`` is the outcome of the check's second group (``check(counters, then=...)``): checked, and
    counted, only when the first group passed; None when there was none or the first group failed.
    """

    ok: bool
    failed: int  # index of the first counter over its limit, -1 when ok
    values: tuple[int, ...]  # each counter's value after the check
    ttls: tuple[int, ...]  # seconds until each counter's window resets
    then: CheckResult | None = None


# KEYS: every counter, the first group's then the second's; ARGV[1]: how many counters the first group has;
# then (limit, ttl, cost) per counter. Each group is all or nothing; the second is looked at only when the
# first passed. Returns {failed, values, ttls} per group looked at (failed: 1-based, 0 when it passed).
_CHECK_LUA = """
local function check(first, last)
  local values, ttls, failed = {}, {}, 0
  for i = first, last do
    local limit = tonumber(ARGV[(i - 1) * 3 + 2])
    local ttl = tonumber(ARGV[(i - 1) * 3 + 3])
    local cost = tonumber(ARGV[(i - 1) * 3 + 4])
    local current = tonumber(redis.call('GET', KEYS[i]) or '0')
    local left = redis.call('TTL', KEYS[i])
    if left < 0 then left = ttl end
    values[#values + 1] = current
    ttls[#ttls + 1] = left
    local over
    if cost == 0 then over = current >= limit else over = current + cost > limit end
    if over and failed == 0 then failed = i - first + 1 end
  end
  if failed == 0 then
    for i = first, last do
      local ttl = tonumber(ARGV[(i - 1) * 3 + 3])
      local cost = tonumber(ARGV[(i - 1) * 3 + 4])
      if cost > 0 then
        local value = redis.call('INCRBY', KEYS[i], cost)
        values[i - first + 1] = value
        if value == cost then redis.call('EXPIRE', KEYS[i], ttl) end
      end
    end
  end
  return {failed, values, ttls}
end
local split = tonumber(ARGV[1])
local first = check(1, split)
if first[1] > 0 or split == #KEYS then
  return first
end
local second = check(split + 1, #KEYS)
return {first[1], first[2], first[3], second[1], second[2], second[3]}
"""


_CHECK_SHA = redis_pipe.script(_CHECK_LUA)


_RING_LUA = """
local n = 0
if ARGV[3] ~= '' then
  n = redis.call('HINCRBY', KEYS[1], 'n', 1)
  redis.call('HSET', KEYS[1], 's' .. ((n - 1) % tonumber(ARGV[1])), ARGV[3])
end
for i = 4, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return n
"""
_RING_SHA = redis_pipe.script(_RING_LUA)


class StateUnavailable(RuntimeError):
    """The shared store cannot be reached."""


class MemoryState:
    """Process-memory store for the embedded default (one gateway process)."""

    shared = False

    def __init__(self) -> None:
        self._counters: dict[str, tuple[int, float]] = {}
        self._hashes: dict[str, tuple[dict[str, str], float]] = {}

    def _get(self, key: str, now: float) -> tuple[int, float]:
        value = self._counters.get(key)
        if value is None or value[1] <= now:
            return 0, 0.0
        return value

    async def check(self, counters: list[Counter], then: list[Counter] = ()) -> CheckResult:
        """See RedisState.check()."""
        result = self._check(counters)
        if result.ok and then:
            return CheckResult(True, -1, result.values, result.ttls, self._check(then))
        return result

    def _check(self, counters: list[Counter]) -> CheckResult:
        now = time.monotonic()
        values, ttls = [], []
        failed = -1
        for i, c in enumerate(counters):  # every counter is read, as in the Redis script: callers index any of them
            current, expires = self._get(c.key, now)
            values.append(current)
            ttls.append(int(expires - now) if expires else c.ttl)
            over = current >= c.limit if c.cost == 0 else current + c.cost > c.limit
            if over and failed < 0:
                failed = i
        if failed >= 0:
            return CheckResult(False, failed, tuple(values), tuple(ttls))
        for i, c in enumerate(counters):
            if c.cost:
                current, expires = self._get(c.key, now)
                self._counters[c.key] = (current + c.cost, expires or now + c.ttl)
                values[i] = current + c.cost
        if len(self._counters) > 100_000:
            self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        return CheckResult(True, -1, tuple(values), tuple(ttls))

    async def add(self, items: list[tuple[str, int, int]]) -> None:
        now = time.monotonic()
        for key, amount, ttl in items:
            current, expires = self._get(key, now)
            self._counters[key] = (current + amount, expires or now + ttl)

    async def charge(self, items: list[tuple[str, int, int]]) -> None:
        await self.add(items)

    async def flush_charges(self) -> None:
        return None

    async def get_hashes(self, keys: list[str]) -> list[dict[str, str]]:
        now = time.time()
        out = []
        for key in keys:
            value = self._hashes.get(key)
            out.append(dict(value[0]) if value and value[1] > now else {})
        return out

    async def update_hash(self, key: str, fields: dict[str, str], ttl: int) -> None:
        now = time.time()
        current = self._hashes.get(key)
        data = dict(current[0]) if current and current[1] > now else {}
        data.update(fields)
        self._hashes[key] = (data, now + ttl)

    async def incr_hash(self, key: str, field: str, amount: int, ttl: int) -> int:
        now = time.time()
        current = self._hashes.get(key)
        data = dict(current[0]) if current and current[1] > now else {}
        data[field] = str(int(data.get(field, "0")) + amount)
        self._hashes[key] = (data, now + ttl)
        return int(data[field])

    def ring_record(self, key: str, *, window: int, sample: str, fields: dict[str, str], ttl: int) -> None:
        """Append ``sample`` to the ring of the last ``window`` samples in hash ``key`` and set ``fields``.

        Nobody waits for it (Redis: the command is posted, not awaited); never raises.
        """
        now = time.time()
        current = self._hashes.get(key)
        data = dict(current[0]) if current and current[1] > now else {}
        if sample:
            n = int(data.get("n", "0")) + 1
            data["n"] = str(n)
            data[f"s{(n - 1) % window}"] = sample
        data.update(fields)
        self._hashes[key] = (data, now + ttl)

    async def ping(self) -> bool:
        return True

    def reset(self) -> None:
        self._counters.clear()
        self._hashes.clear()


class RedisState:
    """Redis store: every gateway process sees the same counters and account health."""

    shared = True

    def __init__(self) -> None:
        # Token charges not yet written: key -> [amount, ttl]. They ride along with this process's next
        # check (same pipeline, before the script, so the check sees them) or a timer flush, whichever
        # comes first: a Redis round trip less per request. See charge().
        self._charges: dict[str, list[int]] = {}
        self._flush_timer: asyncio.TimerHandle | None = None

    async def check(self, counters: list[Counter], then: list[Counter] = ()) -> CheckResult:
        """Count every counter of ``counters`` if each has room, else none; then, only when they had room, the
        same for ``then`` (its outcome in ``CheckResult.then``). One script on the hot-path pipe
        (gateway_project.redis_pipe), atomic across processes, this process's pending token charges written
        just before it on the same connection."""
        every = [*counters, *then]
        command: list = ["EVALSHA", _CHECK_SHA, len(every), *[c.key for c in every], len(counters)]
        for c in every:
            command += [c.limit, c.ttl, c.cost]
        charges = self._take_charges()
        try:
            *_, reply = await redis_pipe.pipe().execute(*_charge_commands(charges), tuple(command))
            if isinstance(reply, redis_pipe.ReplyError) and str(reply).startswith("NOSCRIPT"):
                # A restarted Redis has an empty script cache: EVAL sends the script and caches it again.
                command[:2] = ["EVAL", _CHECK_LUA]
                (reply,) = await redis_pipe.pipe().execute(tuple(command))
        except redis_pipe.PipeBroken as exc:
            self._restore_charges(charges)  # they may not have been written
            raise StateUnavailable(str(exc)) from exc
        if isinstance(reply, redis_pipe.ReplyError):
            raise StateUnavailable(str(reply))
        failed, values, ttls, *second = reply
        after = CheckResult(second[0] == 0, second[0] - 1, tuple(second[1]), tuple(second[2])) if second else None
        return CheckResult(failed == 0, failed - 1, tuple(values), tuple(ttls), after)

    async def charge(self, items: list[tuple[str, int, int]]) -> None:
        """Add ``amount`` to each counter soon: with this process's next check, or within CHARGE_FLUSH_S.

        For token counters, which are charged after the answer anyway: this process's next
        admission sees them exactly as if written now; other processes see them within
        CHARGE_FLUSH_S. Never raises.
        """
        for key, amount, ttl in items:
            pending = self._charges.get(key)
            if pending is None:
                self._charges[key] = [amount, ttl]
            else:
                pending[0] += amount
        if self._flush_timer is None or self._flush_timer.cancelled():
            loop = asyncio.get_running_loop()
            self._flush_timer = loop.call_later(CHARGE_FLUSH_S, lambda: loop.create_task(self.flush_charges()))

    async def flush_charges(self) -> None:
        """Write the pending charges now (the timer, and the server's shutdown)."""
        if self._flush_timer is not None:
            self._flush_timer.cancel()
            self._flush_timer = None
        charges = self._take_charges()
        if not charges:
            return
        try:
            await redis_pipe.pipe().execute(*_charge_commands(charges))
        except redis_pipe.PipeBroken as exc:
            log.warning("could not record token charges (%s keys): %s", len(charges), exc)

    def _take_charges(self) -> dict[str, list[int]]:
        charges, self._charges = self._charges, {}
        return charges

    def _restore_charges(self, charges: dict[str, list[int]]) -> None:
        for key, (amount, ttl) in charges.items():
            pending = self._charges.setdefault(key, [0, ttl])
            pending[0] += amount

    async def add(self, items: list[tuple[str, int, int]]) -> None:
        _raise_errors(await self._run(_incr_commands(items)))

    async def get_hashes(self, keys: list[str]) -> list[dict[str, str]]:
        if not keys:
            return []
        replies = _raise_errors(await self._run([("HGETALL", key) for key in keys]))
        return [{flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)} for flat in replies]

    async def update_hash(self, key: str, fields: dict[str, str], ttl: int) -> None:
        if fields:
            _raise_errors(await self._run([("HSET", key, *_pairs(fields)), ("EXPIRE", key, ttl)]))

    async def incr_hash(self, key: str, field: str, amount: int, ttl: int) -> int:
        value, _ = _raise_errors(await self._run([("HINCRBY", key, field, amount), ("EXPIRE", key, ttl)]))
        return int(value)

    def ring_record(self, key: str, *, window: int, sample: str, fields: dict[str, str], ttl: int) -> None:
        """See MemoryState.ring_record(): one script, posted on the pipe, so the request waits no round trip.

        The pipe loads the script on every connection it opens, so the EVALSHA needs no answer.
        """
        redis_pipe.pipe().post(("EVALSHA", _RING_SHA, 1, key, window, ttl, sample, *_pairs(fields)))

    async def ping(self) -> bool:
        try:
            return (await self._run([("PING",)])) == [b"PONG"]
        except StateUnavailable:
            return False

    async def _run(self, commands: list[tuple]) -> list:
        try:
            return await redis_pipe.pipe().execute(*commands)
        except redis_pipe.PipeBroken as exc:
            raise StateUnavailable(str(exc)) from exc


def _pairs(fields: dict[str, str]) -> list[str]:
    return [part for item in fields.items() for part in item]


def _raise_errors(replies: list) -> list:
    for reply in replies:
        if isinstance(reply, redis_pipe.ReplyError):
            raise StateUnavailable(str(reply))
    return replies


def _incr_commands(items) -> list[tuple]:
    """INCRBY and a first-write EXPIRE for each ``(key, amount, ttl)``."""
    commands: list[tuple] = []
    for key, amount, ttl in items:
        commands += [("INCRBY", key, amount), ("EXPIRE", key, ttl, "NX")]
    return commands


def _charge_commands(charges: dict[str, list[int]]) -> list[tuple]:
    return _incr_commands((key, amount, ttl) for key, (amount, ttl) in charges.items())


_store: list = []


def store() -> MemoryState | RedisState:
    """The process's store: Redis when ``REDIS_URL`` is set, else memory."""
    if not _store:
        _store.append(RedisState() if settings.GATEWAY.redis_url else MemoryState())
    return _store[0]


def reset_store() -> None:
    """Forget the store (tests switch settings between runs)."""
    _store.clear()
