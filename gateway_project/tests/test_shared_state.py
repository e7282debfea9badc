"""A check with a second group (``check(counters, then=...)``): the same outcome from Redis and process memory."""

from __future__ import annotations

import asyncio

import pytest

from gateway_project import redis_pipe
from gateway_project.shared_state import Counter, MemoryState, RedisState


def _run(state, scenario):
    async def main():
        try:
            return await scenario(state)
        finally:
            redis_pipe.close_pipe()

    return asyncio.run(main())


@pytest.fixture(params=["redis", "memory"])
def state(request):
    return RedisState() if request.param == "redis" else MemoryState()


def test_the_second_group_counts_only_once_the_first_passed(state):
    async def scenario(state):
        user = [Counter("gw:test:user", 2, 60, 1)]
        account = [Counter("gw:test:acct:m", 1, 61, 1), Counter("gw:test:acct:d", 5, 86401, 1)]
        first = await state.check(user, account)  # both have room: both count
        second = await state.check(user, account)  # the user has room, the account's minute does not
        third = await state.check(user, account)  # the user is spent: the account is not even looked at
        after = await state.check([Counter("gw:test:user", 100, 60, 0), *[Counter(c.key, 100, 60, 0) for c in account]])
        return first, second, third, after

    first, second, third, after = _run(state, scenario)
    assert first.ok and first.then.ok and first.then.values == (1, 1)
    assert second.ok and not second.then.ok and second.then.failed == 0 and second.values == (2,)
    assert not third.ok and third.then is None
    assert after.values == (2, 1, 1)  # the user's two admissions; the account's one slot, once
    assert 59 <= second.then.ttls[0] <= 61


def test_a_check_without_a_second_group_says_nothing_of_one(state):
    async def scenario(state):
        return await state.check([Counter("gw:test:alone", 1, 60, 1)])

    result = _run(state, scenario)
    assert result.ok and result.then is None and result.values == (1,)
