"""A gateway key works on /v1 through the real openai SDK until it is disabled, expired or deleted."""

from __future__ import annotations

import time
from datetime import timedelta

import openai
import pytest
from django.utils import timezone

from accounts.models import GatewayKey
from accounts.services import gateway_key_create
from testing.factories import make_key, make_user, sync_catalog

MODEL = "meta-llama/llama-3.3-70b-instruct:free"


def _client(gateway, secret: str, **kwargs) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=secret, max_retries=0, timeout=20, **kwargs)


def _chat(client: openai.OpenAI, **kwargs) -> str:
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "Hello"}], **kwargs)
    return reply.choices[0].message.content


def _assert_rejected(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as caught:
        _chat(client)
    assert caught.value.status_code == 401
    error = caught.value.response.json()["error"]
    assert set(error) == {"message", "type", "code", "param"}
    assert error["type"] == "authentication_error" and error["code"] == "invalid_api_key"


@pytest.fixture
def owner(gateway, api):
    sync_catalog()
    user = make_user()
    return {"user": user, "headers": api.login(user)}


def test_a_key_works_until_disabled_and_again_when_re_enabled(gateway, api, owner):
    secret = make_key(owner["user"])
    key = GatewayKey.objects.get(user=owner["user"])
    client = _client(gateway, secret)
    assert _chat(client)
    assert MODEL in {m.id for m in client.models.list()}

    assert api.patch(f"/user/keys/{key.id}", headers=owner["headers"], json={"enabled": False}).status_code == 200
    _assert_rejected(client)

    assert api.patch(f"/user/keys/{key.id}", headers=owner["headers"], json={"enabled": True}).status_code == 200
    assert _chat(client)


def test_a_key_stops_working_when_deleted(gateway, api, owner):
    secret = make_key(owner["user"])
    key = GatewayKey.objects.get(user=owner["user"])
    client = _client(gateway, secret)
    assert _chat(client)
    assert api.delete(f"/user/keys/{key.id}", headers=owner["headers"]).status_code == 204
    _assert_rejected(client)


def test_a_key_stops_working_when_it_expires(gateway, owner):
    created = gateway_key_create(user=owner["user"], name="short", expires_at=timezone.now() + timedelta(seconds=2))
    client = _client(gateway, created.secret)
    assert _chat(client)  # cached as a valid principal from here on
    time.sleep(max(0.0, created.key.expires_at.timestamp() - time.time()) + 0.1)
    _assert_rejected(client)


def test_unknown_and_malformed_keys_are_rejected(gateway, owner):
    make_key(owner["user"])
    _assert_rejected(_client(gateway, "sk-gw-" + "A" * 43))
    _assert_rejected(_client(gateway, "not-a-key"))


def test_x_client_api_key_header_works_too(gateway, http, owner):
    secret = make_key(owner["user"])
    client = _client(gateway, "unused", default_headers={"X-Client-API-Key": secret})
    assert _chat(client, extra_headers={"Authorization": openai.Omit()})  # the SDK sends only X-Client-API-Key
    response = http.post(f"{gateway.url}/v1/chat/completions", headers={"X-Client-API-Key": secret},
                         json={"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]})
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"]
    rejected = http.post(f"{gateway.url}/v1/chat/completions", headers={"X-Client-API-Key": secret + "x"},
                         json={"model": MODEL, "messages": [{"role": "user", "content": "Hi"}]})
    assert rejected.status_code == 401 and rejected.json()["error"]["code"] == "invalid_api_key"


def test_a_key_of_a_disabled_user_is_rejected(gateway, api, owner):
    admin = make_user(admin=True)
    secret = make_key(owner["user"])
    client = _client(gateway, secret)
    assert _chat(client)
    response = api.put(f"/admin/users/{owner['user'].id}/status", headers=api.login(admin), json={"active": False})
    assert response.status_code == 200
    _assert_rejected(client)
