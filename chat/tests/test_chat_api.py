"""``POST /api/chat/completions``: the /v1 endpoint for JWT callers of the management API."""

from rest_framework_simplejwt.tokens import RefreshToken

from chat.tests.conftest import LLAMA

BODY = {"model": LLAMA, "messages": [{"role": "user", "content": "hi there"}]}


def test_jwt_caller_gets_a_completion_and_a_stream(caller, gateway, http):
    token = str(RefreshToken.for_user(caller.user).access_token)
    auth = {"Authorization": f"Bearer {token}"}
    r = http.post(f"{gateway.url}/api/chat/completions", json=BODY, headers=auth)
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == f"Hello from {LLAMA}. You said: hi there"
    r = http.post(f"{gateway.url}/api/chat/completions", json={**BODY, "stream": True}, headers=auth)
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.endswith("data: [DONE]\n\n")


def test_anonymous_and_bad_input(caller, gateway, http):
    assert http.post(f"{gateway.url}/api/chat/completions", json=BODY).status_code == 401
    token = str(RefreshToken.for_user(caller.user).access_token)
    r = http.post(f"{gateway.url}/api/chat/completions", json={"model": LLAMA, "messages": []},
                  headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "messages"
