"""x-gateway-overhead-ms: on every /v1 answer, whole and streamed, and smaller than the total time."""

from __future__ import annotations

import time

import httpx

from chat.tests.conftest import LLAMA

CHAT = {"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]}


def _overhead(response: httpx.Response, total_ms: float) -> float:
    overhead = float(response.headers["x-gateway-overhead-ms"])
    assert 0 <= overhead < total_ms, (overhead, total_ms)
    return overhead


def test_the_overhead_header_is_on_whole_answers_and_below_the_total_time(caller):
    started = time.perf_counter()
    raw = caller.client.chat.completions.with_raw_response.create(**CHAT, extra_body={"sim": {"fault": "slow:300"}})
    total_ms = (time.perf_counter() - started) * 1000
    overhead = float(raw.headers["x-gateway-overhead-ms"])
    assert raw.parse().choices[0].message.content
    assert 0 <= overhead < total_ms - 250  # the upstream's 300 ms wait is not the gateway's


def test_the_overhead_header_is_in_a_streams_head(caller, gateway):
    started = time.perf_counter()
    with httpx.stream("POST", f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {caller.secret}"},
                      json={**CHAT, "stream": True}, timeout=30) as response:
        head_ms = (time.perf_counter() - started) * 1000
        assert response.status_code == 200
        _overhead(response, head_ms)
        assert "[DONE]" in response.read().decode()


def test_refusals_failures_and_the_model_list_carry_it_too(caller, gateway):
    key = {"Authorization": f"Bearer {caller.secret}"}
    for method, path, body, status in (
        ("POST", "/v1/chat/completions", {"model": LLAMA}, 400),
        ("POST", "/v1/chat/completions", {**CHAT, "sim": {"fault": "500"}}, 502),
        ("GET", "/v1/models", None, 200),
        ("GET", "/v1/nowhere/at/all", None, 404),
    ):
        started = time.perf_counter()
        response = httpx.request(method, f"{gateway.url}{path}", headers=key, json=body, timeout=30)
        assert response.status_code == status
        _overhead(response, (time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    response = httpx.get(f"{gateway.url}/v1/models", headers={"Authorization": "Bearer sk-gw-nope"}, timeout=30)
    assert response.status_code == 401
    _overhead(response, (time.perf_counter() - started) * 1000)
