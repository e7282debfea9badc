"""The simulator over real loopback HTTP: its OpenRouter routes, faults, free-tier limits and control API."""

from __future__ import annotations

import json

import httpx
import pytest

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
GEMMA = "google/gemma-3-27b-it:free"
KEY = {"Authorization": "Bearer sk-or-test-key-1234"}


def _chat(sim, body: dict, headers: dict | None = None) -> httpx.Response:
    body = {"model": LLAMA, "messages": [{"role": "user", "content": "hi there"}], **body}
    return httpx.post(f"{sim.base_url}/chat/completions", json=body, headers=KEY if headers is None else headers, timeout=10)


def test_chat_echoes_the_last_message_with_usage(sim):
    reply = _chat(sim, {})
    assert reply.status_code == 200
    data = reply.json()
    assert data["model"] == LLAMA and data["id"].startswith("gen-")
    assert data["choices"][0]["message"]["content"] == f"Hello from {LLAMA}. You said: hi there"
    assert data["usage"]["prompt_tokens"] == 6 and data["usage"]["completion_tokens"] == 7
    assert sim.requests()[-1]["key"] == "sk-or-test-key-1234" and "authorization" not in sim.requests()[-1]["headers"]


def test_chat_calls_the_first_tool_when_tools_are_offered(sim):
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"properties": {"q": {}}}}}
    message = _chat(sim, {"tools": [tool]}).json()["choices"][0]
    assert message["finish_reason"] == "tool_calls"
    call = message["message"]["tool_calls"][0]
    assert call["function"]["name"] == "lookup" and json.loads(call["function"]["arguments"]) == {"q": "hi there"}


