"""Bad requests get a 400-class error in the OpenAI shape naming the parameter, before any upstream call."""

import openai
import pytest

from chat.tests.conftest import LLAMA

USER = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role"),
        ({"messages": [{"role": "user"}]}, "messages[0].content"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id"),
        ({"messages": USER, "temperature": 2.5}, "temperature"),
        ({"messages": USER, "temperature": -0.1}, "temperature"),
        ({"messages": USER, "top_p": 1.5}, "top_p"),
        ({"messages": USER, "max_tokens": 0}, "max_tokens"),
        ({"messages": USER, "n": 0}, "n"),
    ],
)
def test_invalid_parameters_are_rejected_with_their_param(caller, sim, kwargs, param):
    with pytest.raises(openai.BadRequestError) as raised:
        caller.client.chat.completions.create(model=LLAMA, **kwargs)
    error = raised.value.body
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert param.split("[")[0].split(".")[0] in error["message"]
    assert sim.requests() == []


def test_missing_model_and_unknown_model(caller, sim):
    with pytest.raises(openai.BadRequestError) as raised:
        caller.client.chat.completions.create(model="", messages=USER)
    assert raised.value.body["param"] == "model"
    with pytest.raises(openai.NotFoundError) as raised:
        caller.client.chat.completions.create(model="nobody/nothing", messages=USER)
    assert raised.value.body["code"] == "model_not_found"
    assert sim.requests() == []


def test_body_must_be_json_of_the_right_type_and_size(caller, gateway, http, settings):
    url = f"{gateway.url}/v1/chat/completions"
    auth = {"Authorization": f"Bearer {caller.secret}"}
    r = http.post(url, headers={**auth, "content-type": "text/plain"}, content=b"hello")
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    r = http.post(url, headers={**auth, "content-type": "application/json"}, content=b"{not json")
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]["message"]
    r = http.post(url, headers={**auth, "content-type": "application/json"}, content=b"[1, 2]")
    assert r.status_code == 400 and r.json()["error"]["message"] == "The request body must be a JSON object."
    big = b'{"model": "x", "messages": [{"role": "user", "content": "' + b"a" * (10 * 1024 * 1024) + b'"}]}'
    r = http.post(url, headers={**auth, "content-type": "application/json"}, content=big)
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_too_large"
    assert r.headers["x-request-id"].startswith("req_")


def test_missing_or_bad_key_is_401_in_openai_shape(gateway, http):
    r = http.post(f"{gateway.url}/v1/chat/completions", json={"model": LLAMA, "messages": USER})
    assert r.status_code == 401
    assert set(r.json()["error"]) == {"message", "type", "code", "param"}
    r = http.post(f"{gateway.url}/v1/chat/completions", json={"model": LLAMA, "messages": USER},
                  headers={"Authorization": "Bearer sk-gw-not-a-real-key"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def _nested(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels):
        value = {"n": value}
    return value


def _text(value) -> list:
    return [{"role": "user", "content": [{"type": "text", "text": value}]}]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"metadata": _nested(300)}, "metadata"),
        ({"metadata": _nested(1000)}, "metadata"),
        ({"messages": [{"role": ["user"], "content": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": {"user": 1}, "content": "hi"}]}, "messages[0].role"),
        ({"messages": _text(123)}, "messages[0].content[0].text"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": 5}]}]},
         "messages[0].content[0].image_url"),
        ({"messages": [{"role": "user", "content": 5}]}, "messages[0].content"),
        ({"messages": [{"role": "user", "content": "hi", "name": 5}]}, "messages[0].name"),
        ({"messages": [{"role": "assistant", "content": None, "tool_calls": "x"}]}, "messages[0].tool_calls"),
        ({"messages": [{"role": "tool", "content": "x", "tool_call_id": 7}]}, "messages[0].tool_call_id"),
        ({"messages": "hi"}, "messages"),
        ({"model": 123}, "model"),
        ({"model": ["a"]}, "model"),
        ({"model": "x\u0000y"}, "model"),
        ({"stream": "yes"}, "stream"),
        ({"stream_options": "x"}, "stream_options"),
        ({"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage"),
        ({"max_tokens": "10"}, "max_tokens"),
        ({"max_tokens": 2**40}, "max_tokens"),
        ({"max_tokens": 1.5}, "max_tokens"),
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"tools": "x"}, "tools"),
        ({"tools": [{"type": "function", "function": "f"}]}, "tools[0].function"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": []}}]},
         "tools[0].function.parameters"),
        ({"tool_choice": 5}, "tool_choice"),
        ({"models": "x"}, "models"),
        ({"models": [1]}, "models[0]"),
        ({"stop": 5}, "stop"),
        ({"metadata": "x"}, "metadata"),
        ({"user": 5}, "user"),
        ({"seed": "1"}, "seed"),
    ],
)
def test_wrong_types_and_shapes_are_refused_at_the_edge_with_their_param(caller, gateway, http, sim, extra, param):
    body = {"model": LLAMA, "messages": USER, **extra}
    r = http.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {caller.secret}"},
                  json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param
    assert r.json()["error"]["type"] == "invalid_request_error"
    assert sim.requests() == []


@pytest.mark.parametrize(
    ("raw", "code", "param"),
    [
        (b'{"model": "a", "model": "' + LLAMA.encode() + b'", "messages": [{"role": "user", "content": "hi"}]}',
         "duplicate_key", "model"),
        (b'{"model": "' + LLAMA.encode() + b'", "messages": [{"role": "user", "content": "\\":x", "role": "user"}]}',
         "duplicate_key", "role"),
        (b'{"model": "' + LLAMA.encode() + b'", "messages": [{"role": "user", "content": "caf\xe9"}]}',
         "invalid_json", None),
        (b'{"model": "' + LLAMA.encode() + b'", "messages": [{"role": "user", "content": "\\ud800"}]}',
         "invalid_json", None),
    ],
)
def test_duplicate_keys_and_invalid_utf8_are_refused(caller, gateway, http, sim, raw, code, param):
    for path in ("/v1/chat/completions", "/v1/embeddings"):
        r = http.post(f"{gateway.url}{path}", content=raw,
                      headers={"Authorization": f"Bearer {caller.secret}", "content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == code
        assert r.json()["error"]["param"] == param
    assert sim.requests() == []


def test_a_string_holding_quote_colon_is_not_mistaken_for_a_duplicate_key(caller, gateway, http):
    r = http.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {caller.secret}"},
                  json={"model": LLAMA, "messages": [{"role": "user", "content": 'say {"a": 1} "b" : 2'}]})
    assert r.status_code == 200, r.text
