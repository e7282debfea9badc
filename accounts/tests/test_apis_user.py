"""The caller's own settings over real HTTP: BYOK upstream key and gateway keys."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import GatewayKey, UserUpstreamKey
from accounts.secrets_util import hash_secret
from accounts.tests.conftest import assert_error, assert_page
from testing.factories import make_key, make_user

BYOK = "sk-or-v1-my-own-upstream-key-9f8e7d"
KEY_FIELDS = {"id", "name", "prefix", "enabled", "expiresAt", "models", "rpm", "tpm", "budget", "budgetPeriod",
              "cacheTtl", "createdAt", "lastUsedAt"}


# ---------------------------------------------------------------- BYOK


def test_byok_put_shows_only_last4_and_delete_removes_it(api):
    user = make_user()
    headers = api.login(user)
    assert api.get("/user/api-key/status", headers=headers).json() == {"configured": False, "last4": None}

    response = api.put("/user/api-key", headers=headers, json={"apiKey": f"  {BYOK} "})
    assert response.status_code == 200
    assert response.json() == {"configured": True, "last4": "8e7d"}
    status = api.get("/user/api-key/status", headers=headers)
    assert status.json() == {"configured": True, "last4": "8e7d"}
    assert BYOK not in response.text + status.text
    record = UserUpstreamKey.objects.get(user=user)
    assert BYOK not in record.encrypted and record.encrypted.startswith("v1$")

    assert api.delete("/user/api-key", headers=headers).status_code == 204
    assert api.get("/user/api-key/status", headers=headers).json() == {"configured": False, "last4": None}
    assert not UserUpstreamKey.objects.filter(user=user).exists()


def test_byok_endpoints_are_401_for_anonymous(api):
    assert_error(api.get("/user/api-key/status"), 401)
    assert_error(api.put("/user/api-key", json={"apiKey": BYOK}), 401)
    assert_error(api.delete("/user/api-key"), 401)
    assert not UserUpstreamKey.objects.exists()


@pytest.mark.parametrize("payload", [{}, {"apiKey": ""}, {"apiKey": "short"}, {"apiKey": "has a space inside"}])
def test_byok_put_rejects_bad_keys_with_400(api, payload):
    user = make_user()
    assert_error(api.put("/user/api-key", headers=api.login(user), json=payload), 400)
    assert not UserUpstreamKey.objects.filter(user=user).exists()


def test_byok_is_per_user(api):
    owner, other = make_user(), make_user()
    api.put("/user/api-key", headers=api.login(owner), json={"apiKey": BYOK})
    other_headers = api.login(other)
    assert api.get("/user/api-key/status", headers=other_headers).json()["configured"] is False
    assert api.delete("/user/api-key", headers=other_headers).status_code == 204
    assert UserUpstreamKey.objects.filter(user=owner).exists()


# ---------------------------------------------------------------- gateway keys


def test_create_key_shows_the_secret_once(api):
    user = make_user()
    headers = api.login(user)
    expires = (timezone.now() + timedelta(days=3)).isoformat()
    response = api.post("/user/keys", headers=headers,
                        json={"name": "laptop", "expiresAt": expires, "models": ["qwen/qwen3-coder:free"]})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == KEY_FIELDS | {"secret"}
    secret = body["secret"]
    assert secret.startswith("sk-gw-") and body["prefix"] == secret[:12]
    assert body["name"] == "laptop" and body["models"] == ["qwen/qwen3-coder:free"] and body["enabled"] is True
    assert body["expiresAt"] is not None and body["budgetPeriod"] == "monthly"
    key = GatewayKey.objects.get(pk=body["id"])
    assert key.key_hash == hash_secret(secret) and key.user == user

    listing = api.get("/user/keys", headers=headers)
    results = assert_page(listing.json())
    assert listing.json()["count"] == 1 and set(results[0]) == KEY_FIELDS
    assert secret not in listing.text and key.key_hash not in listing.text


def test_key_list_is_paginated_and_shows_only_own_live_keys(api):
    user, other = make_user(), make_user()
    for n in range(3):
        make_key(user, name=f"k{n}")
    make_key(other, name="theirs")
    headers = api.login(user)
    page = api.get("/user/keys?size=2", headers=headers).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"] and page["previous"] is None
    page2 = api.get("/user/keys?size=2&page=2", headers=headers).json()
    assert len(page2["results"]) == 1 and page2["next"] is None
    names = {k["name"] for k in page["results"] + page2["results"]}
    assert names == {"k0", "k1", "k2"}


@pytest.mark.parametrize(
    "payload",
    [{}, {"name": ""}, {"name": "x" * 101}, {"name": "old", "expiresAt": "2001-01-01T00:00:00Z"},
     {"name": "bad-date", "expiresAt": "tomorrow"}, {"name": "m", "models": "not-a-list"}],
)
def test_create_key_rejects_bad_input_with_400(api, payload):
    user = make_user()
    assert_error(api.post("/user/keys", headers=api.login(user), json=payload), 400)
    assert not GatewayKey.objects.filter(user=user).exists()


def test_key_endpoints_are_401_for_anonymous(api):
    user = make_user()
    make_key(user)
    key = GatewayKey.objects.get(user=user)
    assert_error(api.get("/user/keys"), 401)
    assert_error(api.post("/user/keys", json={"name": "x"}), 401)
    assert_error(api.patch(f"/user/keys/{key.id}", json={"enabled": False}), 401)
    assert_error(api.delete(f"/user/keys/{key.id}"), 401)
    key.refresh_from_db()
    assert key.enabled and key.deleted_at is None


def test_another_users_key_is_404(api):
    owner, other = make_user(), make_user()
    make_key(owner)
    key = GatewayKey.objects.get(user=owner)
    headers = api.login(other)
    assert_error(api.patch(f"/user/keys/{key.id}", headers=headers, json={"enabled": False}), 404)
    assert_error(api.delete(f"/user/keys/{key.id}", headers=headers), 404)
    assert_error(api.patch("/user/keys/999999", headers=headers, json={"enabled": False}), 404)
    key.refresh_from_db()
    assert key.enabled and key.deleted_at is None


def test_patch_disables_renames_and_rejects_empty_changes(api):
    user = make_user()
    make_key(user)
    key = GatewayKey.objects.get(user=user)
    headers = api.login(user)
    response = api.patch(f"/user/keys/{key.id}", headers=headers, json={"enabled": False, "name": "renamed"})
    assert response.status_code == 200
    assert response.json()["enabled"] is False and response.json()["name"] == "renamed"
    assert "secret" not in response.json()
    assert_error(api.patch(f"/user/keys/{key.id}", headers=headers, json={}), 400)
    assert_error(api.patch(f"/user/keys/{key.id}", headers=headers, json={"enabled": "maybe"}), 400)
    key.refresh_from_db()
    assert key.enabled is False and key.name == "renamed"


def test_delete_soft_deletes_and_hides_the_key(api):
    user = make_user()
    make_key(user)
    key = GatewayKey.objects.get(user=user)
    headers = api.login(user)
    assert api.delete(f"/user/keys/{key.id}", headers=headers).status_code == 204
    key.refresh_from_db()
    assert key.deleted_at is not None and key.enabled is False
    assert api.get("/user/keys", headers=headers).json()["count"] == 0
    assert_error(api.delete(f"/user/keys/{key.id}", headers=headers), 404)
