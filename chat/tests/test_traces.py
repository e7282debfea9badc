"""Request traces: the events of a request through the API, live over SSE (across processes), and bounded."""

from __future__ import annotations

import asyncio
import queue
import threading
import time

import httpx
import pytest

from chat.models import RequestLog
from chat.proxy import trace_live
from chat.proxy.trace import END_TYPES
from chat.tests.conftest import LLAMA, QWEN
from testing.browser import jwt_headers
from testing.env import POOL_KEYS
from testing.factories import make_key, make_user, openai_client
from testing.servers import wait_until
from testing.sse import parse_sse

USER = [{"role": "user", "content": "hi"}]
FALLBACK = {"models": [QWEN], "sim": {"faults": {LLAMA: "502"}}}


def _row(request_id: str) -> RequestLog:
    return wait_until(lambda: RequestLog.objects.filter(request_id=request_id).first(), timeout=10)


def _trace(gateway, user, request_id: str) -> httpx.Response:
    _row(request_id)
    return httpx.get(f"{gateway.url}/api/traces/{request_id}", headers=jwt_headers(user), timeout=30)


def test_the_trace_of_a_fallback_lists_the_failed_attempts_before_the_one_that_answered(caller, gateway):
    raw = caller.client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER, extra_body=FALLBACK)
    request_id = raw.headers["x-request-id"]

    answer = _trace(gateway, caller.user, request_id)
    assert answer.status_code == 200
    body = answer.json()
    assert body["requestId"] == request_id and body["modelUsed"] == QWEN
    events = body["events"]
    types = [e["type"] for e in events]
    assert types[:2] == ["accepted", "admitted"] and types[-2:] == ["first_byte", "done"]
    attempts = [e for e in events if e["type"] == "attempt"]
    assert [(a["model"], a["status"], a["verdict"]) for a in attempts] == [
        (LLAMA, 502, "failed"), (LLAMA, 502, "failed"), (QWEN, 200, "served")]
    assert all(a["reason"] and a["account"] and a["key"].startswith("…") for a in attempts)
    assert [e["atMs"] for e in events] == sorted(e["atMs"] for e in events)
    assert events[0]["model"] == LLAMA
    assert events[1]["limitsLeft"]["requests"].isdigit()
    done = events[-1]
    assert done["status"] == 200 and done["modelUsed"] == QWEN and done["tokens"]["total"] > 0
    assert done["finishReasons"] == ["stop"] and done["cost"] == "0"
    assert all(key not in answer.text for key in POOL_KEYS) and caller.secret not in answer.text

    admin = make_user(admin=True)
    assert _trace(gateway, admin, request_id).json()["events"] == events
    other = _trace(gateway, make_user(), request_id)
    assert other.status_code == 404 and "events" not in other.text
    assert httpx.get(f"{gateway.url}/api/traces/{request_id}", timeout=30).status_code == 401
    assert httpx.get(f"{gateway.url}/api/traces/req_nothing", headers=jwt_headers(admin), timeout=30).status_code == 404


def test_a_streamed_answer_has_the_finish_reason_of_each_choice_on_its_end_event(caller, gateway):
    stream = caller.client.chat.completions.create(model=LLAMA, messages=USER, stream=True, n=2, max_tokens=2)
    told = sorted((c.index, c.finish_reason) for chunk in stream for c in chunk.choices if c.finish_reason)
    assert told == [(0, "length"), (1, "length")]  # what the client read

    events = _trace(gateway, caller.user, stream.response.headers["x-request-id"]).json()["events"]
    assert events[-1]["type"] == "done" and events[-1]["finishReasons"] == ["length", "length"]


@pytest.mark.parametrize("ask", [{"model": "nobody/no-such-model", "messages": USER}, {"model": LLAMA}],
                         ids=["unknown-model", "no-messages"])
