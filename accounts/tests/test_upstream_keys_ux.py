"""Upstream keys checked against the upstream (the simulator's ``GET /api/v1/key``): a user's own key before it
is saved and when a request is refused on it, and the console's pool keys: disable, delete, test, import errors."""

from __future__ import annotations

from contextlib import closing

import openai
import pytest

from accounts.models import UpstreamKey, UserUpstreamKey
from accounts.services import upstream_key_add
from chat.tests.conftest import LLAMA
from testing.browser import csrf_form, jwt_headers, session_client
from testing.env import POOL_KEYS
from testing.factories import make_key, make_user, openai_client, sync_catalog

GOOD_KEY = "sk-or-v1-users-own-key-0001"
USER = [{"role": "user", "content": "hi"}]


def _checked(sim) -> list[str]:
    return [p for p in sim.paths() if p == "GET /api/v1/key"]


def test_a_key_the_upstream_refuses_is_not_saved_and_the_reason_is_clear(gateway, sim, http):
    user = make_user()
    sim.configure(revoked_keys=["not-a-key"])
    r = http.put(f"{gateway.url}/api/user/api-key", json={"apiKey": "not-a-key"}, headers=jwt_headers(user))
    assert r.status_code == 400, r.text
    body = r.json()
    assert "OpenRouter refused this key (HTTP 401)" in body["message"] and "nothing was saved" in body["message"]
    assert body["extra"]["param"] == "apiKey" and "not-a-key" not in r.text
    assert not UserUpstreamKey.objects.filter(user=user).exists()
    assert _checked(sim) == ["GET /api/v1/key"]  # asked the upstream, once

    r = http.put(f"{gateway.url}/api/user/api-key", json={"apiKey": GOOD_KEY}, headers=jwt_headers(user))
    assert r.status_code == 200 and UserUpstreamKey.objects.get(user=user).last4 == "0001"


def test_the_settings_page_refuses_a_bad_key_in_place(gateway, sim):
    user = make_user()
    sim.configure(revoked_keys=["not-a-key"])
    with closing(session_client(gateway.url, user)) as client:
        r = client.post("/settings/api-key/", data=csrf_form(client, api_key="not-a-key"), headers={"HX-Request": "true"})
    assert r.status_code == 400 and "OpenRouter refused this key" in r.text
    assert not UserUpstreamKey.objects.filter(user=user).exists()


