"""A lean HTTP/1.1 client connection: one request at a time on a keep-alive socket, parsed by httptools.

The upstream client of the hot path (``chat.proxy.upstream``) needs only this much of
HTTP: send a request whose body is already bytes, read the status and headers, then
the body whole or chunk by chunk (SSE), and reuse the socket. aiohttp's client
builds a request object, a URL object, cookie and tracing hooks, a timer, a
multidict and a stream reader for each request: about 300 µs of CPU a request on
this kind of machine, against about 100 µs here (docs/decisions/0026-lean-client-and-logs-off-the-gateway.md).

A ``Response`` returns its connection to the pool as soon as the last byte of
the answer has arrived (the bytes wait in the response); an answer abandoned
before its end closes the connection, so a socket is never reused mid-answer.
Reading is paused while more than ``HIGH_WATER`` bytes wait unread (a slow
client of a fast stream), and resumed once they are read.
"""

from __future__ import annotations

import asyncio
import collections
import time
import zlib
from collections.abc import AsyncIterator, Callable

import httptools

HIGH_WATER = 256 * 1024  # unread answer bytes at which the socket stops being read


class UpstreamBroken(ConnectionError):
    """The connection failed, closed early, or spoke something that is not HTTP. ``answered`` says whether any byte
    of an answer had arrived (a request that got none, on a reused connection, may be sent again)."""

    def __init__(self, message: str, *, answered: bool = True) -> None:
        super().__init__(message)
        self.answered = answered


class Headers(dict):
    """An answer's headers: lowercased names to values (a repeated name's values joined by ``, ``), read with any
    capitalisation; ``raw`` keeps every (name, value) pair as sent."""

    __slots__ = ("raw",)

    def get(self, name: str, default=None):
        return dict.get(self, name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, name.lower())


def _decoder(encoding: str | None):
    """A streaming decompressor for the answer's ``Content-Encoding`` (gzip or deflate), or None."""
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    return None


