"""Auth endpoints over real HTTP: register, login, refresh, change-password, me; rate limits; disabled users."""

from __future__ import annotations

import pytest

from accounts.models import CreditAccount, User
from accounts.tests.conftest import assert_error, fresh_window
from testing.factories import PASSWORD, make_key, make_user

NEW_PASSWORD = "another-horse-staple-42"



@pytest.mark.usefixtures("open_registration")
def test_register_creates_an_account_that_can_log_in(api):
    response = api.post("/auth/register", json={"email": "New@Example.com", "password": PASSWORD})
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "new@example.com" and body["role"] == "user"
    assert "password" not in response.text and PASSWORD not in response.text
    user = User.objects.get(email="new@example.com")
    assert user.check_password(PASSWORD) and CreditAccount.objects.filter(user=user).exists()
    assert api.post("/auth/login", json={"email": "new@example.com", "password": PASSWORD}).status_code == 200


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email", "password": PASSWORD}, "email"),
        ({"email": "a@example.com"}, "password"),
        ({"email": "a@example.com", "password": "short"}, None),
        ({"email": "a@example.com", "password": "password123"}, None),  # too common
    ],
)
@pytest.mark.usefixtures("open_registration")
def test_register_rejects_bad_input_with_400(api, payload, field):
    body = assert_error(api.post("/auth/register", json=payload), 400)
    if field:
        assert field in body["extra"]["fields"]
    assert not User.objects.filter(email="a@example.com").exists()


@pytest.mark.usefixtures("open_registration")
def test_register_rejects_a_taken_email(api):
    make_user(email="taken@example.com")
    body = assert_error(api.post("/auth/register", json={"email": "TAKEN@example.com", "password": PASSWORD}), 400)
    assert "exists" in body["message"]
    assert User.objects.filter(email="taken@example.com").count() == 1


def test_login_returns_jwts_that_authenticate_me(api):
    user = make_user()
    headers = api.login(user)
    response = api.get("/auth/me", headers=headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == user.id and body["email"] == user.email
    assert body["role"] == "user" and body["active"] is True and body["balance"] == "0"
    assert {"dateJoined", "budgetPeriod", "rpm", "tpm", "budget"} <= set(body)
    assert not [k for k in body if "_" in k], "fields are camelCase"
    assert "password" not in response.text and "argon2" not in response.text


def test_login_with_a_wrong_password_is_401(api):
    user = make_user()
    body = assert_error(api.post("/auth/login", json={"email": user.email, "password": "wrong-password-1"}), 401)
    assert "wrong" in body["message"]


def test_login_with_missing_fields_is_400(api):
    body = assert_error(api.post("/auth/login", json={"email": "x@example.com"}), 400)
    assert "password" in body["extra"]["fields"]


def test_me_is_401_for_anonymous_and_for_a_bad_token(api):
    assert_error(api.get("/auth/me"), 401)
    assert_error(api.get("/auth/me", headers={"Authorization": "Bearer not.a.token"}), 401)


def test_refresh_gives_a_new_access_token(api):
    user = make_user()
    tokens = api.post("/auth/login", json={"email": user.email, "password": PASSWORD}).json()
    response = api.post("/auth/refresh", json={"refresh": tokens["refresh"]})
    assert response.status_code == 200
    access = response.json()["access"]
    assert api.get("/auth/me", headers={"Authorization": f"Bearer {access}"}).json()["id"] == user.id


def test_refresh_rejects_garbage_with_401_and_missing_field_with_400(api):
    assert_error(api.post("/auth/refresh", json={"refresh": "garbage"}), 401)
    assert_error(api.post("/auth/refresh", json={}), 400)


def test_change_password_replaces_the_password(api):
    user = make_user()
    headers = api.login(user)
    response = api.post("/auth/change-password", headers=headers,
                        json={"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD})
    assert response.status_code == 200
    assert_error(api.post("/auth/login", json={"email": user.email, "password": PASSWORD}), 401)
    api.login(user, password=NEW_PASSWORD)


def test_change_password_needs_auth_the_old_password_and_a_strong_new_one(api):
    user = make_user()
    headers = api.login(user)
    assert_error(api.post("/auth/change-password", json={"oldPassword": PASSWORD, "newPassword": NEW_PASSWORD}), 401)
    assert_error(api.post("/auth/change-password", headers=headers,
                          json={"oldPassword": "wrong-password-1", "newPassword": NEW_PASSWORD}), 400)
    assert_error(api.post("/auth/change-password", headers=headers,
                          json={"oldPassword": PASSWORD, "newPassword": "short"}), 400)
    assert_error(api.post("/auth/change-password", headers=headers, json={"oldPassword": PASSWORD}), 400)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


# ---------------------------------------------------------------- rate limits


def test_login_is_rate_limited_per_account(api):
    user = make_user()
    fresh_window(user.email)
    statuses = [
        api.post("/auth/login", json={"email": user.email, "password": "wrong-password-1"}).status_code
        for _ in range(11)
    ]
    assert statuses[:10] == [401] * 10
    body = assert_error(api.post("/auth/login", json={"email": user.email, "password": PASSWORD}), 429)
    assert "Too many" in body["message"]
    assert statuses[10] == 429
    # Another account from the same address is not blocked by this account's limit.
    other = make_user()
    assert api.post("/auth/login", json={"email": other.email, "password": PASSWORD}).status_code == 200


def test_login_is_rate_limited_per_ip(api):
    fresh_window("127.0.0.1")
    statuses = [
        api.post("/auth/login", json={"email": f"nobody{i}@example.com", "password": "wrong-password-1"}).status_code
        for i in range(21)
    ]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429
    user = make_user()
    assert_error(api.post("/auth/login", json={"email": user.email, "password": PASSWORD}), 429)


@pytest.mark.usefixtures("open_registration")
def test_register_is_rate_limited_per_ip(api):
    fresh_window("127.0.0.1")
    statuses = [
        api.post("/auth/register", json={"email": f"new{i}@example.com", "password": PASSWORD}).status_code
        for i in range(21)
    ]
    assert statuses[:20] == [201] * 20
    assert statuses[20] == 429
    assert User.objects.count() == 20


# ---------------------------------------------------------------- disabled users


def test_a_disabled_user_is_locked_out_of_rest_and_v1_at_once(api, http, gateway):
    admin = make_user(admin=True)
    user = make_user()
    secret = make_key(user)
    user_headers = api.login(user)
    tokens = api.post("/auth/login", json={"email": user.email, "password": PASSWORD}).json()
    v1 = f"{gateway.url}/v1/models"
    assert api.get("/auth/me", headers=user_headers).status_code == 200
    assert http.get(v1, headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert http.get(v1, headers=user_headers).status_code == 200

    response = api.put(f"/admin/users/{user.id}/status", headers=api.login(admin), json={"active": False})
    assert response.status_code == 200 and response.json()["active"] is False

    assert_error(api.get("/auth/me", headers=user_headers), 401)
    assert_error(api.post("/auth/refresh", json={"refresh": tokens["refresh"]}), 401)
    assert_error(api.post("/auth/login", json={"email": user.email, "password": PASSWORD}), 401)
    for headers in ({"Authorization": f"Bearer {secret}"}, {"X-Client-API-Key": secret}, user_headers):
        response = http.get(v1, headers=headers)
        assert response.status_code == 401
        error = response.json()["error"]
        assert set(error) == {"message", "type", "code", "param"}
        assert error["type"] == "authentication_error" and error["code"] == "invalid_api_key"
