"""The server pool: a key added in embedded mode (one process, no Redis) is used by the very next request."""

from __future__ import annotations

import openai
import pytest

from testing.factories import PASSWORD, make_key, make_user, openai_client, sync_catalog

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
USER = [{"role": "user", "content": "hi"}]
NEW_KEY = "sk-or-v1-embedded-new-pool-key-4242"


def test_a_pool_key_added_in_embedded_mode_serves_the_next_request(gateway_process_factory, http, sim):
    sync_catalog()
    admin = make_user(admin=True)
    proc = gateway_process_factory(REDIS_URL="", OPENROUTER_API_KEYS="")  # embedded: no Redis, an empty pool
    client = openai_client(proc.url, make_key(make_user()))
    with pytest.raises(openai.APIStatusError) as refused:
        client.chat.completions.create(model=LLAMA, messages=USER)  # the empty pool is now cached there
    assert refused.value.status_code == 503 and refused.value.body["code"] == "no_upstream_key"

    login = http.post(f"{proc.url}/api/auth/login", json={"email": admin.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['access']}"}
    added = http.post(f"{proc.url}/api/admin/upstream-keys", json={"apiKey": NEW_KEY}, headers=headers)
    assert added.status_code == 201, added.text

    assert client.chat.completions.create(model=LLAMA, messages=USER).choices
    assert sim.requests()[-1]["key"] == NEW_KEY
