"""POST /v1/responses and GET /v1/responses/{id} with the real OpenAI SDK, in front of the simulator."""

import json

import httpx
import openai
import pytest
from pydantic import BaseModel

from chat.tests.conftest import LLAMA
from testing.factories import make_key, make_user, openai_client
from testing.sse import parse_sse

WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
TIME = {"type": "function", "name": "get_time", "parameters": {"type": "object", "properties": {"zone": {"type": "string"}}}}


def test_a_text_answer_has_the_response_shape_and_usage(caller, sim):
    response = caller.client.responses.create(model=LLAMA, input="ping\npong", instructions="Be brief.",
                                              max_output_tokens=50, temperature=0.5)
    assert response.id.startswith("resp_") and response.object == "response" and response.status == "completed"
    assert response.output_text == f"Hello from {LLAMA}. You said: ping\npong"  # newlines survive
    message = response.output[0]
    assert (message.type, message.role, message.status) == ("message", "assistant", "completed")
    assert response.usage.input_tokens > 0 and response.usage.output_tokens == 6
    assert response.usage.total_tokens == response.usage.input_tokens + response.usage.output_tokens
    sent = sim.requests()[-1]["body"]
    assert sent["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "ping\npong"}]
    assert (sent["max_tokens"], sent["temperature"]) == (50, 0.5)
    assert "store" not in sent and "instructions" not in sent and "input" not in sent


def test_the_stream_is_the_responses_event_sequence(caller):
    events = list(caller.client.responses.create(model=LLAMA, input="one two three", stream=True))
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added",
                         "response.content_part.added"]
    assert kinds[-5:] == ["response.output_text.delta", "response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == f"Hello from {LLAMA}. You said: one two three"
    done = events[-1].response
    assert done.status == "completed" and done.output_text == text and done.usage.output_tokens > 0
    item_ids = {e.item_id for e in events if hasattr(e, "item_id")}
    assert item_ids == {done.output[0].id}


def test_the_sdk_stream_helper_builds_the_final_response(caller):
    with caller.client.responses.stream(model=LLAMA, input="hi there") as stream:
        final = stream.get_final_response()
    assert final.output_text == f"Hello from {LLAMA}. You said: hi there"


def test_function_tools_and_their_outputs_make_a_round_trip(caller, sim):
    first = caller.client.responses.create(model=LLAMA, input="Weather in Paris?", tools=[WEATHER])
    call = first.output[0]
    assert (call.type, call.name, json.loads(call.arguments)) == ("function_call", "get_weather",
                                                                   {"city": "Weather in Paris?"})
    assert call.call_id.startswith("call_") and call.id.startswith("fc_")
    assert sim.requests()[-1]["body"]["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city", "parameters": WEATHER["parameters"]}}]
    second = caller.client.responses.create(model=LLAMA, tools=[WEATHER], input=[
        {"role": "user", "content": "Weather in Paris?"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}], store=False)
    assert second.output_text == f"Hello from {LLAMA}. You said: the tool said sunny"
    sent = sim.requests()[-1]["body"]["messages"]
    assert sent[1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": call.call_id, "type": "function", "function": {"name": "get_weather", "arguments": call.arguments}}]}
    assert sent[2] == {"role": "tool", "tool_call_id": call.call_id, "content": "sunny"}


def test_several_tool_calls_stream_as_separate_items(caller):
    events = list(caller.client.responses.create(model=LLAMA, input="both please", tools=[WEATHER, TIME],
                                                 parallel_tool_calls=True, stream=True))
    added = [e for e in events if e.type == "response.output_item.added"]
    assert [(e.output_index, e.item.name) for e in added] == [(0, "get_weather"), (1, "get_time")]
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert [json.loads(e.arguments) for e in done] == [{"city": "both please"}, {"zone": "both please"}]
    final = events[-1].response
    assert events[-1].type == "response.completed" and [i.type for i in final.output] == ["function_call"] * 2
    assert len({i.call_id for i in final.output}) == 2


def test_text_format_json_schema_becomes_response_format(caller, sim):
    class City(BaseModel):
        name: str
        population: int

    parsed = caller.client.responses.parse(model=LLAMA, input="Paris", text_format=City)
    assert parsed.output_parsed == City(name="Paris", population=1)
    assert sim.requests()[-1]["body"]["response_format"]["type"] == "json_schema"
    assert sim.requests()[-1]["body"]["response_format"]["json_schema"]["name"] == "City"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_previous_response_id_continues_the_conversation_and_retrieve_returns_it(caller, sim, stream):
    if stream:
        events = list(caller.client.responses.create(model=LLAMA, input="my name is Ada", stream=True,
                                                     instructions="Only the first turn."))
        first = events[-1].response
    else:
        first = caller.client.responses.create(model=LLAMA, input="my name is Ada", instructions="Only the first turn.")
    second = caller.client.responses.create(model=LLAMA, input="what is it?", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert sim.requests()[-1]["body"]["messages"] == [
        {"role": "user", "content": "my name is Ada"},
        {"role": "assistant", "content": f"Hello from {LLAMA}. You said: my name is Ada"},
        {"role": "user", "content": "what is it?"}]  # the first turn's instructions are not inherited
    fetched = caller.client.responses.retrieve(first.id)
    assert fetched.id == first.id and fetched.output_text == first.output_text and fetched.status == "completed"


def test_store_false_keeps_nothing(caller):
    unstored = caller.client.responses.create(model=LLAMA, input="forget me", store=False)
    assert unstored.store is False
    with pytest.raises(openai.NotFoundError) as missing:
        caller.client.responses.retrieve(unstored.id)
    assert missing.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.NotFoundError) as refused:
        caller.client.responses.create(model=LLAMA, input="again", previous_response_id=unstored.id)
    assert refused.value.body["param"] == "previous_response_id"


def test_only_the_owner_may_retrieve_or_continue_a_response(caller, gateway):
    mine = caller.client.responses.create(model=LLAMA, input="private")
    stranger = openai_client(gateway.url, make_key(make_user()))
    with pytest.raises(openai.NotFoundError):
        stranger.responses.retrieve(mine.id)
    with pytest.raises(openai.NotFoundError) as refused:
        stranger.responses.create(model=LLAMA, input="mine now", previous_response_id=mine.id)
    assert refused.value.body["code"] == "response_not_found"
    same_user = openai_client(gateway.url, make_key(caller.user, name="second"))
    assert same_user.responses.retrieve(mine.id).id == mine.id


def test_a_mid_stream_failure_ends_in_response_failed(caller, gateway, sim):
    sim.configure(model_faults={LLAMA: "midstream"})
    events = list(caller.client.responses.create(model=LLAMA, input="one two three four five", stream=True))
    assert events[-1].type == "response.failed"
    assert events[-1].response.status == "failed" and events[-1].response.error.code == "server_error"
    assert [e.type for e in events].count("response.output_text.delta") >= 1
    assert events[-1].response.output[0].status == "incomplete"


@pytest.mark.parametrize("body, param", [
    ({"model": LLAMA}, "input"),
    ({"model": LLAMA, "input": [{"type": "item_reference", "id": "x"}]}, "input[0].type"),
    ({"model": LLAMA, "input": "hi", "tools": [{"type": "web_search"}]}, "tools[0].type"),
    ({"model": LLAMA, "input": "hi", "store": "yes"}, "store"),
    ({"model": LLAMA, "input": "hi", "max_output_tokens": "ten"}, "max_output_tokens"),
    ({"model": LLAMA, "input": [{"role": "user", "content": [{"type": "input_text", "text": 3}]}]},
     "input[0].content[0].text"),
])
def test_bad_requests_are_400_naming_the_parameter(caller, gateway, body, param):
    answer = httpx.post(f"{gateway.url}/v1/responses", json=body, headers={"Authorization": f"Bearer {caller.secret}"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == param
    assert answer.json()["error"]["type"] == "invalid_request_error"


def test_the_stream_frames_each_event_with_its_name(caller, gateway):
    with httpx.stream("POST", f"{gateway.url}/v1/responses", headers={"Authorization": f"Bearer {caller.secret}"},
                      json={"model": LLAMA, "input": "hi", "stream": True}) as r:
        text = r.read().decode()
    events = parse_sse(text)
    assert all(name == data["type"] for name, data in events)
    assert events[-1][0] == "response.completed"


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
def test_an_answer_cut_by_max_output_tokens_is_incomplete(caller, stream):
    if stream:
        events = list(caller.client.responses.create(model=LLAMA, input="a long story", max_output_tokens=3,
                                                     stream=True))
        assert events[-1].type == "response.incomplete"
        response = events[-1].response
    else:
        response = caller.client.responses.create(model=LLAMA, input="a long story", max_output_tokens=3)
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "Hello from meta-llama/llama-3.3-70b-instruct:free."
