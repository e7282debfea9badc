"""The response cache in the browser (Playwright + Debian Chromium): the admin's clear button, a key's TTL."""

from __future__ import annotations

import dataclasses

from playwright.sync_api import expect

from accounts.models import GatewayKey
from chat.tests.conftest import LLAMA
from testing.browser import screenshot
from testing.servers import wait_until

USER = [{"role": "user", "content": "cache me in a browser"}]


def _cache(client) -> str:
    raw = client.chat.completions.with_raw_response.create(model=LLAMA, messages=USER)
    return raw.headers["x-gateway-cache"]


def test_an_admin_clears_the_response_cache_with_the_console_button(caller, gateway, logged_in_page, settings):
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, cache_ttl_s=60)
    assert [_cache(caller.client), _cache(caller.client)] == ["miss", "hit"]
    page, _ = logged_in_page(admin=True)
    page.goto(f"{gateway.url}/console/")
    page.get_by_role("button", name="Clear the response cache").click()
    expect(page.get_by_role("status")).to_contain_text("Response cache cleared: 1 answer dropped.")
    screenshot(page, "console-cache-cleared")
    assert _cache(caller.client) == "miss"


def test_a_user_sets_a_keys_cache_ttl_on_the_settings_page(caller, gateway, logged_in_page):
    assert "x-gateway-cache" not in caller.client.chat.completions.with_raw_response.create(
        model=LLAMA, messages=USER).headers
    page, _ = logged_in_page(caller.user)
    page.goto(f"{gateway.url}/settings/")
    field = page.get_by_label("Cache TTL of test in seconds")
    field.fill("120")
    page.get_by_role("button", name="Save the cache TTL of test").click()
    expect(page.get_by_label("Cache TTL of test in seconds")).to_have_value("120")
    wait_until(lambda: GatewayKey.objects.get(user=caller.user).cache_ttl == 120)
    assert [_cache(caller.client), _cache(caller.client)] == ["miss", "hit"]
