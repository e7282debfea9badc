"""The hot path's pipelined Redis connection: replies in order, errors as values, breaks fail fast and heal."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
import redis
from django.conf import settings

from gateway_project import redis_pipe
from testing.servers import wait_until
from testing.services import PrivateRedis


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.stop()


def test_concurrent_callers_each_get_their_own_replies_in_one_connection(private_redis):
    url = private_redis.url.rsplit("/", 1)[0] + "/3"  # a database other than 0: SELECT is sent first

    async def scenario():
        pipe = redis_pipe.RedisPipe(url)

        async def one(i: int):
            return await pipe.execute(("SET", f"k{i}", i), ("INCRBY", f"k{i}", i), ("GET", f"k{i}"))

        replies = await asyncio.gather(*(one(i) for i in range(200)))
        pipe.close()
        return replies

    replies = asyncio.run(scenario())
    assert replies == [[b"OK", 2 * i, str(2 * i).encode()] for i in range(200)]
    direct = redis.Redis(port=private_redis.port, db=3)
    assert direct.get("k7") == b"14"
    # the direct client above is the only one left: the pipe used one connection and closed it
    wait_until(lambda: len(redis.Redis(port=private_redis.port).client_list()) == 2)  # with the asking client


def test_an_error_reply_is_a_value_and_the_connection_goes_on(private_redis):
    async def scenario():
        pipe = redis_pipe.RedisPipe(private_redis.url)
        replies = await pipe.execute(("SET", "s", "text"), ("INCR", "s"), ("EVALSHA", "0" * 40, 0), ("GET", "s"))
        pipe.close()
        return replies

    ok, not_a_number, noscript, value = asyncio.run(scenario())
    assert ok == b"OK" and value == b"text"
    assert isinstance(not_a_number, redis_pipe.ReplyError) and "not an integer" in str(not_a_number)
    assert isinstance(noscript, redis_pipe.ReplyError) and str(noscript).startswith("NOSCRIPT")


def test_a_killed_connection_fails_its_commands_and_the_next_command_reconnects(private_redis):
    admin = redis.Redis(port=private_redis.port)

    async def scenario():
        pipe = redis_pipe.RedisPipe(private_redis.url)
        assert await pipe.execute(("CLIENT", "SETNAME", "pipe")) == [b"OK"]
        blocked = asyncio.ensure_future(pipe.execute(("BLPOP", "never", 0)))  # waits until killed
        await asyncio.sleep(0.1)
        await asyncio.to_thread(_kill_named, admin, "pipe")
        with pytest.raises(redis_pipe.PipeBroken):
            await blocked
        again = await pipe.execute(("PING",))
        pipe.close()
        return again

    assert asyncio.run(scenario()) == [b"PONG"]


def _kill_named(admin: redis.Redis, name: str) -> None:
    for client in admin.client_list():
        if client["name"] == name:
            admin.client_kill(client["addr"])


def test_a_server_that_never_answers_fails_the_command_after_the_timeout(monkeypatch):
    monkeypatch.setattr(redis_pipe, "TIMEOUT_S", 0.3)
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()

    async def scenario():
        pipe = redis_pipe.RedisPipe(f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(redis_pipe.PipeBroken, match="did not answer"):
            await pipe.execute(("PING",))
        return loop.time() - started

    try:
        waited = asyncio.run(scenario())
    finally:
        silent.close()
    assert 0.3 <= waited < 2.0


def test_no_server_is_a_broken_pipe_not_a_hang():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe closes

    async def scenario():
        with pytest.raises(redis_pipe.PipeBroken, match="cannot connect"):
            await redis_pipe.RedisPipe(f"redis://127.0.0.1:{port}/0").execute(("PING",))

    asyncio.run(scenario())


def test_encode_speaks_resp_for_str_bytes_and_int():
    assert redis_pipe.encode(("SET", b"k\r\n", 42)) == b"*3\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$2\r\n42\r\n"
    assert redis_pipe.encode(("SET", "é", 1.5)) == b"*3\r\n$3\r\nSET\r\n$2\r\n\xc3\xa9\r\n$3\r\n1.5\r\n"
    assert redis_pipe.encode(("SET", "k", True)) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nTrue\r\n"


def test_posted_commands_wait_for_nothing_yet_land_before_what_is_sent_after(private_redis):
    async def scenario():
        pipe = redis_pipe.RedisPipe(private_redis.url)
        pipe.post(("SET", "early", "1"))  # not connected yet: it connects, then sends
        await pipe.execute(("PING",))
        pipe.post(("INCRBY", "early", 5), ("INCR", "not-a-number-yet"))
        pipe.post(("SET", "text", "x"), ("INCR", "text"))  # an error reply nobody reads is dropped quietly
        (value,) = await pipe.execute(("GET", "early"))
        pipe.close()
        return value

    assert asyncio.run(scenario()) == b"6"
    assert redis.Redis(port=private_redis.port).get("not-a-number-yet") == b"1"


def test_a_posted_command_without_a_good_reply_calls_its_on_failure_and_one_with_a_reply_does_not(private_redis):
    """A log row posted as XADD must not vanish: an error reply, or a connection that breaks before the reply,
    hands it back to the caller (chat.log_stream then writes the row itself)."""
    failed: list[str] = []

    async def scenario():
        pipe = redis_pipe.RedisPipe(private_redis.url)
        pipe.post(("SET", "text", "x"), on_failure=lambda: failed.append("set"))
        pipe.post(("INCR", "text"), on_failure=lambda: failed.append("incr"))  # an error reply
        await pipe.execute(("PING",))
        pipe.post(("SET", "lost", "1"), on_failure=lambda: failed.append("lost"))
        pipe.close()  # before the posted command's reply: its fate is unknown, so it counts as failed
        await asyncio.sleep(0)
        await pipe.execute(("PING",))  # the pipe reconnects for what comes next
        pipe.close()

    asyncio.run(scenario())
    assert failed == ["incr", "lost"]


def test_settle_waits_for_the_replies_of_posted_commands():
    async def scenario():
        assert await redis_pipe.settle() is None  # no pipe on this loop yet: nothing to wait for
        pipe = redis_pipe.pipe()
        pipe.post(("SET", "settled", "1"))
        await redis_pipe.settle()
        waiting = len(pipe._waiting)
        redis_pipe.close_pipe()
        return waiting

    assert asyncio.run(scenario()) == 0
    assert redis.Redis.from_url(settings.GATEWAY.redis_url).get("settled") == b"1"
