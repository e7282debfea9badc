"""Login and registration throttles over real HTTP: one bucket per normalised email, shared by the page
and the REST API; registration throttled per email as login is."""

from __future__ import annotations

import pytest

from accounts.models import User
from accounts.tests.conftest import assert_error, in_one_window
from accounts.throttles import normalise_email
from testing.factories import PASSWORD, make_user

SPELLINGS = ["DAVE@example.com", "Dave@Example.com", "  dave@example.COM ", "dave@example.com"]


def test_normalise_email_strips_and_casefolds():
    assert {normalise_email(s) for s in SPELLINGS} == {"dave@example.com"}
    assert normalise_email(None) == "" and normalise_email(["a@b.c"]) == ""


def _page_login(http, url: str, email: str, password: str) -> int:
    return http.post(f"{url}/login/", data={"email": email, "password": password,
                                            "csrfmiddlewaretoken": http.cookies["csrftoken"]}).status_code


def test_page_login_counts_every_spelling_of_an_email_in_one_bucket(http, gateway):
    make_user(email="dave@example.com")
    http.get(f"{gateway.url}/login/")

    def ten_wrong_attempts() -> list[int]:
        return [_page_login(http, gateway.url, SPELLINGS[i % 4], "wrong-password-1") for i in range(10)]

    assert in_one_window(ten_wrong_attempts, "dave@example.com", "127.0.0.1") == [400] * 10
    assert _page_login(http, gateway.url, "DaVe@EXAMPLE.com", PASSWORD) == 429
    # Another account from the same address still gets in.
    other = make_user()
    assert _page_login(http, gateway.url, other.email, PASSWORD) == 302


def test_rest_and_page_login_share_the_email_bucket(api, http, gateway):
    make_user(email="dave@example.com")
    http.get(f"{gateway.url}/login/")

    def alternate() -> list[int]:
        return [status for i in range(5) for status in (
            _page_login(http, gateway.url, SPELLINGS[i % 4], "wrong-password-1"),
            api.post("/auth/login", json={"email": SPELLINGS[(i + 1) % 4], "password": "wrong-password-1"}).status_code,
        )]

    assert in_one_window(alternate, "dave@example.com", "127.0.0.1") == [400, 401] * 5
    body = assert_error(api.post("/auth/login", json={"email": "DAVE@example.com", "password": PASSWORD}), 429)
    assert "Too many" in body["message"]
    assert _page_login(http, gateway.url, "dave@example.com", PASSWORD) == 429


@pytest.mark.usefixtures("open_registration")
def test_registration_is_throttled_per_email_whatever_its_spelling(api):
    make_user(email="dave@example.com")

    def register_eleven_times() -> list[int]:
        return [api.post("/auth/register", json={"email": SPELLINGS[i % 4], "password": PASSWORD}).status_code
                for i in range(11)]

    statuses = in_one_window(register_eleven_times, "dave@example.com", "127.0.0.1")
    assert statuses == [400] * 10 + [429]  # taken, ten times; then throttled
    # A new address from the same client is still served (the per-IP bucket is larger).
    assert api.post("/auth/register", json={"email": "erin@example.com", "password": PASSWORD}).status_code == 201
    assert User.objects.filter(email__in=["dave@example.com", "erin@example.com"]).count() == 2


@pytest.mark.usefixtures("open_registration")
def test_the_registration_page_is_throttled_per_email(http, gateway):
    make_user(email="dave@example.com")
    http.get(f"{gateway.url}/login/")

    def register(email: str) -> int:
        return http.post(f"{gateway.url}/register/", data={
            "email": email, "password": PASSWORD, "csrfmiddlewaretoken": http.cookies["csrftoken"]}).status_code

    statuses = in_one_window(lambda: [register(SPELLINGS[i % 4]) for i in range(11)], "dave@example.com", "127.0.0.1")
    assert statuses == [400] * 10 + [429]
