"""A Claude model behind the Anthropic adapter answers unchanged OpenAI SDK requests, whole and streamed."""

from __future__ import annotations

import json

import openai
import pytest

from models_catalog.models import CatalogModel
from testing.factories import make_key, make_user

CLAUDE = "claude-sonnet-4-6"
WEATHER = [{"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


@pytest.fixture
def client(gateway, anthropic_provider):
    key = make_key(make_user())
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0)


def _anthropic_requests(sim) -> list[dict]:
    return [r for r in sim.requests() if r.get("api") == "anthropic"]


def test_sync_lists_claude_models_with_tools_and_unknown_prices(anthropic_provider):
    claude = CatalogModel.objects.get(provider=anthropic_provider, model_id=CLAUDE)
    assert claude.name == "Claude Sonnet 4.6"
    assert claude.supports_tools and not claude.free


def test_plain_completion_through_the_adapter(client, sim):
    reply = client.chat.completions.create(
        model=CLAUDE, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi there"}])
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content == f"Hello from {CLAUDE}. You said: hi there"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.completion_tokens == 7 and reply.usage.prompt_tokens > 0
    sent = _anthropic_requests(sim)[-1]
    assert sent["headers"]["anthropic-version"] == "2023-06-01"
    assert sent["key"] == "sk-ant-sim-key-1234"
    assert sent["body"]["system"] == "Be brief."
    assert sent["body"]["messages"] == [{"role": "user", "content": [{"type": "text", "text": "hi there"}]}]
    assert sent["body"]["max_tokens"] == 4096


def test_max_tokens_maps_to_length(client):
    reply = client.chat.completions.create(model=CLAUDE, max_tokens=3,
                                           messages=[{"role": "user", "content": "one two three four"}])
    assert reply.choices[0].finish_reason == "length"
    assert reply.choices[0].message.content == "Hello from claude-sonnet-4-6."


def test_tool_call_and_tool_result_round_trip(client, sim):
    first = client.chat.completions.create(
        model=CLAUDE, tools=WEATHER, tool_choice="auto",
        messages=[{"role": "user", "content": "Paris"}])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content == "Let me check."
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert call.id.startswith("toolu_")
    sent = _anthropic_requests(sim)[-1]["body"]
    assert sent["tools"][0]["input_schema"]["properties"] == {"city": {"type": "string"}}
    assert sent["tool_choice"] == {"type": "auto"}

    second = client.chat.completions.create(
        model=CLAUDE, tools=WEATHER,
        messages=[{"role": "user", "content": "Paris"}, choice.message.model_dump(exclude_none=True),
                  {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"}])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content.endswith("the tool said sunny, 21C")
    turns = _anthropic_requests(sim)[-1]["body"]["messages"]
    assert [t["role"] for t in turns] == ["user", "assistant", "user"]
    assert turns[1]["content"][-1] == {"type": "tool_use", "id": call.id, "name": "get_weather",
                                       "input": {"city": "Paris"}}
    assert turns[2]["content"] == [{"type": "tool_result", "tool_use_id": call.id, "content": "sunny, 21C"}]


def test_streamed_text_arrives_as_openai_chunks_with_usage(client):
    stream = client.chat.completions.create(model=CLAUDE, stream=True, stream_options={"include_usage": True},
                                            messages=[{"role": "user", "content": "stream me"}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == f"Hello from {CLAUDE}. You said: stream me"
    assert all(c.object == "chat.completion.chunk" and c.id.startswith("msg_") for c in chunks)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 7


def test_streamed_tool_call_is_assembled_by_the_sdk(client):
    stream = client.chat.completions.create(model=CLAUDE, stream=True, tools=WEATHER,
                                            messages=[{"role": "user", "content": "Oslo"}])
    calls: dict[int, dict] = {}
    finish = None
    for chunk in stream:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            for delta in choice.delta.tool_calls or []:
                call = calls.setdefault(delta.index, {"id": None, "name": "", "arguments": ""})
                call["id"] = delta.id or call["id"]
                call["name"] += (delta.function.name or "") if delta.function else ""
                call["arguments"] += (delta.function.arguments or "") if delta.function else ""
    assert finish == "tool_calls"
    assert list(calls) == [0]  # the OpenAI index counts tools, not Anthropic's content blocks
    assert calls[0]["name"] == "get_weather" and calls[0]["id"].startswith("toolu_")
    assert json.loads(calls[0]["arguments"]) == {"city": "Oslo"}


def test_an_error_event_mid_stream_reaches_the_sdk_as_an_error(client, sim):
    sim.configure(model_faults={CLAUDE: "midstream"})
    stream = client.chat.completions.create(model=CLAUDE, stream=True,
                                            messages=[{"role": "user", "content": "fail later"}])
    with pytest.raises(openai.APIError, match="Overloaded"):
        list(stream)


def test_anthropic_overload_falls_back_to_the_next_model(client, sim):
    sim.configure(model_faults={CLAUDE: "overloaded"})
    reply = client.chat.completions.create(model=CLAUDE, extra_body={"models": ["claude-haiku-4-5"]},
                                           messages=[{"role": "user", "content": "hello"}])
    assert reply.model == "claude-haiku-4-5"


def test_several_tool_results_go_back_in_one_user_turn(client, sim):
    calls = [{"id": f"toolu_{n}", "type": "function", "function": {"name": "get_weather",
                                                                   "arguments": json.dumps({"city": city})}}
             for n, city in ((1, "Paris"), (2, "Rome"))]
    reply = client.chat.completions.create(model=CLAUDE, tools=WEATHER, parallel_tool_calls=False, messages=[
        {"role": "user", "content": "Paris and Rome?"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "rain"},
        {"role": "user", "content": "Summarise."}])
    assert reply.choices[0].finish_reason == "stop"
    sent = _anthropic_requests(sim)[-1]["body"]
    assert [t["role"] for t in sent["messages"]] == ["user", "assistant", "user"]
    assert [b["type"] for b in sent["messages"][2]["content"]] == ["tool_result", "tool_result", "text"]
    assert sent["messages"][1]["content"][0]["type"] == "tool_use"  # no empty text block before the calls
    assert sent["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_a_rejected_provider_key_is_a_502_without_the_key(gateway, anthropic_provider):
    from models_catalog.services import provider_update

    provider_update(provider=anthropic_provider, api_key="sk-bad-anthropic-0000")
    client = openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=make_key(make_user()), max_retries=0)
    with pytest.raises(openai.InternalServerError) as failure:
        client.chat.completions.create(model=CLAUDE, messages=[{"role": "user", "content": "hi"}])
    assert failure.value.status_code == 502
    assert "sk-bad-anthropic" not in failure.value.response.text
