"""POST /v1/completions (legacy, translated to chat) and POST /v1/embeddings (first-class) with the real OpenAI SDK."""

import base64
import struct

import httpx
import openai
import pytest

from chat.models import RequestLog
from chat.tests.conftest import LLAMA
from testing.factories import catalog_free_models
from testing.servers import wait_until

EMBED = "openai/text-embedding-3-small"


def test_a_prompt_gets_a_text_completion(caller, sim):
    completion = caller.client.completions.create(model=LLAMA, prompt="say\nsomething", max_tokens=40, stop=["zz"])
    assert completion.object == "text_completion" and completion.id.startswith("cmpl-")
    assert completion.choices[0].text == f"Hello from {LLAMA}. You said: say\nsomething"
    assert (completion.choices[0].index, completion.choices[0].finish_reason) == (0, "stop")
    assert completion.usage.completion_tokens > 0
    sent = sim.requests()[-1]["body"]
    assert sent["messages"] == [{"role": "user", "content": "say\nsomething"}] and "prompt" not in sent
    assert (sent["max_tokens"], sent["stop"]) == (40, ["zz"])


def test_n_choices_and_a_one_prompt_list(caller):
    completion = caller.client.completions.create(model=LLAMA, prompt=["twice"], n=2)
    assert [c.index for c in completion.choices] == [0, 1]
    assert {c.text for c in completion.choices} == {f"Hello from {LLAMA}. You said: twice"}


def test_the_stream_is_text_completion_chunks_with_usage_when_asked(caller, gateway):
    chunks = list(caller.client.completions.create(model=LLAMA, prompt="one two", stream=True,
                                                   stream_options={"include_usage": True}))
    assert {c.object for c in chunks} == {"text_completion"}
    assert "".join(c.choices[0].text for c in chunks if c.choices) == f"Hello from {LLAMA}. You said: one two"
    assert chunks[-1].usage.completion_tokens > 0 and not chunks[-1].choices
    with httpx.stream("POST", f"{gateway.url}/v1/completions", headers={"Authorization": f"Bearer {caller.secret}"},
                      json={"model": LLAMA, "prompt": "hi", "stream": True}) as r:
        assert r.read().endswith(b"data: [DONE]\n\n")


def test_a_mid_stream_failure_ends_the_completions_stream_in_an_error_event(caller, sim):
    sim.configure(model_faults={LLAMA: "midstream"})
    stream = caller.client.completions.create(model=LLAMA, prompt="one two three four five", stream=True)
    seen = []
    with pytest.raises(openai.APIError) as failed:
        for chunk in stream:
            seen.append(chunk)
    assert seen and "mid-stream" in failed.value.message
    row = wait_until(lambda: RequestLog.objects.first())
    assert (row.endpoint, row.status, row.error_type) == ("completions", 200, "upstream_stream_error")


@pytest.mark.parametrize("body, param", [
    ({"model": LLAMA}, "prompt"),
    ({"model": LLAMA, "prompt": ["a", "b"]}, "prompt"),
    ({"model": LLAMA, "prompt": [1, 2, 3]}, "prompt"),
    ({"model": LLAMA, "prompt": "hi", "echo": True}, "echo"),
    ({"model": LLAMA, "prompt": "hi", "max_tokens": "x"}, "max_tokens"),
])
def test_bad_completions_requests_are_400_naming_the_parameter(caller, gateway, body, param):
    answer = httpx.post(f"{gateway.url}/v1/completions", json=body,
                        headers={"Authorization": f"Bearer {caller.secret}"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == param


def test_embeddings_float_and_base64(caller, sim):
    catalog_free_models(EMBED)
    floats = caller.client.embeddings.create(model=EMBED, input=["a", "b c"], encoding_format="float")
    assert [d.index for d in floats.data] == [0, 1] and len(floats.data[0].embedding) == 8
    assert sim.forwarded()[-1] == "POST /api/v1/embeddings"
    raw = caller.client.embeddings.with_raw_response.create(model=EMBED, input="a", encoding_format="base64")
    relayed = raw.http_response.json()["data"][0]["embedding"]
    assert isinstance(relayed, str)  # relayed as the upstream sent it
    assert list(struct.unpack("<8f", base64.b64decode(relayed))) == pytest.approx(floats.data[0].embedding)
    assert raw.headers["x-gateway-model"] == EMBED
    default = caller.client.embeddings.create(model=EMBED, input="a")  # the SDK asks for base64 and decodes it
    assert default.data[0].embedding == pytest.approx(floats.data[0].embedding)


@pytest.mark.parametrize("body, param", [
    ({"model": EMBED}, "input"),
    ({"model": EMBED, "input": [{"text": "a"}]}, "input[0]"),
    ({"model": EMBED, "input": "a", "encoding_format": "hex"}, "encoding_format"),
    ({"input": "a"}, "model"),
])
def test_bad_embeddings_requests_are_400_before_going_upstream(caller, gateway, sim, body, param):
    catalog_free_models(EMBED)
    before = sim.forwarded()
    answer = httpx.post(f"{gateway.url}/v1/embeddings", json=body, headers={"Authorization": f"Bearer {caller.secret}"})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == param
    assert sim.forwarded() == before
