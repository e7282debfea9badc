"""Concurrent cache misses share one load; a failed load fails its waiters and is not kept."""

import asyncio

from gateway_project.singleflight import load_once


def test_concurrent_callers_share_one_load():
    calls = 0

    async def load():
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return calls

    async def main():
        return await asyncio.gather(*(load_once("k", load) for _ in range(20)))

    assert asyncio.run(main()) == [1] * 20
    assert calls == 1


def test_a_failed_load_reaches_every_waiter_and_the_next_call_loads_again():
    async def boom():
        await asyncio.sleep(0.01)
        raise RuntimeError("db down")

    async def ok():
        return "fresh"

    async def main():
        results = await asyncio.gather(*(load_once("k", boom) for _ in range(3)), return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)
        return await load_once("k", ok)

    assert asyncio.run(main()) == "fresh"


def test_different_keys_load_separately():
    async def main():
        return await asyncio.gather(load_once("a", _const("A")), load_once("b", _const("B")))

    assert asyncio.run(main()) == ["A", "B"]


def _const(value):
    async def load():
        await asyncio.sleep(0)
        return value

    return load