def test_stream_sends_chunks_then_usage_then_done(sim):
    with httpx.stream("POST", f"{sim.base_url}/chat/completions", headers=KEY, timeout=10,
                      json={"model": LLAMA, "messages": [{"role": "user", "content": "hi"}], "stream": True,
                            "stream_options": {"include_usage": True}}) as response:
        events = [line.removeprefix("data: ") for line in response.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == f"Hello from {LLAMA}. You said: hi"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 6


def test_missing_or_revoked_key_is_refused_with_openrouters_401(sim):
    assert _chat(sim, {}, headers={}).json() == {"error": {"code": 401, "message": "No auth credentials found"}}
    sim.configure(revoked_keys=["sk-or-test-key-1234"])
    assert _chat(sim, {}).status_code == 401


@pytest.mark.parametrize("fault, status", [("400", 400), ("402", 402), ("502", 502), ("429_minute", 429)])
def test_a_fault_in_the_body_answers_its_status(sim, fault, status):
    reply = _chat(sim, {"sim": {"fault": fault}})
    assert reply.status_code == status and reply.json()["error"]["code"] == status


def test_a_fault_with_times_plays_only_the_first_n_times(sim):
    body = {"sim": {"fault": "503", "times": 2, "id": "retry-me"}}
    assert [_chat(sim, body).status_code for _ in range(3)] == [503, 503, 200]


def test_provider_429_carries_retry_after(sim):
    reply = _chat(sim, {"sim": {"fault": "429_provider:3"}})
    assert reply.status_code == 429 and reply.headers["retry-after"] == "3"
    assert reply.json()["error"]["metadata"]["retry_after_seconds"] == 3.0


def test_the_models_fallback_list_skips_a_failing_model(sim):
    reply = _chat(sim, {"models": [GEMMA], "sim": {"faults": {LLAMA: "500"}}})
    assert reply.status_code == 200 and reply.json()["model"] == GEMMA


def test_free_tier_limits_count_per_account_and_answer_429_with_headers(sim):
    sim.configure(limits={"rpm": 2}, accounts={"sk-or-a": "acct-1", "sk-or-b": "acct-1"})
    first = _chat(sim, {}, headers={"Authorization": "Bearer sk-or-a"})
    assert first.headers["x-ratelimit-remaining"] == "1"
    assert _chat(sim, {}, headers={"Authorization": "Bearer sk-or-b"}).status_code == 200
    spent = _chat(sim, {}, headers={"Authorization": "Bearer sk-or-a"})
    assert spent.status_code == 429 and spent.headers["x-ratelimit-remaining"] == "0"
    [(account, counts)] = sim.state()["accounts"].items()
    assert (account, counts["minute"], counts["day"], counts["refused"]) == ("acct-1", 2, 2, 1)
    assert counts["minute_reset"] == pytest.approx(int(first.headers["x-ratelimit-reset"]) / 1000, abs=0.01)


def test_one_accounts_own_limits_and_get_key_say_them(sim):
    sim.configure(accounts={"sk-or-a": "acct-1", "sk-or-b": "acct-2"}, account_limits={"acct-1": {"rpm": 1}},
                  paid_accounts=["acct-2"])
    a, b = {"Authorization": "Bearer sk-or-a"}, {"Authorization": "Bearer sk-or-b"}
    assert [_chat(sim, {}, headers=a).status_code for _ in range(2)] == [200, 429]
    assert [_chat(sim, {}, headers=b).status_code for _ in range(2)] == [200, 200]  # no limits of its own
    info_a = httpx.get(f"{sim.base_url}/key", headers=a).json()["data"]
    info_b = httpx.get(f"{sim.base_url}/key", headers=b).json()["data"]
    assert (info_a["is_free_tier"], info_a["rate_limit"]["requests"]) == (True, 1)
    assert (info_b["is_free_tier"], info_b["rate_limit"]["requests"]) == (False, -1)


@pytest.mark.parametrize("stream", [False, True])
def test_200_error_answers_200_with_an_error_body_or_first_event(sim, stream):
    reply = _chat(sim, {"stream": stream, "sim": {"fault": "200_error:429"}})
    assert reply.status_code == 200
    text = reply.text
    if stream:
        [data] = [line for line in text.splitlines() if line.startswith("data: ")]
        payload = json.loads(data[6:])
        assert payload["choices"][0]["finish_reason"] == "error"
    else:
        payload = reply.json()
        assert "choices" not in payload
    assert payload["error"]["code"] == 429 and payload["error"]["message"] == "Provider returned error"


def test_usage_cost_is_the_catalogs_prices_or_what_the_request_names(sim):
    paid = "openai/gpt-4o-mini"  # $0.15 / $0.60 per million tokens
    usage = _chat(sim, {"model": paid}).json()["usage"]
    assert usage["cost"] == pytest.approx(usage["prompt_tokens"] * 0.15e-6 + usage["completion_tokens"] * 0.6e-6)
    assert _chat(sim, {}).json()["usage"]["cost"] == 0
    assert _chat(sim, {"sim": {"cost": 0.5}}).json()["usage"]["cost"] == 0.5


def test_paths_record_the_attribution_headers(sim):
    _chat(sim, {}, headers={**KEY, "HTTP-Referer": "https://app.example", "X-Title": "App"})
    [seen] = httpx.get(f"{sim.root}/_sim/paths").json()["paths"]
    assert (seen["path"], seen["referer"], seen["title"]) == ("/api/v1/chat/completions", "https://app.example", "App")


def test_control_api_changes_the_models_list_and_reset_restores_it(sim):
    root = sim.base_url
    assert any(m["id"] == LLAMA for m in httpx.get(f"{root}/models").json()["data"])
    sim.configure(remove_models=[LLAMA], add_models=[{"id": "new/model:free"}])
    ids = [m["id"] for m in httpx.get(f"{root}/models").json()["data"]]
    assert LLAMA not in ids and "new/model:free" in ids
    assert _chat(sim, {}).status_code == 404
    sim.reset()
    assert any(m["id"] == LLAMA for m in httpx.get(f"{root}/models").json()["data"])
    assert sim.requests() == []


def test_unknown_routes_answer_404_in_openrouters_shape(sim):
    assert httpx.get(f"{sim.root}/elsewhere").json() == {"error": {"code": 404, "message": "No route for /elsewhere"}}
    assert httpx.post(f"{sim.root}/_sim/nothing").status_code == 404
    assert httpx.get(f"{sim.base_url}/nothing", headers=KEY).json()["error"]["message"] == "No route for GET /api/v1/nothing"


def test_embeddings_and_key_info(sim):
    vectors = httpx.post(f"{sim.base_url}/embeddings", headers=KEY, json={"model": "m", "input": ["a", "b c"]}).json()
    assert [d["index"] for d in vectors["data"]] == [0, 1] and vectors["usage"]["prompt_tokens"] == 3
    info = httpx.get(f"{sim.base_url}/key", headers=KEY).json()["data"]
    assert info["label"] == "sim-…1234" and info["is_free_tier"] is True
