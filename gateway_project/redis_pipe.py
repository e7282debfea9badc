"""One pipelined Redis connection per event loop: the commands every /v1 request sends.

redis-py's asyncio client checks a connection out of a pool, arms a timeout and
a retry wrapper, writes and reads, for each command: at c=64 that was a fifth of
a gateway worker's CPU for two small scripts per request. Here every command of
every concurrent request goes down one connection: commands issued in the same
event-loop turn leave in one write, replies are parsed by hiredis (C) in the
order they come back, which is the order Redis received the commands. Lua
scripts stay atomic; nothing about the semantics changes. See
docs/decisions/0024-half-the-cpu-per-request.md.

A reply that is an error comes back as a ``ReplyError`` value (the caller
decides: NOSCRIPT is not an outage). A connection that breaks, cannot be made,
or leaves a command unanswered for ``TIMEOUT_S`` fails every command waiting on
it with ``PipeBroken``; the next command connects again.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import ssl
import time
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import hiredis
from django.conf import settings

TIMEOUT_S = 2.0  # as the redis-py clients' socket timeout
ReplyError = hiredis.ReplyError


_scripts: dict[str, str] = {}  # SHA1 -> Lua source: loaded on every new connection, before anything else


def script(source: str) -> str:
    """Register a Lua script and return its SHA1 for EVALSHA. Every connection loads the registered scripts
    as it opens, so EVALSHA finds them even on a restarted Redis, and a posted EVALSHA (whose reply, a
    NOSCRIPT included, nobody reads) never needs the source."""
    sha = hashlib.sha1(source.encode()).hexdigest()
    _scripts[sha] = source
    return sha


class PipeBroken(ConnectionError):
    """The connection broke, could not be made, or timed out: the commands waiting on it have no answer."""


def encode(command: tuple) -> bytes:
    """One command in RESP: an array of bulk strings. hiredis packs str, bytes, int and float in C (a third of
    the time); anything else (a bool, say) is written as its ``str``."""
    try:
        return hiredis.pack_command(command)
    except TypeError:
        return _encode_any(command)


def _encode_any(command: tuple) -> bytes:
    raw = [a.encode() if type(a) is str else b"%d" % a if type(a) is int else a if type(a) is bytes
           else str(a).encode() for a in command]
    return b"*%d\r\n" % len(raw) + b"".join([b"$%d\r\n%s\r\n" % (len(a), a) for a in raw])


class _Protocol(asyncio.Protocol):
    def __init__(self, pipe: RedisPipe) -> None:
        self.pipe = pipe

    def data_received(self, data: bytes) -> None:
        self.pipe._received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.pipe._lost(self, exc)


class RedisPipe:
    def __init__(self, url: str) -> None:
        self._url = url
        self._transport: asyncio.Transport | None = None
        self._protocol: _Protocol | None = None
        self._connecting: asyncio.Task | None = None
        self._reader = hiredis.Reader()
        self._waiting: collections.deque[tuple[asyncio.Future, float]] = collections.deque()
        self._out: list[bytes] = []
        self._flush_soon = False
        self._watchdog: asyncio.TimerHandle | None = None

    async def execute(self, *commands: tuple) -> list:
        """Send ``commands`` together; return their replies in order (an error reply is a ``ReplyError``)."""
        return [await future for future in self._send(commands)]

    def post(self, *commands: tuple, on_failure: Callable[[], None] | None = None) -> None:
        """Send ``commands`` and wait for nothing: they still reach Redis before any command sent after them.

        For writes nobody reads the answer of (a model-health sample, a log row): the request does not
        wait a round trip for them. A reply is dropped; so is a command the connection breaks under,
        unless ``on_failure`` is given: it is then called, once per command, for an error reply or a
        command that got no reply (whether Redis applied it is then unknown).
        """
        futures = self._send(commands)
        if on_failure is not None:
            def failed(future: asyncio.Future) -> None:
                if future.cancelled() or future.exception() is not None or isinstance(future.result(), ReplyError):
                    on_failure()

            for future in futures:
                future.add_done_callback(failed)

    def _send(self, commands: tuple, *, first: bool = False) -> list[asyncio.Future]:
        """Queue ``commands`` (at the front with ``first``: a new connection's set-up) and their futures.

        Without a connection they wait in the queue, in order, while one is made.
        """
        loop = asyncio.get_running_loop()
        now = time.monotonic()
        futures = [loop.create_future() for _ in commands]
        encoded = [encode(command) for command in commands]
        if first:
            self._waiting.extendleft((f, now) for f in reversed(futures))
            self._out[:0] = encoded
        else:
            self._waiting.extend((f, now) for f in futures)
            self._out += encoded
        if self._transport is None:
            if self._connecting is None or self._connecting.done():
                self._connecting = loop.create_task(self._open())
        elif not self._flush_soon:
            self._flush_soon = True
            loop.call_soon(self._flush)
        if self._watchdog is None:
            self._watchdog = loop.call_later(TIMEOUT_S / 2, self._check_overdue)
        return futures

    def _flush(self) -> None:
        self._flush_soon = False
        if self._out and self._transport is not None:
            out, self._out = self._out, []
            self._transport.write(b"".join(out))

    def _received(self, data: bytes) -> None:
        self._reader.feed(data)
        while (reply := self._reader.gets()) is not False:
            future, _ = self._waiting.popleft()
            if not future.done():  # a caller that gave up still had its reply in the stream
                future.set_result(reply)

    def _check_overdue(self) -> None:
        self._watchdog = None
        if not self._waiting:
            return
        if time.monotonic() - self._waiting[0][1] > TIMEOUT_S:
            self._fail(PipeBroken(f"Redis did not answer within {TIMEOUT_S:.0f}s"))
        else:
            self._watchdog = asyncio.get_running_loop().call_later(TIMEOUT_S / 2, self._check_overdue)

    def _lost(self, protocol: _Protocol, exc: Exception | None) -> None:
        if protocol is self._protocol:
            self._fail(PipeBroken(f"Redis connection lost: {exc or 'closed by the server'}"))

    def _fail(self, error: PipeBroken) -> None:
        transport, self._transport, self._protocol = self._transport, None, None
        waiting, self._waiting = self._waiting, collections.deque()
        self._out = []
        self._reader = hiredis.Reader()
        if transport is not None:
            transport.abort()
        for future, _ in waiting:
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: a caller that stopped waiting must not leave a warning behind

    async def _open(self) -> None:
        """Connect, send the set-up (AUTH, SELECT, the scripts) ahead of whatever waits, and flush; or fail what
        waits."""
        loop = asyncio.get_running_loop()
        parts = urlsplit(self._url)
        try:
            if parts.scheme == "unix":
                connect = loop.create_unix_connection(lambda: _Protocol(self), parts.path)
            else:
                tls = ssl.create_default_context() if parts.scheme == "rediss" else None
                connect = loop.create_connection(lambda: _Protocol(self), parts.hostname or "127.0.0.1",
                                                 parts.port or 6379, ssl=tls)
            transport, protocol = await asyncio.wait_for(connect, TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            self._fail(PipeBroken(f"cannot connect to Redis: {exc}"))
            return
        self._transport, self._protocol = transport, protocol
        self._reader = hiredis.Reader()
        setup = []
        if parts.password:
            user = unquote(parts.username) if parts.username else "default"
            setup.append(("AUTH", user, unquote(parts.password)))
        db = parts.path.strip("/") if parts.scheme != "unix" else ""
        if db and db != "0":
            setup.append(("SELECT", db))
        setup += [("SCRIPT", "LOAD", source) for source in _scripts.values()]
        replies = self._send(tuple(setup), first=True)
        self._flush()
        for reply in replies:
            try:
                refused = isinstance(await reply, ReplyError)
            except PipeBroken:
                return
            if refused:
                self._fail(PipeBroken("Redis refused the connection's set-up (AUTH, SELECT or SCRIPT LOAD)"))
                return

    def close(self) -> None:
        self._fail(PipeBroken("closed"))


_pipes: dict[int, tuple[asyncio.AbstractEventLoop, RedisPipe]] = {}


def pipe() -> RedisPipe:
    """This event loop's pipe to ``REDIS_URL`` (a connection belongs to one loop)."""
    loop = asyncio.get_running_loop()
    found = _pipes.get(id(loop))
    if found is None or found[0] is not loop:  # a new loop may reuse a closed one's id
        found = _pipes[id(loop)] = (loop, RedisPipe(settings.GATEWAY.redis_url))
    return found[1]


async def settle() -> None:
    """Wait until every command this loop's pipe sent or posted has its reply (server shutdown, before closing it)."""
    found = _pipes.get(id(asyncio.get_running_loop()))
    if found is not None and found[1]._waiting:
        try:
            await found[1].execute(("PING",))
        except PipeBroken:
            pass  # what was posted failed with it: its on_failure callbacks have run or are scheduled


def close_pipe() -> None:
    """Close this loop's pipe (server shutdown, tests switching Redis databases)."""
    found = _pipes.pop(id(asyncio.get_running_loop()), None)
    if found is not None:
        found[1].close()
