"""One load at a time per key: concurrent callers that miss the same cache share one load.

When an in-process cache entry expires under load, every request in flight
misses it at the same moment; without this each would run the same database
load in a thread (64 requests in flight: 64 catalog loads of five queries
each, queued on the default executor's few threads, stalling every request).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

_inflight: dict[tuple[int, str], asyncio.Future] = {}


async def load_once[T](key: str, load: Callable[[], Awaitable[T]]) -> T:
    """Return ``await load()``, sharing one call among concurrent callers with the same ``key`` (per event loop)."""
    loop = asyncio.get_running_loop()
    slot = (id(loop), key)
    pending = _inflight.get(slot)
    if pending is not None:
        return await asyncio.shield(pending)
    future = loop.create_future()
    _inflight[slot] = future
    try:
        value = await load()
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # marked retrieved: a load nobody else waited for must not warn
        raise
    else:
        future.set_result(value)
        return value
    finally:
        _inflight.pop(slot, None)