def test_a_saved_own_key_the_upstream_rejects_is_named_and_the_pool_is_not_used(gateway, sim, http):
    sync_catalog()
    user = make_user()
    own = "sk-or-v1-users-own-key-7777"
    r = http.put(f"{gateway.url}/api/user/api-key", json={"apiKey": own}, headers=jwt_headers(user))
    assert r.status_code == 200
    sim.configure(revoked_keys=[own])  # the user's key stops working upstream after it was saved
    client = openai_client(gateway.url, make_key(user), max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        client.chat.completions.create(model=LLAMA, messages=USER)
    error = refused.value.body
    assert error["code"] == "byok_key_refused" and "your own key …7777" in error["message"]
    assert "Settings" in error["message"] and own not in str(error)
    chats = [p for p in sim.paths() if p == "POST /api/v1/chat/completions"]
    assert len(chats) == 1 and sim.requests() == []  # the user's (refused) key only: never the pool silently

    # Next request: the key's breaker is open; still the same clear error, still no pool.
    with pytest.raises(openai.AuthenticationError) as again:
        client.chat.completions.create(model=LLAMA, messages=USER)
    assert again.value.body["code"] == "byok_key_refused"
    assert [p for p in sim.paths() if p == "POST /api/v1/chat/completions"] == chats and sim.requests() == []

    # Removing the key brings the pool back.
    assert http.delete(f"{gateway.url}/api/user/api-key", headers=jwt_headers(user)).status_code == 204
    assert client.chat.completions.create(model=LLAMA, messages=USER).choices[0].message.content


def test_pool_keys_are_tested_disabled_and_deleted_from_the_console(gateway, sim, admin_http):
    good = upstream_key_add(api_key="sk-or-v1-pool-good-aaaa1234", label="good")
    bad = upstream_key_add(api_key="sk-or-v1-pool-bad-bbbb5678", label="bad")
    sim.configure(revoked_keys=["sk-or-v1-pool-bad-bbbb5678"])

    r = admin_http.post(f"/console/upstream-keys/{good.id}/test", data=csrf_form(admin_http), follow_redirects=True)
    assert r.status_code == 200 and "Key …1234 works (sim-…1234: no credit limit, used $0 (free tier))." in r.text
    r = admin_http.post(f"/console/upstream-keys/{bad.id}/test", data=csrf_form(admin_http), follow_redirects=True)
    assert "Key …5678: OpenRouter refused this key (HTTP 401)" in r.text
    assert "pool-bad" not in r.text and "pool-good" not in r.text

    r = admin_http.post(f"/console/upstream-keys/{bad.id}/enabled", data=csrf_form(admin_http, enabled="false"),
                        follow_redirects=True)
    assert "Key …5678 is out of the pool." in r.text
    assert UpstreamKey.objects.get(pk=bad.id).enabled is False
    report = admin_http.get("/console/upstream-keys/").text
    assert "<code>…5678</code></td><td>sk-" not in report  # never the key itself
    r = admin_http.post(f"/console/upstream-keys/{bad.id}/enabled", data=csrf_form(admin_http, enabled="maybe"))
    assert r.status_code == 400

    r = admin_http.post(f"/console/upstream-keys/{bad.id}/delete", data=csrf_form(admin_http), follow_redirects=True)
    assert "Key …5678 is deleted." in r.text and not UpstreamKey.objects.filter(pk=bad.id).exists()
    assert admin_http.post(f"/console/upstream-keys/{bad.id}/delete", data=csrf_form(admin_http)).status_code == 404


def test_a_disabled_pool_key_leaves_routing_at_once(gateway, sim, admin_http):
    """Disabling announces the pool change: the next request is routed without the key, deleting likewise."""
    sync_catalog()
    client = openai_client(gateway.url, make_key(make_user()), max_retries=0)
    sim.configure(revoked_keys=POOL_KEYS)  # only the stored key can answer
    stored = upstream_key_add(api_key="sk-or-v1-pool-only-cccc9999")
    assert client.chat.completions.create(model=LLAMA, messages=USER).choices[0].message.content
    admin_http.post(f"/console/upstream-keys/{stored.id}/enabled", data=csrf_form(admin_http, enabled="false"))
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model=LLAMA, messages=USER)
    admin_http.post(f"/console/upstream-keys/{stored.id}/enabled", data=csrf_form(admin_http, enabled="true"))
    assert client.chat.completions.create(model=LLAMA, messages=USER).choices[0].message.content
    admin_http.post(f"/console/upstream-keys/{stored.id}/delete", data=csrf_form(admin_http))
    with pytest.raises(openai.APIStatusError):
        client.chat.completions.create(model=LLAMA, messages=USER)


def test_a_bad_import_line_is_named_and_the_pasted_text_is_kept(gateway, admin_http):
    pasted = "# mine\nsk-or-v1-import-one-1111\nnot a key\n\nsk-or-v1-import-two-2222\nbad\n"
    r = admin_http.post("/console/upstream-keys/import", data=csrf_form(admin_http, keys=pasted, account="acct-x"))
    assert r.status_code == 400
    assert "Lines 3, 6 do not hold one API key" in r.text and "nothing was imported" in r.text
    assert "sk-or-v1-import-one-1111\nnot a key" in r.text  # the textarea keeps what was pasted
    assert 'name="account" value="acct-x"' in r.text
    assert not UpstreamKey.objects.exists()


def test_the_import_api_names_the_bad_line_too(gateway, http):
    admin = make_user(admin=True)
    r = http.post(f"{gateway.url}/api/admin/upstream-keys/import", content=b"sk-or-v1-fine-key-3333\nx y\n",
                  headers={**jwt_headers(admin), "Content-Type": "text/plain"})
    assert r.status_code == 400 and r.json()["message"].startswith("Line 2 does not hold one API key")
    assert r.json()["extra"]["lines"] == [2]
