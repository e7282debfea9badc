"""The console's issue-15 fixes in headless Chromium: the log filter (one request per change, the address, Back),
the models page's tabs, bulk enable and prices per million, and the pool keys' Test, Disable and Delete."""

from __future__ import annotations

from playwright.sync_api import expect

from accounts.models import UpstreamKey
from accounts.services import upstream_key_add
from chat.tests.conftest import LLAMA, QWEN
from models_catalog.models import CatalogModel
from testing.browser import log_in, screenshot
from testing.factories import make_user


def _log_requests(page) -> list[str]:
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if "/console/logs/?" in r.url else None)
    return seen


def test_the_log_filter_sends_one_request_per_change_and_back_restores_the_form(caller, gateway, page):
    for model in (LLAMA, QWEN):
        caller.client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}])
    from chat.logbuffer import log_buffer
    from chat.models import RequestLog
    from testing.servers import wait_until

    log_buffer().flush_from_thread()
    wait_until(lambda: RequestLog.objects.count() == 2)
    admin = make_user(admin=True)
    log_in(page, gateway.url, admin.email)
    page.goto("/console/logs/")
    table = page.locator("#log-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    assert page.get_by_label("From").get_attribute("type") == "date"
    assert page.get_by_label("To").get_attribute("type") == "date"
    seen = _log_requests(page)

    page.get_by_label("Model").fill("qwen3")  # part of an id
    page.get_by_label("Model").press("Enter")  # fires change and submit: one request
    expect(table.locator("tbody tr")).to_have_count(1)
    page.wait_for_timeout(300)  # nothing else may follow
    assert len(seen) == 1, seen
    assert page.url.endswith("/console/logs/?model=qwen3")

    page.get_by_label("Status").select_option("ok")
    expect(page).to_have_url(f"{gateway.url}/console/logs/?model=qwen3&status=ok")
    assert len(seen) == 2, seen
    screenshot(page, "console-logs-live-filter")

    page.go_back()
    expect(page).to_have_url(f"{gateway.url}/console/logs/?model=qwen3")
    expect(page.get_by_label("Model")).to_have_value("qwen3")
    expect(page.get_by_label("Status")).to_have_value("")
    page.go_back()
    expect(page.get_by_label("Model")).to_have_value("")
    expect(page.locator("#log-table tbody tr")).to_have_count(2)
    assert page.problems == []


def test_the_models_page_has_tabs_bulk_enable_and_prices_per_million(gateway, page):
    from testing.factories import sync_catalog

    sync_catalog()
    CatalogModel.objects.update(enabled=False)
    priced = CatalogModel.objects.get(model_id=QWEN)
    CatalogModel.objects.filter(pk=priced.pk).update(prompt_price="0.0000008", completion_price="0.0000024")
    admin = make_user(admin=True)
    log_in(page, gateway.url, admin.email)
    page.goto("/console/models/")
    tabs = page.get_by_role("navigation", name="Model settings")
    expect(tabs.locator('[aria-current="true"]')).to_have_text("Catalog")
    expect(page.locator("#aliases")).to_be_hidden()
    row = page.get_by_test_id(f"model-{QWEN}")
    expect(row.get_by_test_id("prompt-price")).to_have_text("0.80")
    expect(row.get_by_test_id("completion-price")).to_have_text("2.40")

    page.get_by_role("checkbox", name=f"Select {LLAMA}").check()
    page.get_by_role("checkbox", name=f"Select {QWEN}").check()
    page.get_by_role("button", name="Enable selected").click()
    expect(page.get_by_text("2 models enabled.")).to_be_visible()
    assert set(CatalogModel.objects.filter(enabled=True).values_list("model_id", flat=True)) == {LLAMA, QWEN}
    page.get_by_role("checkbox", name="Select every model on this page").check()
    page.get_by_role("button", name="Disable selected").click()
    expect(page.get_by_text("models disabled.")).to_be_visible()
    assert not CatalogModel.objects.filter(enabled=True).exists()

    tabs.get_by_role("link", name="Presets").click()
    expect(page.locator("#presets")).to_be_visible()
    expect(page.locator("#models")).to_be_hidden()
    presets = page.locator("#presets")
    presets.get_by_label("Name").fill("json")
    presets.get_by_label("Model").fill(QWEN)
    presets.get_by_label("Parameters (JSON)").fill('{"temperature": 0.2, "top_p": 1}')
    presets.get_by_role("button", name="Save preset").click()
    expect(page.locator("#presets code.json")).to_have_text('{"temperature": 0.2, "top_p": 1}')  # JSON, not Python
    page.locator("#presets").get_by_role("button", name="Edit preset json").click()
    expect(page.locator("#presets").get_by_label("Parameters (JSON)")).to_have_value('{"temperature": 0.2, "top_p": 1}')
    screenshot(page, "console-models-tabs")
    assert page.problems == []


def test_pool_keys_are_tested_disabled_and_deleted_in_the_browser(gateway, sim, page):
    upstream_key_add(api_key="sk-or-v1-browser-pool-4242", label="browser")
    admin = make_user(admin=True)
    log_in(page, gateway.url, admin.email)
    page.goto("/console/upstream-keys/")
    row = page.get_by_test_id("pool-key-4242")
    row.get_by_role("button", name="Test key …4242").click()
    expect(page.get_by_role("status").first).to_contain_text("Key …4242 works")
    page.get_by_test_id("pool-key-4242").get_by_role("button", name="Disable key …4242").click()
    expect(page.get_by_role("status").first).to_have_text("Key …4242 is out of the pool.")
    expect(page.get_by_test_id("pool-key-4242").get_by_test_id("enabled")).to_have_text("no")
    page.get_by_test_id("pool-key-4242").get_by_role("button", name="Delete key …4242").click()  # confirm accepted
    expect(page.get_by_role("status").first).to_have_text("Key …4242 is deleted.")
    assert not UpstreamKey.objects.exists()

    page.get_by_label("…or paste keys").fill("sk-or-v1-fine-key-5555\nnope\n")
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_test_id("import-error")).to_contain_text("Line 2 does not hold one API key")
    expect(page.get_by_label("…or paste keys")).to_have_value("sk-or-v1-fine-key-5555\nnope\n")
    screenshot(page, "console-pool-import-error")
    page.problems[:] = [p for p in page.problems if not p.startswith("dialog: Delete key")]
    assert page.problems == []


def test_the_django_admins_sync_button_works_under_the_csp(gateway, page):
    admin = make_user(admin=True)
    log_in(page, gateway.url, admin.email)
    page.goto("/django-admin/models_catalog/catalogmodel/")
    page.get_by_role("link", name="Sync models now").click()
    expect(page.locator("#sync-status")).to_contain_text("Added")
    page.wait_for_load_state("load")
    assert CatalogModel.objects.exists()
    assert page.problems == []
