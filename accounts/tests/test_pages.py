"""User pages in headless Chromium and over plain HTTP: settings, keys, usage, CSRF, no admin access."""

from __future__ import annotations

from contextlib import closing

import httpx
import pytest
from openai import OpenAI
from playwright.sync_api import expect

from accounts.models import GatewayKey, UserUpstreamKey
from accounts.services import gateway_key_create
from chat.models import Conversation
from models_catalog.models import UserModelChoice
from testing.browser import log_in, screenshot, session_client
from testing.factories import PASSWORD, make_user, sync_catalog

MODEL = "meta-llama/llama-3.3-70b-instruct:free"


def test_log_in_lands_on_the_playground_and_log_out_leaves(gateway, page):
    user = make_user()
    page.goto("/login/")
    screenshot(page, "login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("wrong-password-123")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Email or password is wrong")
    log_in(page, gateway.url, user.email)
    expect(page).to_have_url(f"{gateway.url}/playground/")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{gateway.url}/login/")
    page.goto("/settings/")
    expect(page).to_have_url(f"{gateway.url}/login/?next=/settings/")


@pytest.mark.usefixtures("open_registration")
def test_register_then_change_password(gateway, page):
    page.goto("/register/")
    screenshot(page, "register")
    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_label("Password").fill("a-long-fresh-passphrase")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{gateway.url}/playground/")
    page.goto("/settings/password/")
    page.get_by_label("Current password").fill("a-long-fresh-passphrase")
    page.get_by_label("New password").fill("another-long-passphrase")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status").last).to_have_text("Password changed.")
    screenshot(page, "change-password")
    assert httpx.post(f"{gateway.url}/api/auth/login",
                      json={"email": "newcomer@example.com", "password": "another-long-passphrase"}).status_code == 200


def test_set_and_remove_an_own_openrouter_key(gateway, logged_in_page):
    page, user = logged_in_page()
    page.goto("/settings/")
    page.get_by_label("OpenRouter API key").fill("sk-or-v1-my-own-key-9876")
    page.get_by_role("button", name="Save key").click()
    expect(page.locator("#byok")).to_contain_text("A key ending in 9876 is set.")
    assert "sk-or-v1-my-own-key-9876" not in page.content()
    assert UserUpstreamKey.objects.get(user=user).last4 == "9876"
    screenshot(page, "settings")
    page.get_by_role("button", name="Remove key").click()
    expect(page.locator("#byok")).to_contain_text("No key set")
    assert not UserUpstreamKey.objects.filter(user=user).exists()


def test_a_key_made_in_the_page_works_with_the_openai_sdk(gateway, logged_in_page):
    sync_catalog(MODEL)
    page, user = logged_in_page()
    page.goto("/settings/")
    page.get_by_placeholder("Name, e.g. my-laptop").fill("sdk-test")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-key-secret").input_value()
    assert secret.startswith("sk-")
    expect(page.locator("#keys")).to_contain_text("Copy it now: it is shown only once.")
    client = OpenAI(base_url=f"{gateway.url}/v1", api_key=secret)
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi there"}])
    assert reply.choices[0].message.content == f"Hello from {MODEL}. You said: hi there"
    page.get_by_role("button", name="Disable sdk-test").click()
    expect(page.locator("#keys")).to_contain_text("Disabled")
    assert not GatewayKey.objects.get(user=user, name="sdk-test").enabled
    page.reload()
    assert secret not in page.content()  # shown once
    page.get_by_role("button", name="Delete sdk-test").click()
    expect(page.locator("#keys")).to_contain_text("No keys yet.")
    assert GatewayKey.objects.get(user=user, name="sdk-test").deleted_at is not None


def test_my_models_toggle_hides_a_model_from_the_playground(gateway, logged_in_page):
    sync_catalog(MODEL)
    page, user = logged_in_page()
    page.goto("/settings/")
    switch = page.get_by_role("switch", name="Meta: Llama 3.3 70B Instruct (free)")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(page.get_by_role("switch", name="Meta: Llama 3.3 70B Instruct (free)")).to_have_attribute(
        "aria-checked", "false")
    assert UserModelChoice.objects.get(user=user).enabled is False
    page.goto("/playground/")
    expect(page.locator("#main")).to_contain_text("You have no models yet")


def test_usage_page_shows_balance_ledger_and_todays_requests(gateway, logged_in_page):
    from decimal import Decimal

    from accounts.services import credits_top_up

    page, user = logged_in_page()
    credits_top_up(user=user, amount=Decimal("5"), note="welcome credit")
    page.goto("/usage/")
    expect(page.get_by_test_id("balance")).to_have_text("$5")
    expect(page.locator("#main")).to_contain_text("welcome credit")
    screenshot(page, "usage")
    page.goto("/device/")
    screenshot(page, "device")


# ---------------------------------------------------------------- plain HTTP


FORMS = [
    "/logout/", "/register/", "/settings/password/", "/settings/api-key/", "/settings/api-key/delete/",
    "/settings/keys/", "/settings/keys/1/toggle/", "/settings/keys/1/delete/", "/settings/models/1/toggle/",
    "/device/", "/playground/new/", "/playground/1/send/", "/playground/1/settings/", "/playground/1/delete/",
]


@pytest.mark.parametrize("path", FORMS)
def test_every_form_refuses_a_post_without_the_csrf_token(gateway, path):
    user = make_user()
    with closing(session_client(gateway.url, user)) as client:
        response = client.post(path, data={"name": "x", "api_key": "sk-or-abcdefgh1234", "content": "hi"})
        assert response.status_code == 403
    assert not GatewayKey.objects.filter(user=user).exists()
    assert not UserUpstreamKey.objects.filter(user=user).exists()


def test_login_form_refuses_a_post_without_the_csrf_token(gateway):
    user = make_user()
    response = httpx.post(f"{gateway.url}/login/", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 403


def test_a_user_never_reaches_another_users_conversation_or_keys(gateway):
    sync_catalog(MODEL)
    owner, intruder = make_user(), make_user()
    theirs = Conversation.objects.create(user=owner, model=MODEL, title="owner's secret plans")
    key = gateway_key_create(user=owner, name="owner-key").key
    with closing(session_client(gateway.url, intruder)) as client:
        token = {"csrfmiddlewaretoken": client.cookies["csrftoken"]}
        assert client.get(f"/playground/{theirs.id}/").status_code == 404
        assert client.post(f"/playground/{theirs.id}/send/", data={**token, "content": "hi"}).status_code == 404
        assert client.post(f"/playground/{theirs.id}/delete/", data=token).status_code == 404
        assert client.post(f"/settings/keys/{key.id}/delete/", data=token).status_code == 404
        assert "owner's secret plans" not in client.get("/playground/").text
    assert Conversation.objects.filter(pk=theirs.id).exists()
    key.refresh_from_db()
    assert key.deleted_at is None


def test_a_user_reaches_no_admin_page_or_admin_api(gateway):
    user = make_user()
    with closing(session_client(gateway.url, user)) as client:
        assert client.get("/django-admin/", follow_redirects=False).status_code == 302
        for path in ["/api/admin/users", "/api/admin/keys", "/api/admin/upstream-keys"]:
            assert client.get(path).status_code == 403
        assert "Admin" not in client.get("/settings/").text.split("</nav>")[0]
