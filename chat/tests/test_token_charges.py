"""Token charges are deferred in process but never lost: the next check carries them, or a timer writes them."""

from __future__ import annotations

import asyncio

from gateway_project.redis_client import aclose_async_client, sync_client
from gateway_project.shared_state import CHARGE_FLUSH_S, Counter, RedisState


def test_the_next_check_of_this_process_sees_a_charge():
    state = RedisState()

    async def main():
        await state.charge([("gw:test:t", 10, 60)])
        refused = await state.check([Counter("gw:test:t", 10, 60, 0)])  # at the limit means refused
        allowed = await state.check([Counter("gw:test:other", 10, 60, 0)])
        await aclose_async_client()
        return refused, allowed

    refused, allowed = asyncio.run(main())
    assert not refused.ok and refused.values[0] == 10
    assert allowed.ok
    assert int(sync_client().get("gw:test:t")) == 10
    assert 0 < sync_client().ttl("gw:test:t") <= 60


def test_charges_reach_redis_within_the_flush_interval_and_on_shutdown():
    state = RedisState()

    async def main():
        await state.charge([("gw:test:a", 3, 60)])
        await state.charge([("gw:test:a", 4, 60)])
        await asyncio.sleep(CHARGE_FLUSH_S * 4)
        after_timer = sync_client().get("gw:test:a")
        await state.charge([("gw:test:b", 5, 60)])
        await state.flush_charges()
        await aclose_async_client()
        return after_timer

    assert int(asyncio.run(main())) == 7
    assert int(sync_client().get("gw:test:b")) == 5
