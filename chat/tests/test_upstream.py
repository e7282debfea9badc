"""The upstream HTTP client (chat/proxy/upstream.py, chat/proxy/http1.py) against real loopback servers.

Each test runs a small asyncio server that answers with exactly the bytes under
test (framings, encodings, broken answers) and counts the connections it saw.
"""

from __future__ import annotations

import asyncio
import gzip
import zlib

import pytest

from chat.proxy import upstream
from chat.proxy.http1 import HIGH_WATER, UpstreamBroken


class Server:
    """A loopback HTTP/1.1 server whose answers are scripted: ``answer(request_bytes, count)`` returns the bytes to
    send (and whether to close afterwards) for the ``count``-th request on the server."""

    def __init__(self, answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[bytes] = []
        self.transports: list[asyncio.Transport] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        self.server = await asyncio.get_running_loop().create_server(lambda: _ServerSide(self), "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc) -> None:
        for transport in self.transports:
            transport.abort()
        self.server.close()
        await upstream.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"


class _ServerSide(asyncio.Protocol):
    def __init__(self, server: Server) -> None:
        self.server = server
        self.buffer = b""

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.server.connections += 1
        self.server.transports.append(transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                return
            request, self.buffer = head + b"\r\n\r\n" + rest[:length], rest[length:]
            self.server.requests.append(request)
            reply, close = self.server.answer(request, len(self.server.requests))
            self.transport.write(reply)
            if close:
                self.transport.close()


def run(coro):
    return asyncio.run(coro)


def ok(body: bytes, *extra: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), b"".join(h + b"\r\n" for h in extra), body)


def test_a_kept_alive_connection_serves_the_next_request():
    async def scenario():
        async with Server(lambda request, n: (ok(b'{"n": %d}' % n), False)) as server:
            answers = []
            for _ in range(3):
                response = await upstream.request("POST", server.url + "/v1/chat", headers={"Authorization": "Bearer k"},
                                                  body=b'{"a": 1}')
                answers.append((response.status, await response.read()))
            return answers, server.connections, server.requests

    answers, connections, requests = run(scenario())
    assert answers == [(200, b'{"n": 1}'), (200, b'{"n": 2}'), (200, b'{"n": 3}')]
    assert connections == 1
    assert requests[0].startswith(b"POST /v1/chat HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"Authorization: Bearer k\r\n" in requests[0] and b"Content-Length: 8\r\n" in requests[0]
    assert requests[0].endswith(b'\r\n\r\n{"a": 1}')


def test_headers_are_read_in_any_capitalisation_and_repeated_ones_are_kept():
    async def scenario():
        reply = ok(b"{}", b"X-RateLimit-Remaining: 7", b"Set-Cookie: a=1", b"Set-Cookie: b=2")
        async with Server(lambda request, n: (reply, False)) as server:
            response = await upstream.request("GET", server.url + "/key", headers={})
            await response.read()
            return response.headers

    headers = run(scenario())
    assert headers.get("x-ratelimit-remaining") == headers.get("X-RateLimit-Remaining") == "7"
    assert headers["set-cookie"] == "a=1, b=2"
    assert [(k, v) for k, v in headers.raw if k == b"Set-Cookie"] == [(b"Set-Cookie", b"a=1"), (b"Set-Cookie", b"b=2")]


def test_a_chunked_stream_arrives_event_by_event_and_whole():
    events = [b"data: {\"i\": %d}\n\n" % i for i in range(5)] + [b"data: [DONE]\n\n"]
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(e), e) for e in events) + b"0\r\n\r\n"
    reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked

    async def scenario():
        async with Server(lambda request, n: (reply, False)) as server:
            response = await upstream.request("POST", server.url + "/s", headers={}, body=b"{}")
            streamed = b"".join([chunk async for chunk in response.iter_chunks()])
            again = await upstream.request("POST", server.url + "/s", headers={}, body=b"{}")
            return streamed, await again.read(), server.connections

    streamed, whole, connections = run(scenario())
    assert streamed == whole == b"".join(events)
    assert connections == 1


def test_a_compressed_answer_is_decoded_whole_and_streamed():
    body = b'{"choices": [{"message": {"content": "' + b"hello " * 2000 + b'"}}]}'
    packed = gzip.compress(body)
    deflated = zlib.compress(body)

    async def scenario():
        replies = {1: ok(packed, b"Content-Encoding: gzip"), 2: ok(deflated, b"Content-Encoding: deflate"),
                   3: ok(packed, b"Content-Encoding: gzip")}
        async with Server(lambda request, n: (replies[n], False)) as server:
            first = await (await upstream.request("GET", server.url + "/a", headers={})).read()
            second = await (await upstream.request("GET", server.url + "/a", headers={})).read()
            response = await upstream.request("GET", server.url + "/a", headers={})
            third = b"".join([chunk async for chunk in response.iter_chunks()])
            return first, second, third

    assert run(scenario()) == (body, body, body)


def test_an_answer_without_a_length_ends_with_its_connection_which_is_not_reused():
    reply = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"

    async def scenario():
        async with Server(lambda request, n: (reply, True)) as server:
            bodies = [await (await upstream.request("GET", server.url + "/", headers={})).read() for _ in range(2)]
            return bodies, server.connections

    assert run(scenario()) == ([b"until the end"] * 2, 2)


def test_a_head_answer_has_no_body_whatever_its_length_says():
    async def scenario():
        async with Server(lambda request, n: (b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", False)) as server:
            async with asyncio.timeout(5):
                response = await upstream.request("HEAD", server.url + "/", headers={})
                return response.status, response.headers["content-length"], await response.read()

    assert run(scenario()) == (200, "1234", b"")


def test_an_interim_100_continue_is_skipped():
    async def scenario():
        async with Server(lambda request, n: (b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"done"), False)) as server:
            response = await upstream.request("POST", server.url + "/", headers={}, body=b"x")
            return response.status, await response.read()

    assert run(scenario()) == (200, b"done")


def test_a_kept_alive_connection_the_upstream_dropped_is_replaced_and_the_request_sent_once_more():
    async def scenario():
        async with Server(lambda request, n: (ok(b"answer %d" % n), n == 1)) as server:  # drops the socket after one
            first = await (await upstream.request("POST", server.url + "/", headers={}, body=b"1")).read()
            await asyncio.sleep(0.05)
            second = await (await upstream.request("POST", server.url + "/", headers={}, body=b"2")).read()
            return first, second, server.connections, len(server.requests)

    assert run(scenario()) == (b"answer 1", b"answer 2", 2, 2)


def test_a_connection_that_breaks_mid_answer_raises_and_is_not_sent_again():
    async def scenario():
        async with Server(lambda request, n: (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part", True)) as server:
            response = await upstream.request("POST", server.url + "/", headers={}, body=b"{}")
            with pytest.raises(UpstreamBroken):
                await response.read()
            return len(server.requests)

    assert run(scenario()) == 1


def test_an_answer_that_is_not_http_is_an_os_error():
    async def scenario():
        async with Server(lambda request, n: (b"SSH-2.0-OpenSSH_9.2\r\n", False)) as server:
            with pytest.raises(OSError):
                async with asyncio.timeout(5):
                    await upstream.request("GET", server.url + "/", headers={})

    run(scenario())


def test_a_closed_port_is_a_refused_connection():
    async def scenario():
        async with Server(lambda request, n: (ok(b""), False)) as server:
            url = server.url
        with pytest.raises(ConnectionRefusedError):
            await upstream.request("GET", url + "/", headers={})

    run(scenario())


def test_a_header_that_would_split_the_request_is_refused_before_anything_is_sent():
    async def scenario():
        async with Server(lambda request, n: (ok(b""), False)) as server:
            with pytest.raises(ValueError):
                await upstream.request("GET", server.url + "/", headers={"X-Title": "a\r\nEvil: 1"})
            return server.connections

    assert run(scenario()) == 0


def test_a_reader_that_stops_reading_stops_the_upstream_sending():
    size = 32 * 1024 * 1024  # far more than the sockets' buffers: only a paused reader holds the server back

    async def scenario():
        async with Server(lambda request, n: (ok(b"x" * size), False)) as server:
            response = await upstream.request("GET", server.url + "/big", headers={})
            first = await response.read_chunk()
            await asyncio.sleep(0.3)
            held_back = server.transports[0].get_write_buffer_size()
            total = len(first) + sum([len(chunk) async for chunk in response.iter_chunks()])
            return held_back, total, len(first)

    held_back, total, first = run(scenario())
    assert first <= HIGH_WATER + 1024 * 1024
    assert held_back > size // 2  # most of the answer still waits at the server
    assert total == size


def test_a_cancelled_reader_closes_its_connection_and_the_next_request_opens_another():
    async def scenario():
        def answer(request, n):
            if n == 1:
                return b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nslow", False  # six bytes never come
            return ok(b"fine"), False

        async with Server(answer) as server:
            response = await upstream.request("GET", server.url + "/", headers={})
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await response.read()
            response.close()
            second = await (await upstream.request("GET", server.url + "/", headers={})).read()
            return second, server.connections

    assert run(scenario()) == (b"fine", 2)