class Response:
    """One answer: ``status`` and ``headers`` as soon as they arrive, then the body through ``read()`` (whole) or
    ``read_chunk()`` (whatever arrived, ``b""`` at the end)."""

    __slots__ = ("status", "headers", "_conn", "_parts", "_buffered", "_complete", "_error", "_waiter", "_decoder",
                 "_paused", "_whole")

    def __init__(self, conn: Connection) -> None:
        self.status = 0
        self.headers = Headers()
        self.headers.raw = []
        self._conn: Connection | None = conn
        self._parts: list[bytes] = []
        self._buffered = 0
        self._complete = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future | None = None
        self._decoder = None
        self._paused = False
        self._whole = False  # read() wants everything: never pause the socket for it

    # -- what the connection tells it

    def _feed(self, data: bytes) -> None:
        if self._decoder is not None:
            try:
                data = self._decoder.decompress(data)
            except zlib.error as exc:
                self._fail(UpstreamBroken(f"the upstream's compressed answer does not decode: {exc}"))
                return
        if data:
            self._parts.append(data)
            self._buffered += len(data)
            if self._buffered > HIGH_WATER and not self._paused and not self._whole and self._conn is not None:
                self._paused = True
                self._conn.transport.pause_reading()
            self._wake()

    def _finish(self) -> None:
        if self._decoder is not None:
            tail = self._decoder.flush()
            if tail:
                self._parts.append(tail)
        self._complete = True
        self._conn = None  # the connection is the pool's again: nothing here may touch it
        self._wake()

    def _fail(self, error: BaseException) -> None:
        if self._complete or self._error is not None:
            return
        self._error = error
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    # -- what the caller does

    async def read(self) -> bytes:
        """The whole body (decoded; the same bytes on every call); raise ``UpstreamBroken`` when the connection breaks
        first."""
        self._whole = True
        if self._paused and self._conn is not None:
            self._paused = False
            self._conn.transport.resume_reading()
        while not self._complete:
            if self._error is not None:
                raise self._error
            await self._wait()
        if len(self._parts) != 1:
            self._parts = [b"".join(self._parts)]
        return self._parts[0]

    async def read_chunk(self) -> bytes:
        """What has arrived since the last call (waiting for something), or ``b""`` once the answer is complete.
        Raise ``UpstreamBroken`` when the connection breaks before the end."""
        while not self._parts:
            if self._error is not None:
                raise self._error
            if self._complete:
                return b""
            await self._wait()
        parts, self._parts = self._parts, []
        self._buffered = 0
        if self._paused and self._conn is not None:
            self._paused = False
            self._conn.transport.resume_reading()
        return parts[0] if len(parts) == 1 else b"".join(parts)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives."""
        while chunk := await self.read_chunk():
            yield chunk

    def close(self) -> None:
        """Stop reading: an answer not complete yet closes its connection (it cannot be reused mid-answer).
        Safe to call at any time, any number of times."""
        conn, self._conn = self._conn, None
        if conn is not None and not self._complete:
            conn.close()
        if self._error is None and not self._complete:
            self._error = UpstreamBroken("the answer was closed before its end")

    release = close  # nothing else to give back: a complete answer's connection went back to the pool already


class Connection(asyncio.Protocol):
    """One keep-alive connection to an origin; ``on_idle(conn)`` takes it back after each complete answer."""

    def __init__(self, on_idle: Callable[[Connection], None]) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.requests = 0  # answers received on it so far: a reused connection has one or more
        self.idle_since = 0.0
        self._on_idle = on_idle
        self._parser = httptools.HttpResponseParser(self)
        self._response: Response | None = None
        self._head: asyncio.Future | None = None
        self._interim = False
        self._until_eof = False
        self._bodiless = False  # the answer to a HEAD request: headers only, whatever its length says

    # -- asyncio.Protocol

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._broken(UpstreamBroken(f"the upstream's answer is not valid HTTP/1.1: {exc}",
                                        answered=self._response is not None and self._response.status > 0))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        response = self._response
        if response is not None and self._until_eof and response.status and not response._complete:
            self._response = None
            response._finish()  # an answer without a length ends when the connection does
            return
        answered = response is not None and response.status > 0
        self._broken(UpstreamBroken(f"the upstream closed the connection{f': {exc}' if exc else ''}",
                                    answered=answered))

    # -- httptools callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._response is not None:
            self._response.headers.raw.append((name, value))

    def on_headers_complete(self) -> None:
        response = self._response
        if response is None:
            return
        status = self._parser.get_status_code()
        if status < 200:  # 100 Continue and the like: the real answer follows
            self._interim = True
            response.headers.raw.clear()
            return
        response.status = status
        headers = response.headers
        for name, value in headers.raw:
            key = name.decode("latin-1").lower()
            text = value.decode("latin-1")
            dict.__setitem__(headers, key, f"{dict.__getitem__(headers, key)}, {text}" if key in headers else text)
        encoding = dict.get(headers, "content-encoding")
        if encoding is not None:
            response._decoder = _decoder(encoding.strip().lower())
        self._until_eof = (status not in (204, 304) and "content-length" not in headers
                           and "chunked" not in dict.get(headers, "transfer-encoding", "").lower())
        head = self._head
        if head is not None and not head.done():
            head.set_result(response)
        if self._bodiless:  # the parser would wait for the body the length announces: end here, and drop the socket
            self._response = None
            response._finish()
            self.close()

    def on_body(self, body: bytes) -> None:
        if self._response is not None:
            self._response._feed(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        response, self._response = self._response, None
        reusable = self._parser.should_keep_alive() and not self.closed and not self.transport.get_write_buffer_size()
        self.requests += 1
        if response is not None:
            response._finish()
        if reusable:
            self.idle_since = time.monotonic()
            self._on_idle(self)
        else:
            self.close()

    # -- the caller

    async def send(self, raw: bytes, *, bodiless: bool = False) -> Response:
        """Write one whole request and return its answer once the status line and headers have arrived
        (``bodiless``: the request is a HEAD, whose answer has no body)."""
        if self.closed or self.transport is None:
            raise UpstreamBroken("the connection is closed", answered=False)
        response = self._response = Response(self)
        self._head = head = asyncio.get_running_loop().create_future()
        self._until_eof = False
        self._bodiless = bodiless
        self.transport.write(raw)
        try:
            return await head
        except BaseException:
            response.close()  # cancelled or broken before the answer: the connection's state is unknown
            raise
        finally:
            if self._head is head:  # a short answer may have freed the connection for the next request already
                self._head = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def _broken(self, error: UpstreamBroken) -> None:
        self.closed = True
        head, response = self._head, self._response
        self._response = None
        if head is not None and not head.done():
            head.set_exception(error)
        if response is not None:
            response._fail(error)
        if self.transport is not None:
            self.transport.abort()


class OriginPool:
    """Idle keep-alive connections to one origin, newest first; a connection idle past ``keepalive_s`` is closed."""

    def __init__(self, host: str, port: int, ssl_context, keepalive_s: float) -> None:
        self.host, self.port, self.ssl = host, port, ssl_context
        self.keepalive_s = keepalive_s
        self.idle: collections.deque[Connection] = collections.deque()

    def put(self, conn: Connection) -> None:
        self.idle.append(conn)
        oldest = time.monotonic() - self.keepalive_s
        while self.idle and self.idle[0].idle_since < oldest:
            self.idle.popleft().close()

    async def connection(self, *, fresh: bool = False) -> Connection:
        """A live idle connection (unless ``fresh``), or a new one."""
        oldest = time.monotonic() - self.keepalive_s
        while self.idle and not fresh:
            conn = self.idle.pop()
            if not conn.closed and conn.idle_since >= oldest:
                return conn
            conn.close()
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(lambda: Connection(self.put), self.host, self.port, ssl=self.ssl,
                                               server_hostname=self.host if self.ssl else None)
        return conn

    def close(self) -> None:
        while self.idle:
            self.idle.pop().close()
