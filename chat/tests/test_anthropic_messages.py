"""/v1/messages (Anthropic's Messages API) through the real anthropic SDK, in front of the simulator."""

from decimal import Decimal

import anthropic
import httpx
import pytest

from accounts.models import GatewayKey
from accounts.services import credits_top_up, gateway_key_update
from chat.models import RequestLog
from chat.tests.conftest import GEMMA, LLAMA, QWEN
from gateway_project import invalidation
from models_catalog.models import CatalogModel
from models_catalog.services import alias_set
from testing.factories import anthropic_client, make_key
from testing.servers import fresh_minute, wait_until
from testing.sse import post_sse

WEATHER = {"name": "get_weather", "description": "Weather for a city",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
PAID = "openai/gpt-4o-mini"


@pytest.fixture
def claude(caller, gateway):
    """The anthropic SDK with the caller's gateway key (the SDK sends it as a bearer token)."""
    return anthropic_client(gateway.url, caller.secret)


def _rows(count: int) -> list[RequestLog]:
    from chat.logbuffer import log_buffer

    log_buffer().flush_from_thread()
    return wait_until(lambda: list(RequestLog.objects.order_by("created_at"))
                      if RequestLog.objects.count() >= count else None, timeout=10)


def test_create_answers_a_message_with_usage_and_logs_it(claude, sim):
    raw = claude.messages.with_raw_response.create(
        model=LLAMA, max_tokens=100, system="Be brief.",
        messages=[{"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"},
                  {"role": "user", "content": [{"type": "text", "text": "ping pong"}]}],
    )
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.id.startswith("msg_")
    assert message.model == LLAMA
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == f"Hello from {LLAMA}. You said: ping pong"
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 7 and message.usage.input_tokens > 0
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.headers["x-gateway-model"] == LLAMA
    sent = sim.requests()[-1]["body"]
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "first"},
                                {"role": "assistant", "content": "ok"}, {"role": "user", "content": "ping pong"}]
    assert sent["max_tokens"] == 100
    [row] = _rows(1)
    assert row.endpoint == "messages" and row.status == 200 and row.model_used == LLAMA
    assert row.prompt_tokens == message.usage.input_tokens and row.completion_tokens == 7


def test_a_paid_model_is_charged_and_the_row_has_its_cost(claude, caller):
    CatalogModel.objects.filter(model_id=PAID).update(enabled=True)
    invalidation.announce(invalidation.CATALOG)
    credits_top_up(user=caller.user, amount=Decimal("1"), note="test")
    message = claude.messages.create(model=PAID, max_tokens=50, messages=[{"role": "user", "content": "hi"}])
    assert message.usage.input_tokens == 5 and message.usage.output_tokens == 6
    [row] = _rows(1)
    assert row.cost > 0 and row.total_tokens == 11 and row.endpoint == "messages"


def test_images_stop_sequences_and_sampling_reach_the_upstream_translated(claude, sim):
    message = claude.messages.create(
        model=GEMMA, max_tokens=50, stop_sequences=["END"], metadata={"user_id": "u-123"},
        extra_body={"temperature": 0.3, "top_p": 0.9},  # older clients (anthropic-version 2023-06-01) send them
        messages=[{"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
            {"type": "text", "text": "what is this"}]}],
    )
    assert "I see 1 image(s)." in message.content[0].text
    sent = sim.requests()[-1]["body"]
    assert sent["messages"][0]["content"] == [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "text", "text": "what is this"}]
    assert sent["stop"] == ["END"] and sent["temperature"] == 0.3 and sent["top_p"] == 0.9
    assert sent["user"] == "u-123"


def test_max_tokens_cuts_the_answer_with_stop_reason_max_tokens(claude):
    message = claude.messages.create(model=LLAMA, max_tokens=3, messages=[{"role": "user", "content": "a b c d"}])
    assert message.stop_reason == "max_tokens"
    assert message.content[0].text == "Hello from meta-llama/llama-3.3-70b-instruct:free."


