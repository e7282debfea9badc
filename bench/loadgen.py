"""A small HTTP/1.1 load generator in Python: asyncio + uvloop + httptools, several processes.

Each connection sends one pre-built request at a time (keep-alive) and parses the
answer with httptools (the C parser uvicorn uses), so the generator costs far less
CPU per request than an aiohttp client and stays out of the way of the server under
test on a 2-core machine. Traffic goes only to 127.0.0.1.

``run(...)`` forks ``processes`` children, gives each a share of the connections,
starts them together and merges what they measured.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from dataclasses import dataclass, field

import httptools

try:  # the gateway's own requirements install uvloop; plain asyncio works too
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None


@dataclass
class Target:
    host: str
    port: int
    path: str
    headers: dict[str, str]
    body: bytes

    def request_bytes(self) -> bytes:
        lines = [f"POST {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Content-Type: application/json",
                 f"Content-Length: {len(self.body)}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)
    ttft_ms: list[float] = field(default_factory=list)
    completed: int = 0
    answered: int = 0  # every 200 answer, warm-up included (each one is a request-log row at the gateway)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)

    def merge(self, other: Result) -> None:
        self.latencies_ms += other.latencies_ms
        self.ttft_ms += other.ttft_ms
        self.completed += other.completed
        self.answered += other.answered
        self.errors += other.errors
        self.error_samples = (self.error_samples + other.error_samples)[:5]


class _Conn(asyncio.Protocol):
    """One keep-alive connection; ``exchange()`` sends the request and waits for the whole answer."""

    def __init__(self) -> None:
        self.transport = None
        self.parser = httptools.HttpResponseParser(self)
        self.done: asyncio.Future | None = None
        self.first_data: float | None = None
        self.body_parts: list[bytes] = []
        self.lost: Exception | None = None
        self.keep_body = False

    # asyncio.Protocol
    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(exc)

    def connection_lost(self, exc) -> None:
        self.lost = exc or ConnectionResetError("server closed the connection")
        self._finish(self.lost)

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        if self.first_data is None and b"data: {" in body:
            self.first_data = time.perf_counter()
        if self.keep_body:
            self.body_parts.append(body)

    def on_message_complete(self) -> None:
        self._finish(None)

    def _finish(self, exc) -> None:
        if self.done is not None and not self.done.done():
            if exc is None:
                self.done.set_result(self.parser.get_status_code())
            else:
                self.done.set_exception(exc if isinstance(exc, BaseException) else ConnectionError(str(exc)))

    async def exchange(self, raw: bytes, keep_body: bool) -> tuple[int, bytes]:
        self.done = asyncio.get_running_loop().create_future()
        self.first_data = None
        self.body_parts = []
        self.keep_body = keep_body
        self.transport.write(raw)
        status = await self.done
        return status, b"".join(self.body_parts)


def _describe(exc: BaseException) -> str:
    """An error sample that says what happened (asyncio's timeouts carry no message)."""
    if isinstance(exc, TimeoutError) and not str(exc):
        return "TimeoutError: the answer was not complete by the client's deadline"
    return f"{type(exc).__name__}: {exc}"


async def _connect(target: Target) -> _Conn:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(_Conn, target.host, target.port)
    return proto


async def _closed_loop(target: Target, connections: int, start_at: float, measure_from: float, stop_at: float,
                       stream: bool) -> Result:
    """``connections`` clients, each sending the next request as soon as the last one is answered."""
    result = Result()
    raw = target.request_bytes()

    async def client() -> None:
        conn: _Conn | None = None
        while time.time() < stop_at:
            try:
                if conn is None or conn.lost is not None:
                    conn = await _connect(target)
                began = time.perf_counter()
                status, body = await asyncio.wait_for(conn.exchange(raw, keep_body=stream),
                                                      timeout=max(stop_at - time.time(), 0) + 30)
                ended_wall = time.time()
                if status != 200:
                    result.error(f"HTTP {status}")
                    continue
                result.answered += 1
                if stream and b"data: [DONE]" not in body:
                    result.error("stream ended without [DONE]")
                    continue
                if b'"error"' in body[:2000] and stream:
                    result.error("error event in stream")
                    continue
                if measure_from <= ended_wall <= stop_at:  # answers that ended in the window: an unbiased rate
                    result.completed += 1
                    result.latencies_ms.append((time.perf_counter() - began) * 1000)
                    if stream and conn.first_data is not None:
                        result.ttft_ms.append((conn.first_data - began) * 1000)
            except (OSError, ConnectionError, TimeoutError, httptools.HttpParserError) as exc:
                result.error(_describe(exc))
                if conn is not None and conn.transport is not None:
                    conn.transport.close()
                conn = None
                await asyncio.sleep(0.01)
        if conn is not None and conn.transport is not None:
            conn.transport.close()

    await asyncio.sleep(max(start_at - time.time(), 0))
    await asyncio.gather(*(client() for _ in range(connections)))
    return result


async def _one_shot(target: Target, connections: int, start_at: float, timeout: float) -> Result:
    """``connections`` streams opened together, each read to its end once (the slow-streams hold)."""
    result = Result()
    raw = target.request_bytes()

    async def client() -> None:
        conn = None
        try:
            conn = await asyncio.wait_for(_connect(target), timeout=timeout)
            began = time.perf_counter()
            status, body = await asyncio.wait_for(conn.exchange(raw, keep_body=True), timeout=timeout)
            if status == 200:
                result.answered += 1
            if status != 200:
                result.error(f"HTTP {status}")
            elif b"data: [DONE]" not in body:
                result.error("stream ended without [DONE]")
            elif b'"error"' in body:
                result.error("error event in stream")
            else:
                result.completed += 1
                result.latencies_ms.append((time.perf_counter() - began) * 1000)
                if conn.first_data is not None:
                    result.ttft_ms.append((conn.first_data - began) * 1000)
        except (OSError, ConnectionError, TimeoutError, httptools.HttpParserError) as exc:
            result.error(_describe(exc))
        finally:
            if conn is not None and conn.transport is not None:
                conn.transport.close()

    await asyncio.sleep(max(start_at - time.time(), 0))
    await asyncio.gather(*(client() for _ in range(connections)))
    return result


def _child(args: tuple) -> Result:
    kind, target, connections, *rest = args
    if uvloop is not None:
        uvloop.install()
    if kind == "closed":
        return asyncio.run(_closed_loop(target, connections, *rest))
    return asyncio.run(_one_shot(target, connections, *rest))


def _split(total: int, parts: int) -> list[int]:
    parts = max(1, min(parts, total))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run(target: Target, *, concurrency: int, duration: float, warmup: float, stream: bool, processes: int) -> dict:
    """Closed-loop load: ``concurrency`` connections for ``warmup + duration`` s; figures from the last ``duration``."""
    shares = _split(concurrency, processes)
    start_at = time.time() + 0.3
    measure_from = start_at + warmup
    stop_at = measure_from + duration
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(len(shares)) as pool:
        parts = pool.map(_child, [("closed", target, n, start_at, measure_from, stop_at, stream) for n in shares])
    merged = Result()
    for part in parts:
        merged.merge(part)
    return summarise(merged, duration)


def hold_streams(target: Target, *, streams: int, processes: int, timeout: float, on_wait=None) -> dict:
    """Open ``streams`` streaming requests at once and read each to its end; ``on_wait()`` is polled meanwhile."""
    shares = _split(streams, processes)
    start_at = time.time() + 0.3
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(len(shares)) as pool:
        pending = pool.map_async(_child, [("once", target, n, start_at, timeout) for n in shares])
        while not pending.ready():
            if on_wait is not None:
                on_wait()
            pending.wait(0.2)
        parts = pending.get()
    merged = Result()
    for part in parts:
        merged.merge(part)
    return summarise(merged, None)


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(int(round(pct / 100 * (len(ordered) - 1))), len(ordered) - 1)
    return ordered[index]


def summarise(result: Result, duration: float | None) -> dict:
    out = {
        "requests": result.completed,
        "answered": result.answered,
        "errors": result.errors,
        "error_samples": result.error_samples,
        "p50_ms": _round(percentile(result.latencies_ms, 50)),
        "p99_ms": _round(percentile(result.latencies_ms, 99)),
        "ttft_p50_ms": _round(percentile(result.ttft_ms, 50)),
        "ttft_p99_ms": _round(percentile(result.ttft_ms, 99)),
    }
    if duration:
        out["rps"] = round(result.completed / duration, 1)
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
