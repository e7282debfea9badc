"""The load generator's stream check over a real loopback server that frames SSE the way LiteLLM's proxy does.

The framing is what LiteLLM 1.108.7 sent in bench/peers.py (fewer headers, shorter events): chunked
transfer encoding, one ``data: {...}\\n\\n`` event per chunk, ``data: [DONE]\\n\\n``, then the last chunk. A
complete stream counts as an answer with a time to first token; one cut before ``[DONE]`` or carrying an error
event counts as an error.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import loadgen

SERVER = r'''
import asyncio, json, sys

HEAD = (b"HTTP/1.1 200 OK\r\nx-litellm-version: 1.108.7\r\ncache-control: no-cache\r\nx-accel-buffering: no\r\n"
        b"content-type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n")


def event(delta, finish=None, **extra):
    choice = {"index": 0, "delta": delta, **({"finish_reason": finish} if finish else {})}
    data = {"id": "gen-1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [choice], **extra}
    return b"data: " + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def events(path):
    out = [event({"role": "assistant", "content": ""})] + [event({"content": w}) for w in ("Hello", " there")]
    if path == "/error":  # an error event, even one followed by [DONE], fails the stream
        return out + [event({"content": ""}, "error", error={"code": 502, "message": "upstream failed"}),
                      b"data: [DONE]\n\n"]
    out.append(event({}, "stop"))
    return out if path == "/cut" else out + [b"data: [DONE]\n\n"]


async def serve(reader, writer):
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:  # the client closed its keep-alive connection
            writer.close()
            return
        path = head.split(b" ")[1].decode()
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
        await reader.readexactly(length)
        writer.write(HEAD)
        for payload in events(path):
            writer.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
'''


@pytest.fixture(scope="module")
def litellm_like_port(tmp_path_factory):
    script = Path(tmp_path_factory.mktemp("sse")) / "server.py"
    script.write_text(SERVER)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        yield int(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _run(port: int, path: str) -> dict:
    target = loadgen.Target("127.0.0.1", port, path, {"Authorization": "Bearer x"}, b'{"stream": true}')
    return loadgen.run(target, concurrency=2, duration=0.3, warmup=0.1, stream=True, processes=1)


def test_a_litellm_framed_stream_counts_as_an_answer_with_its_time_to_first_token(litellm_like_port):
    got = _run(litellm_like_port, "/stream")
    assert got["errors"] == 0, got["error_samples"]
    assert got["requests"] > 0 and got["ttft_p50_ms"] is not None


@pytest.mark.parametrize(("path", "sample"), [("/cut", "stream ended without [DONE]"),
                                              ("/error", "error event in stream")])
def test_a_stream_cut_before_done_or_carrying_an_error_counts_as_an_error(litellm_like_port, path, sample):
    got = _run(litellm_like_port, path)
    assert got["requests"] == 0 and got["errors"] > 0
    assert set(got["error_samples"]) == {sample}
