"""Admin endpoints over real HTTP: users, their limits and credits, everyone's keys, the upstream pool."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import GatewayKey, LedgerEntry, UpstreamKey, User
from accounts.tests.conftest import assert_error, assert_page
from testing.factories import make_key, make_user

POOL_KEY = "sk-or-v1-pool-key-admin-added-4242"

# (method, path template, body); {uid} is a user id, {kid} a gateway key id.
ADMIN_ENDPOINTS = [
    ("get", "/admin/users", None),
    ("put", "/admin/users/{uid}/role", {"role": "admin"}),
    ("put", "/admin/users/{uid}/status", {"active": False}),
    ("post", "/admin/users/{uid}/credits", {"amount": "5"}),
    ("put", "/admin/users/{uid}/limits", {"rpm": 5}),
    ("get", "/admin/keys", None),
    ("patch", "/admin/keys/{kid}", {"enabled": False}),
    ("get", "/admin/upstream-keys", None),
    ("post", "/admin/upstream-keys", {"apiKey": POOL_KEY}),
    ("patch", "/admin/upstream-keys/{kid}", {"freeRpm": 5}),
]


def _call(api, method, template, body, headers=None, **ids):
    kwargs = {"headers": headers or {}}
    if body is not None:
        kwargs["json"] = body
    return getattr(api, method)(template.format(**ids), **kwargs)


@pytest.fixture
def people(api):
    admin, user = make_user(admin=True), make_user()
    make_key(user, name="users-key")
    return {"admin": admin, "user": user, "key": GatewayKey.objects.get(user=user),
            "admin_headers": api.login(admin), "user_headers": api.login(user)}


def _unchanged(people) -> None:
    user = User.objects.get(pk=people["user"].id)
    assert user.role == "user" and user.is_active and user.rpm is None
    assert GatewayKey.objects.get(pk=people["key"].id).enabled
    assert not LedgerEntry.objects.exists() and not UpstreamKey.objects.filter(last4="4242").exists()


@pytest.mark.parametrize(("method", "template", "body"), ADMIN_ENDPOINTS)
def test_admin_endpoints_are_401_for_anonymous_and_403_for_users(api, people, method, template, body):
    ids = {"uid": people["user"].id, "kid": people["key"].id}
    assert_error(_call(api, method, template, body, **ids), 401)
    assert_error(_call(api, method, template, body, headers=people["user_headers"], **ids), 403)
    _unchanged(people)


@pytest.mark.parametrize(("method", "template", "body"), [e for e in ADMIN_ENDPOINTS if "{" in e[1]])
def test_admin_endpoints_are_404_for_unknown_ids(api, people, method, template, body):
    assert_error(_call(api, method, template, body, headers=people["admin_headers"], uid=999999, kid=999999), 404)
    _unchanged(people)


def test_import_is_401_for_anonymous_and_403_for_users(api, people):
    text = {"content": f"{POOL_KEY}\n", "headers": {"Content-Type": "text/plain"}}
    assert_error(api.post("/admin/upstream-keys/import", **text), 401)
    text["headers"].update(people["user_headers"])
    assert_error(api.post("/admin/upstream-keys/import", **text), 403)
    _unchanged(people)


def test_user_list_is_paginated_camel_case_and_secret_free(api, people):
    response = api.get("/admin/users?size=1", headers=people["admin_headers"])
    assert response.status_code == 200
    body = response.json()
    results = assert_page(body)
    assert body["count"] == 2 and len(results) == 1 and body["next"]
    assert results[0]["email"] == people["admin"].email
    assert {"dateJoined", "budgetPeriod", "active", "balance"} <= set(results[0])
    assert "password" not in response.text and "argon2" not in response.text


def test_role_change_and_its_bad_input(api, people):
    headers, user = people["admin_headers"], people["user"]
    response = api.put(f"/admin/users/{user.id}/role", headers=headers, json={"role": "admin"})
    assert response.status_code == 200 and response.json()["role"] == "admin"
    assert User.objects.get(pk=user.id).is_admin
    assert_error(api.put(f"/admin/users/{user.id}/role", headers=headers, json={"role": "god"}), 400)
    body = assert_error(api.put(f"/admin/users/{people['admin'].id}/role", headers=headers, json={"role": "user"}), 400)
    assert "own admin role" in body["message"]
    assert User.objects.get(pk=people["admin"].id).is_admin


def test_status_change_and_its_bad_input(api, people):
    headers, user = people["admin_headers"], people["user"]
    assert_error(api.put(f"/admin/users/{user.id}/status", headers=headers, json={}), 400)
    assert_error(api.put(f"/admin/users/{people['admin'].id}/status", headers=headers, json={"active": False}), 400)
    response = api.put(f"/admin/users/{user.id}/status", headers=headers, json={"active": False})
    assert response.status_code == 200 and response.json()["active"] is False
    assert not User.objects.get(pk=user.id).is_active
    response = api.put(f"/admin/users/{user.id}/status", headers=headers, json={"active": True})
    assert response.json()["active"] is True
    assert api.get("/auth/me", headers=api.login(user)).status_code == 200


def test_credits_top_up_writes_the_ledger(api, people):
    headers, user = people["admin_headers"], people["user"]
    response = api.post(f"/admin/users/{user.id}/credits", headers=headers, json={"amount": "12.50", "note": "gift"})
    assert response.status_code == 201
    assert response.json()["balance"] == "12.5"
    entry = LedgerEntry.objects.get(user=user)
    assert entry.amount == Decimal("12.5") and entry.note == "gift" and entry.created_by == people["admin"]
    assert_error(api.post(f"/admin/users/{user.id}/credits", headers=headers, json={"amount": "0"}), 400)
    assert_error(api.post(f"/admin/users/{user.id}/credits", headers=headers, json={"amount": "lots"}), 400)
    assert_error(api.post(f"/admin/users/{user.id}/credits", headers=headers, json={}), 400)
    assert LedgerEntry.objects.filter(user=user).count() == 1
    listed = api.get("/admin/users", headers=headers).json()["results"]
    assert next(u for u in listed if u["id"] == user.id)["balance"] == "12.5"


def test_user_limits_and_their_bad_input(api, people):
    headers, user = people["admin_headers"], people["user"]
    response = api.put(f"/admin/users/{user.id}/limits", headers=headers,
                       json={"rpm": 7, "tpm": 7000, "budget": "3.25", "budgetPeriod": "daily"})
    assert response.status_code == 200
    body = response.json()
    assert (body["rpm"], body["tpm"], body["budget"], body["budgetPeriod"]) == (7, 7000, "3.25", "daily")
    for bad in ({}, {"rpm": 0}, {"budgetPeriod": "hourly"}, {"budget": "-1"}):
        assert_error(api.put(f"/admin/users/{user.id}/limits", headers=headers, json=bad), 400)
    user.refresh_from_db()
    assert (user.rpm, user.tpm, user.budget, user.budget_period) == (7, 7000, Decimal("3.25"), "daily")


def test_admin_key_list_shows_every_users_keys_without_secrets(api, people):
    secret = make_key(people["admin"], name="admins-key")
    response = api.get("/admin/keys", headers=people["admin_headers"])
    results = assert_page(response.json())
    assert {k["name"] for k in results} == {"users-key", "admins-key"}
    mine = next(k for k in results if k["name"] == "users-key")
    assert mine["user"] == {"id": people["user"].id, "email": people["user"].email}
    assert "secret" not in mine and secret not in response.text
    assert not any(k.key_hash in response.text for k in GatewayKey.objects.all())


def test_admin_key_patch_and_its_bad_input(api, people):
    headers, key = people["admin_headers"], people["key"]
    response = api.patch(f"/admin/keys/{key.id}", headers=headers,
                         json={"enabled": False, "rpm": 3, "budget": "1", "budgetPeriod": "total"})
    assert response.status_code == 200
    body = response.json()
    assert (body["enabled"], body["rpm"], body["budget"], body["budgetPeriod"]) == (False, 3, "1", "total")
    for bad in ({}, {"rpm": -1}, {"budgetPeriod": "weekly"}, {"enabled": "perhaps"}):
        assert_error(api.patch(f"/admin/keys/{key.id}", headers=headers, json=bad), 400)
    key.refresh_from_db()
    assert (key.enabled, key.rpm, key.budget_period) == (False, 3, "total")


def test_upstream_pool_add_list_and_bad_input(api, people):
    headers = people["admin_headers"]
    response = api.post("/admin/upstream-keys", headers=headers,
                        json={"apiKey": POOL_KEY, "label": "main", "account": "acct-1"})
    assert response.status_code == 201
    body = response.json()
    assert body["last4"] == "4242" and body["label"] == "main" and body["account"] == "acct-1"
    assert POOL_KEY not in response.text
    again = api.post("/admin/upstream-keys", headers=headers, json={"apiKey": POOL_KEY})
    assert again.status_code == 201 and again.json()["id"] == body["id"]
    assert_error(api.post("/admin/upstream-keys", headers=headers, json={}), 400)
    assert_error(api.post("/admin/upstream-keys", headers=headers, json={"apiKey": "tiny"}), 400)
    listing = api.get("/admin/upstream-keys", headers=headers)
    results = assert_page(listing.json())
    assert [r["last4"] for r in results] == ["4242"]
    assert {"id", "label", "provider", "account", "last4", "enabled", "createdAt", "freeRpm", "freeRpd"} == set(results[0])
    assert POOL_KEY not in listing.text and UpstreamKey.objects.get().encrypted not in listing.text


def test_upstream_import_adds_each_line_once(api, people):
    headers = {**people["admin_headers"], "Content-Type": "text/plain"}
    keys = [f"sk-or-v1-imported-key-{n:04d}" for n in range(3)]
    text = "# pool\n" + "\n".join(keys) + "\n\n" + keys[0] + "\n"
    response = api.post("/admin/upstream-keys/import?account=acct-2", headers=headers, content=text)
    assert response.status_code == 200
    assert response.json() == {"added": 3, "existing": 1}
    assert set(UpstreamKey.objects.values_list("last4", flat=True)) == {"0000", "0001", "0002"}
    assert set(UpstreamKey.objects.values_list("account", flat=True)) == {"acct-2"}
    assert not any(k in response.text for k in keys)
    multipart = api.post("/admin/upstream-keys/import", headers=people["admin_headers"],
                         files={"file": ("keys.txt", keys[1].encode() + b"\n", "text/plain")})
    assert multipart.json() == {"added": 0, "existing": 1}


def test_upstream_import_rejects_bad_files_and_imports_nothing(api, people):
    headers = {**people["admin_headers"], "Content-Type": "text/plain"}
    assert_error(api.post("/admin/upstream-keys/import", headers=headers,
                          content="sk-or-v1-good-key-123456\nnot a key\n"), 400)
    assert_error(api.post("/admin/upstream-keys/import", headers=headers, content=b"\xff\xfe\xfa"), 400)
    assert_error(api.post("/admin/upstream-keys/import", headers=people["admin_headers"], json={"k": 1}), 400)
    assert not UpstreamKey.objects.exists()