def test_a_refused_request_has_a_trace(caller, gateway, ask):
    answer = httpx.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {caller.secret}"},
                        json=ask, timeout=30)
    assert answer.status_code in (400, 404)
    events = _trace(gateway, caller.user, answer.headers["x-request-id"]).json()["events"]
    assert [e["type"] for e in events] == ["accepted", "refused"]
    refused = events[-1]
    assert refused["status"] == answer.status_code and refused["reason"]
    error = answer.json()["error"]
    assert refused["code"] == (error["code"] or error["type"])


class _Reader:
    """An SSE stream read in a thread: ``events`` receives each ``(name, data)`` as it arrives."""

    def __init__(self, url: str, headers: dict) -> None:
        self.events: queue.Queue = queue.Queue()
        self.opened = threading.Event()
        self.status = 0
        self._client = httpx.Client(timeout=httpx.Timeout(30, read=60))
        self._thread = threading.Thread(target=self._read, args=(url, headers), daemon=True)
        self._thread.start()
        assert self.opened.wait(30), "the stream did not open"

    def _read(self, url: str, headers: dict) -> None:
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                self.status = response.status_code
                buffer = ""
                for text in response.iter_text():
                    if not self.opened.is_set():
                        self.opened.set()
                    buffer += text
                    *blocks, buffer = buffer.split("\n\n")
                    for event in parse_sse("\n\n".join(blocks) + "\n\n"):
                        self.events.put(event)
        except (httpx.HTTPError, RuntimeError):
            pass
        finally:
            self.opened.set()

    def until(self, predicate, timeout: float = 30.0) -> list:
        """Read events until one matches ``predicate`` (within ``timeout`` s in all, pings or not); return every
        ``trace`` message read."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                name, data = self.events.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no matching trace event within {timeout} s; saw {seen}") from None
            if name == "trace":
                seen.append(data)
                if predicate(data):
                    return seen

    def close(self) -> None:
        self._client.close()


def _ended(request_id: str):
    return lambda m: m["requestId"] == request_id and m["event"]["type"] in ("done", "failed", "refused")


def test_the_admin_stream_delivers_events_from_a_second_gateway_process(caller, gateway, gateway_process_factory):
    second = gateway_process_factory()
    admin = make_user(admin=True)
    reader = _Reader(f"{gateway.url}/api/admin/traces/stream?model={LLAMA}", jwt_headers(admin))
    try:
        assert reader.status == 200
        raw = openai_client(second.url, caller.secret).chat.completions.with_raw_response.create(
            model=LLAMA, messages=USER, extra_body=FALLBACK)
        request_id = raw.headers["x-request-id"]
        seen = [m for m in reader.until(_ended(request_id)) if m["requestId"] == request_id]
        types = [m["event"]["type"] for m in seen]
        assert types[0] == "accepted" and types[-1] == "done"
        verdicts = [m["event"]["verdict"] for m in seen if m["event"]["type"] == "attempt"]
        assert verdicts == ["failed", "failed", "served"]
        assert {m["userId"] for m in seen} == {caller.user.id}
        assert all(key not in str(seen) for key in POOL_KEYS) and caller.secret not in str(seen)
    finally:
        reader.close()


def _first_byte_of(request_id: str):
    return lambda m: m["requestId"] == request_id and m["event"]["type"] == "first_byte"


def test_a_watcher_sees_the_first_byte_of_a_slow_stream_while_it_still_streams(caller, gateway):
    reader = _Reader(f"{gateway.url}/api/traces/stream", jwt_headers(caller.user))
    # Thirteen words, 2.5 s before each (within the upstream idle timeout): the stream would last 30 s.
    words = [{"role": "user", "content": "one two three four five six seven eight"}]
    stream = caller.client.chat.completions.create(model=LLAMA, messages=words, stream=True,
                                                   extra_body={"sim": {"fault": "chunk_delay:2500"}})
    try:
        assert next(stream).choices[0].delta.role == "assistant"  # the first byte reached the client
        request_id = stream.response.headers["x-request-id"]
        seen = [m for m in reader.until(_first_byte_of(request_id), timeout=15) if m["requestId"] == request_id]
        assert [m["event"]["type"] for m in seen] == ["accepted", "admitted", "attempt", "first_byte"]
        stream.close()  # the client goes away: the stream never got to its end
        ended = reader.until(lambda m: m["requestId"] == request_id and m["event"]["type"] in END_TYPES)
        assert [m["event"]["type"] for m in ended if m["requestId"] == request_id] == ["disconnected"]
        first_byte, end = seen[-1]["event"], ended[-1]["event"]
        assert end["status"] == 200 and first_byte["atMs"] < end["atMs"]
        assert first_byte["atMs"] - first_byte["ttftMs"] < 50  # recorded when it happened, not at the end
    finally:
        stream.close()
        reader.close()


def test_a_users_live_view_shows_only_their_own_requests(caller, gateway):
    stranger = make_user()
    stranger_client = openai_client(gateway.url, make_key(stranger))
    reader = _Reader(f"{gateway.url}/api/traces/stream", jwt_headers(caller.user))
    try:
        theirs = stranger_client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
        mine = caller.client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
        seen = reader.until(_ended(mine.headers["x-request-id"]))
        assert {m["userId"] for m in seen} == {caller.user.id}
        assert theirs.headers["x-request-id"] not in str(seen)
    finally:
        reader.close()
    refused = httpx.get(f"{gateway.url}/api/admin/traces/stream", headers=jwt_headers(caller.user), timeout=30)
    assert refused.status_code == 403
    bad = httpx.get(f"{gateway.url}/api/admin/traces/stream?user=not-a-user",
                    headers=jwt_headers(make_user(admin=True)), timeout=30)
    assert bad.status_code == 400 and bad.json()["extra"]["param"] == "user"


def test_a_watcher_that_does_not_read_loses_events_and_requests_go_on(caller, gateway):
    reader = _Reader(f"{gateway.url}/api/traces/stream", jwt_headers(caller.user))  # one that reads
    # and one whose client never reads: its (small) queue fills and stays full
    stuck = trace_live.Watcher(queue=asyncio.Queue(3))
    hub = trace_live.hub()
    hub.watchers.add(stuck)
    try:
        ids = [caller.client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
               .headers["x-request-id"] for _ in range(5)]
        reader.until(_ended(ids[-1]))  # the reading watcher got everything up to the last request's end
        assert stuck.dropped > 0 and stuck.queue.qsize() == 3
    finally:
        hub.unwatch(stuck)
        reader.close()
    wait_until(lambda: RequestLog.objects.filter(user=caller.user, status=200).count() == 5, timeout=10)


def test_the_outgoing_queue_is_bounded_and_drops_rather_than_waits(monkeypatch):
    from accounts.principals import Principal
    from chat.proxy.trace import Trace

    monkeypatch.setattr(trace_live, "QUEUE_MAX", 10)
    hub = trace_live.Hub()
    hub.watchers.add(trace_live.Watcher())
    trace = Trace("req_bounded", Principal(user_id=1, email="a@example.com", role="user"), "api", 0.0)
    for n in range(25):  # no event loop here: nothing drains, as under a burst the drainer has not reached
        hub.publish(trace, {"type": "attempt", "n": n})
    assert len(hub.pending) == 10 and hub.dropped == 15


def test_an_unknown_format_is_refused_before_the_stream_opens(caller, gateway):
    answer = httpx.get(f"{gateway.url}/api/traces/stream?format=xml", headers=jwt_headers(caller.user), timeout=30)
    assert answer.status_code == 400 and answer.json()["extra"]["param"] == "format"


def test_with_traces_off_the_request_is_served_and_logged_without_events(caller, gateway_process_factory):
    """GATEWAY_TRACES=0 (the benchmark's reference, or an operator who needs no traces): the answer, the log row
    and its attempts are as ever; the row holds no events."""
    proc = gateway_process_factory(GATEWAY_TRACES="0")
    raw = openai_client(proc.url, caller.secret).chat.completions.with_raw_response.create(
        model=LLAMA, messages=USER, extra_body=FALLBACK)
    assert raw.parse().choices and raw.headers["x-gateway-model"] == QWEN
    row = _row(raw.headers["x-request-id"])
    assert row.status == 200 and row.model_used == QWEN and len(row.attempts) == 3
    assert row.trace == []
