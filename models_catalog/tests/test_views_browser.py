"""Journeys through the console models page in headless Chromium, ending with what a user then sees."""

from __future__ import annotations

from playwright.sync_api import expect

from models_catalog.models import Alias, CatalogModel, Preset
from testing.browser import log_in, screenshot
from testing.env import POOL_KEYS
from testing.factories import make_key, make_user, openai_client, sync_catalog

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"
QWEN = "qwen/qwen3-coder:free"


def test_an_admin_syncs_enables_a_model_and_the_user_sees_it(gateway, new_page):
    admin, user = make_user(admin=True), make_user()
    secret = make_key(user)
    page = new_page()
    log_in(page, gateway.url, admin.email)
    page.goto("/console/models/")
    expect(page.get_by_text("No models yet")).to_be_visible()

    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_text("Synced:")).to_be_visible()
    row = page.get_by_test_id(f"model-{LLAMA}")
    expect(row.get_by_test_id("state")).to_have_text("disabled")  # the simulator's catalog arrives for review
    expect(page.get_by_test_id("provider-openrouter").get_by_test_id("last-sync")).to_contain_text("added, 0 updated")
    screenshot(page, "console-models-synced")

    page.evaluate("window.__sameDocument = true")
    row.get_by_role("button", name=f"Enable {LLAMA}").click()
    expect(row.get_by_test_id("state")).to_have_text("enabled")
    expect(row.get_by_role("button", name=f"Disable {LLAMA}")).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True  # htmx swapped the row; the page stayed
    screenshot(page, "console-models-enabled")
    assert list(CatalogModel.objects.filter(enabled=True).values_list("model_id", flat=True)) == [LLAMA]

    user_page = new_page()
    log_in(user_page, gateway.url, user.email)
    user_page.goto("/playground/")
    picker = user_page.get_by_label("Model")
    expect(picker.locator("option")).to_have_count(1)
    expect(picker.locator("option")).to_have_attribute("value", LLAMA)
    screenshot(user_page, "console-models-user-picker")
    assert [m.id for m in openai_client(gateway.url, secret).models.list()] == [LLAMA]
    assert page.problems == [] and user_page.problems == []


def test_an_admin_adds_an_alias_and_the_users_sdk_call_with_it_is_answered(gateway, new_page):
    sync_catalog(LLAMA, QWEN)
    admin, user = make_user(admin=True), make_user()
    client = openai_client(gateway.url, make_key(user))
    page = new_page()
    log_in(page, gateway.url, admin.email)
    page.goto("/console/models/")
    page.get_by_role("navigation", name="Model settings").get_by_role("link", name="Aliases").click()

    aliases = page.locator("#aliases")
    aliases.get_by_label("Alias").fill("house-model")
    aliases.get_by_label("Model").fill(LLAMA)
    aliases.get_by_label("Fallbacks").fill(QWEN)
    aliases.get_by_role("button", name="Save alias").click()
    expect(page.locator("#aliases").get_by_role("status")).to_have_text("Alias house-model saved.")
    expect(page.locator("#aliases")).to_contain_text(f"{LLAMA} → {QWEN}")
    screenshot(page, "console-models-alias")
    assert Alias.objects.get(alias="house-model").fallbacks == [QWEN]

    reply = client.chat.completions.create(model="house-model", messages=[{"role": "user", "content": "hi alias"}])
    assert reply.model == LLAMA
    assert reply.choices[0].message.content.startswith(f"Hello from {LLAMA}. You said: hi alias")

    # A preset with broken JSON parameters is refused in place, with the reason, and nothing is saved.
    page.get_by_role("navigation", name="Model settings").get_by_role("link", name="Presets").click()
    presets = page.locator("#presets")
    presets.get_by_label("Name").fill("careful")
    presets.get_by_label("Model").fill(QWEN)
    presets.get_by_label("Parameters (JSON)").fill('{"temperature": }')
    presets.get_by_role("button", name="Save preset").click()
    expect(page.locator("#presets").get_by_role("alert")).to_contain_text("Parameters: Not valid JSON")
    expect(page.locator("#presets").get_by_label("Name")).to_have_value("careful")
    screenshot(page, "console-models-preset-error")
    assert not Preset.objects.exists()

    body = page.content()
    assert all(key not in body for key in POOL_KEYS)
    assert page.problems == []
