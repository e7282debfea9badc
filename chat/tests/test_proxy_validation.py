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
