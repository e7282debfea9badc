"""One edge guard refuses NUL (and other unstorable text) in any path, query, form or JSON field, naming it."""

from __future__ import annotations

import json
from contextlib import closing

import pytest

from accounts.models import GatewayKey
from accounts.tests.conftest import assert_error
from models_catalog.models import Preset
from testing.browser import csrf_form, jwt_headers, session_client
from testing.factories import make_user


@pytest.fixture
def admin_headers(gateway):
    return jwt_headers(make_user(admin=True))


def _refused_naming(response, field: str) -> None:
    body = assert_error(response, 400)
    assert body["extra"] == {"param": field}, body
    assert field in body["message"]
    assert "Traceback" not in response.text


def test_nul_in_a_json_value_or_key_is_refused_and_nothing_is_written(gateway, http, admin_headers):
    url = f"{gateway.url}/api/admin/presets"
    preset = {"name": "fast", "model": "m", "params": {"stop": ["ok", "x\u0000y"]}}
    _refused_naming(http.put(url, json=preset, headers=admin_headers), "params.stop[1]")
    preset["params"] = {"bad\u0000key": 1}
    _refused_naming(http.put(url, json=preset, headers=admin_headers), "params.bad\\x00key")
    assert not Preset.objects.exists()


def test_a_lone_surrogate_or_deep_nesting_in_json_is_refused(gateway, http, admin_headers):
    url = f"{gateway.url}/api/admin/presets"
    headers = {**admin_headers, "Content-Type": "application/json"}
    _refused_naming(http.put(url, content=b'{"name": "s", "model": "\\ud800"}', headers=headers), "model")
    deep = {"name": "deep", "model": "m", "params": {"a": json.loads("[" * 40 + "]" * 40)}}
    body = assert_error(http.put(url, json=deep, headers=admin_headers), 400)
    assert "nested deeper" in body["message"]
    hopeless = b'{"params": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert assert_error(http.put(url, content=hopeless, headers=headers), 400)["extra"] == {"param": "body"}
    assert not Preset.objects.exists()


def test_nul_or_control_characters_in_query_parameters_are_refused(gateway, http, admin_headers):
    for path in ("/api/admin/chat-logs", "/api/admin/chat-logs/export", "/api/user/chat-logs"):
        _refused_naming(http.get(f"{gateway.url}{path}?model=a%00b", headers=admin_headers), "model")
        _refused_naming(http.get(f"{gateway.url}{path}?user=a%01b@x", headers=admin_headers), "user")
    _refused_naming(http.delete(f"{gateway.url}/api/admin/aliases/a%00b", headers=admin_headers), "path")


def test_pages_refuse_nul_in_a_form_or_query_field_with_a_page_naming_it(gateway):
    user = make_user()
    with closing(session_client(gateway.url, user)) as client:
        r = client.post("/settings/keys/", data=csrf_form(client, name="laptop\x00"))
        assert r.status_code == 400
        assert "text/html" in r.headers["content-type"]
        assert "name: must not contain NUL characters." in r.text
        assert not GatewayKey.objects.filter(user=user).exists()
    with closing(session_client(gateway.url, make_user(admin=True))) as admin:
        r = admin.get("/console/logs/?model=x%00y")
        assert r.status_code == 400
        assert "model: must not contain" in r.text