def test_stream_gives_anthropics_event_sequence_and_logs_the_usage(claude, caller, gateway):
    with claude.messages.stream(model=LLAMA, max_tokens=100,
                                messages=[{"role": "user", "content": "one two three"}]) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == f"Hello from {LLAMA}. You said: one two three"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens == 8
    response, events = post_sse(f"{gateway.url}/v1/messages", {"x-api-key": caller.secret},
                                {"model": LLAMA, "max_tokens": 100, "stream": True,
                                 "messages": [{"role": "user", "content": "hi"}]})
    names = [name for name, _ in events]
    assert response.headers["content-type"].startswith("text/event-stream")
    assert names[:2] == ["message_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert all(data["type"] == name for name, data in events)
    assert {"content_block_start", "content_block_delta"} <= set(names)
    delta = dict(events)["message_delta"]
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["usage"]["output_tokens"] == 6
    rows = _rows(2)
    assert all(r.endpoint == "messages" and r.stream and r.completion_tokens > 0 for r in rows)


def test_stream_of_a_tool_call_sends_input_json_deltas(claude, caller, gateway):
    with claude.messages.stream(model=LLAMA, max_tokens=100, tools=[WEATHER],
                                messages=[{"role": "user", "content": "Paris"}]) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    [call] = final.content
    assert call.type == "tool_use" and call.name == "get_weather" and call.input == {"city": "Paris"}
    _, events = post_sse(f"{gateway.url}/v1/messages", {"x-api-key": caller.secret},
                         {"model": LLAMA, "max_tokens": 100, "stream": True, "tools": [WEATHER],
                          "messages": [{"role": "user", "content": "Paris"}]})
    start = next(d for n, d in events if n == "content_block_start")
    assert start["content_block"]["type"] == "tool_use" and start["content_block"]["input"] == {}
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    assert deltas == [{"type": "input_json_delta", "partial_json": '{"city": "Paris"}'}]


def test_tools_and_tool_result_make_a_round_trip(claude, sim):
    first = claude.messages.create(model=LLAMA, max_tokens=100, tools=[WEATHER], tool_choice={"type": "any"},
                                   messages=[{"role": "user", "content": "Rome"}])
    [call] = first.content
    assert first.stop_reason == "tool_use" and call.input == {"city": "Rome"}
    sent = sim.requests()[-1]["body"]
    assert sent["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "parameters": WEATHER["input_schema"], "description": "Weather for a city"}}]
    assert sent["tool_choice"] == "required"
    second = claude.messages.create(model=LLAMA, max_tokens=100, tools=[WEATHER], messages=[
        {"role": "user", "content": "Rome"},
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21C"}]},
    ])
    assert second.content[0].text.endswith("You said: the tool said sunny, 21C")
    sent = sim.requests()[-1]["body"]["messages"]
    assert sent[1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": call.id, "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Rome"}'}}]}
    assert sent[2] == {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"}


def test_count_tokens_estimates_without_calling_the_upstream(claude, sim):
    counted = claude.messages.count_tokens(model=LLAMA, messages=[{"role": "user", "content": "x" * 400}])
    with_tools = claude.messages.count_tokens(model=LLAMA, tools=[WEATHER],
                                              messages=[{"role": "user", "content": "x" * 400}])
    assert counted.input_tokens == 100
    assert with_tools.input_tokens > counted.input_tokens
    assert sim.requests() == []


def test_x_api_key_authenticates_and_a_bad_key_is_refused_in_anthropics_shape(caller, gateway):
    by_header = anthropic_client(gateway.url, None, default_headers={"x-api-key": caller.secret})
    assert by_header.messages.create(model=LLAMA, max_tokens=20, messages=[{"role": "user", "content": "hi"}]).content
    r = httpx.post(f"{gateway.url}/v1/chat/completions", headers={"x-api-key": caller.secret},
                   json={"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200  # every /v1 route takes it
    with pytest.raises(anthropic.AuthenticationError) as raised:
        anthropic_client(gateway.url, "sk-gw-wrong").messages.create(
            model=LLAMA, max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body == {"type": "error", "error": {
        "type": "authentication_error", "message": "Invalid API key: it is unknown, disabled, expired or deleted."}}


def test_the_pass_through_never_forwards_the_callers_x_api_key(caller, gateway, sim):
    r = httpx.post(f"{gateway.url}/v1/embeddings", headers={"x-api-key": caller.secret},
                   json={"model": LLAMA, "input": "hello"})
    assert r.status_code == 200
    [seen] = [p for p in httpx.get(f"{sim.root}/_sim/paths").json()["paths"] if p["path"].endswith("/embeddings")]
    assert "x-api-key" not in seen["headers"] and "authorization" in seen["headers"]


def test_a_key_not_allowed_the_model_gets_permission_error(caller, gateway, sim):
    restricted = anthropic_client(gateway.url, make_key(caller.user, models=[QWEN]))
    with pytest.raises(anthropic.PermissionDeniedError) as raised:
        restricted.messages.create(model=LLAMA, max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    assert raised.value.status_code == 403
    assert raised.value.body["type"] == "error"
    assert raised.value.body["error"]["type"] == "permission_error"
    assert sim.requests() == []
    [row] = _rows(1)
    assert row.status == 403 and row.endpoint == "messages"


def test_an_exhausted_rate_limit_gets_rate_limit_error(claude, caller):
    fresh_minute()
    gateway_key_update(key=GatewayKey.objects.get(user=caller.user), rpm=1)
    claude.messages.create(model=LLAMA, max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(anthropic.RateLimitError) as raised:
        claude.messages.create(model=LLAMA, max_tokens=20, messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["error"]["type"] == "rate_limit_error"
    assert 1 <= int(raised.value.response.headers["retry-after"]) <= 60
    rows = _rows(2)
    assert [r.status for r in rows] == [200, 429]
    assert rows[0].prompt_tokens > 0 and rows[0].completion_tokens > 0


def test_an_alias_falls_back_when_its_first_model_fails(claude, sim):
    alias_set(alias="claude-fallback-test", model_id=LLAMA, fallbacks=[QWEN])
    sim.configure(model_faults={LLAMA: "503"})
    raw = claude.messages.with_raw_response.create(model="claude-fallback-test", max_tokens=50,
                                                   messages=[{"role": "user", "content": "hi"}])
    message = raw.parse()
    assert message.model == QWEN and message.content[0].text == f"Hello from {QWEN}. You said: hi"
    assert raw.headers["x-gateway-attempts"] == "3"  # the failing model on both pool keys, then the fallback
    [row] = _rows(1)
    assert row.model_requested == "claude-fallback-test" and row.model_used == QWEN
    assert row.completion_tokens > 0 and [a["model"] for a in row.attempts] == [LLAMA, LLAMA, QWEN]


def test_a_stream_failing_midway_ends_in_one_error_event(claude, caller, gateway, sim):
    sim.configure(model_faults={LLAMA: "midstream"})
    with pytest.raises(anthropic.APIStatusError) as raised:
        with claude.messages.stream(model=LLAMA, max_tokens=100,
                                    messages=[{"role": "user", "content": "a b c d e"}]) as stream:
            "".join(stream.text_stream)
    assert raised.value.body["error"]["type"] == "api_error"
    _, events = post_sse(f"{gateway.url}/v1/messages", {"x-api-key": caller.secret},
                         {"model": LLAMA, "max_tokens": 100, "stream": True,
                          "messages": [{"role": "user", "content": "a b c d e"}]})
    names = [n for n, _ in events]
    assert names[-1] == "error" and names.count("error") == 1 and "message_stop" not in names
    assert events[-1][1] == {"type": "error", "error": {"type": "api_error",
                                                        "message": "Provider disconnected mid-stream"}}
    rows = _rows(2)
    assert all(r.stream and r.endpoint == "messages" and r.error_type for r in rows)


@pytest.mark.parametrize(("body", "param"), [
    ({"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]}, "max_tokens"),
    ({"model": LLAMA, "max_tokens": 10, "messages": [{"role": "system", "content": "hi"}]}, "messages[0].role"),
    ({"model": LLAMA, "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "image", "source": {
        "type": "base64", "media_type": "image/tiff", "data": "x"}}]}]}, "messages[0].content[0].source.media_type"),
    ({"model": LLAMA, "max_tokens": 10, "temperature": 1.5, "messages": [{"role": "user", "content": "hi"}]},
     "temperature"),
    ({"model": LLAMA, "max_tokens": 10, "stop_sequences": [" "], "messages": [{"role": "user", "content": "hi"}]},
     "stop_sequences"),
    ({"model": LLAMA, "max_tokens": 10, "tools": [{"type": "web_search_20250305", "name": "web_search"}],
      "messages": [{"role": "user", "content": "hi"}]}, "tools[0].type"),
], ids=["no-max-tokens", "system-role", "image-type", "temperature", "blank-stop", "server-tool"])
def test_bad_bodies_are_400_invalid_request_error_and_reach_no_upstream(caller, gateway, sim, body, param):
    r = httpx.post(f"{gateway.url}/v1/messages", headers={"x-api-key": caller.secret}, json=body)
    assert r.status_code == 400
    error = r.json()
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert param in error["error"]["message"]
    assert sim.requests() == []


def test_unknown_model_and_wrong_method_answer_in_anthropics_shape(claude, caller, gateway):
    with pytest.raises(anthropic.NotFoundError) as raised:
        claude.messages.create(model="no-such-model", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert raised.value.body["error"]["type"] == "not_found_error"
    r = httpx.get(f"{gateway.url}/v1/messages", headers={"x-api-key": caller.secret})
    assert r.status_code == 405 and r.json()["error"]["type"] == "invalid_request_error"
    r = httpx.post(f"{gateway.url}/v1/messages", json={})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
