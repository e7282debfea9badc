"""/v1/chat/completions through the real OpenAI SDK: answers, streams, pass-through, headers."""

import httpx

from chat.tests.conftest import GEMMA, LLAMA


def test_completion_answers_with_usage_and_gateway_headers(caller):
    raw = caller.client.chat.completions.with_raw_response.create(
        model=LLAMA, messages=[{"role": "user", "content": "ping pong"}]
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == f"Hello from {LLAMA}. You said: ping pong"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens == 7
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.headers["x-gateway-model"] == LLAMA
    assert raw.headers["x-gateway-attempts"] == "1"
    assert int(raw.headers["x-ratelimit-remaining-requests"]) == int(raw.headers["x-ratelimit-limit-requests"]) - 1


def test_stream_arrives_chunk_by_chunk_and_ends_with_done(caller, gateway, sim):
    stream = caller.client.chat.completions.create(
        model=LLAMA, messages=[{"role": "user", "content": "one two three"}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == f"Hello from {LLAMA}. You said: one two three"
    assert len(chunks) > 5
    # The client did not ask for usage, so the gateway's own usage chunk is not forwarded...
    assert all(c.choices for c in chunks)
    # ...but the gateway asked the upstream for it.
    assert sim.requests()[-1]["body"]["stream_options"] == {"include_usage": True}

    with httpx.stream("POST", f"{gateway.url}/v1/chat/completions",
                      headers={"Authorization": f"Bearer {caller.secret}"},
                      json={"model": LLAMA, "stream": True, "messages": [{"role": "user", "content": "hi"}]}) as r:
        body = b"".join(r.iter_bytes())
    assert r.headers["content-type"].startswith("text/event-stream")
    assert body.endswith(b"data: [DONE]\n\n")
    assert b": OPENROUTER PROCESSING" in body  # keep-alives pass; clients skip comment lines


def test_stream_with_include_usage_gives_the_usage_chunk(caller):
    stream = caller.client.chat.completions.create(
        model=LLAMA, messages=[{"role": "user", "content": "count me"}], stream=True,
        stream_options={"include_usage": True},
    )
    usage = [c.usage for c in stream if c.usage]
    assert len(usage) == 1
    assert usage[0].completion_tokens == 7


def test_tools_images_and_unknown_fields_reach_the_upstream_unchanged(caller, sim):
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "Weather in Paris?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]}]
    completion = caller.client.chat.completions.create(
        model=LLAMA, messages=messages, tools=tools, tool_choice="auto", seed=7, stop=["END"],
        extra_body={"provider": {"sort": "price"}, "reasoning": {"effort": "low"}, "my_custom_field": [1, {"a": 2}]},
    )
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert completion.choices[0].finish_reason == "tool_calls"
    sent = sim.requests()[-1]["body"]
    assert sent["tools"] == tools
    assert sent["messages"] == messages
    assert sent["tool_choice"] == "auto"
    assert sent["seed"] == 7 and sent["stop"] == ["END"]
    assert sent["provider"] == {"sort": "price"} and sent["reasoning"] == {"effort": "low"}
    assert sent["my_custom_field"] == [1, {"a": 2}]


def test_image_parts_are_answered(caller):
    completion = caller.client.chat.completions.create(model=GEMMA, messages=[{"role": "user", "content": [
        {"type": "text", "text": "what is this"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]}])
    assert "I see 1 image(s)." in completion.choices[0].message.content


def test_streamed_tool_calls_arrive_whole(caller):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {
        "type": "object", "properties": {"q": {"type": "string"}}}}}]
    stream = caller.client.chat.completions.create(
        model=LLAMA, messages=[{"role": "user", "content": "find cats"}], tools=tools, stream=True)
    name, arguments = "", ""
    for chunk in stream:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            name += call.function.name or ""
            arguments += call.function.arguments or ""
    assert name == "lookup"
    assert arguments == '{"q": "find cats"}'
