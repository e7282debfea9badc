"""403, 404 and 500 in the site's layout (the API keeps its JSON), /favicon.ico, and the Django admin's sync button
working under our Content-Security-Policy."""

from __future__ import annotations

import httpx
from django.test import RequestFactory
from playwright.sync_api import expect

from gateway_project.errors import failed
from testing.browser import log_in, screenshot
from testing.factories import make_user, sync_catalog
from testing.pages import sideways_overflow, watch_console


def test_a_missing_page_is_a_styled_404_and_the_api_keeps_its_shape(gateway, new_page):
    page = new_page()
    errors = watch_console(page)
    response = page.goto("/no/such/page/")
    assert response.status == 404
    expect(page.locator(".error-page .code")).to_have_text("404")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.locator(".error-page")).to_contain_text("There is nothing at /no/such/page/.")
    expect(page.locator("link[rel=stylesheet][href*='content.css']")).to_have_count(1)
    assert page.locator(".topbar").is_visible()
    screenshot(page, "error-404")
    api = httpx.get(f"{gateway.url}/api/no/such/thing", timeout=30)
    assert api.status_code == 404 and api.json() == {"message": "Not found.", "extra": {}}
    # the one console line is Chromium's note of the page's own status: every asset and script loaded
    assert errors == ["Failed to load resource: the server responded with a status of 404 (Not Found)"]
    assert page.problems == []


def test_a_user_on_an_admin_page_gets_a_styled_403(gateway, new_page):
    page = new_page()
    errors = watch_console(page)
    log_in(page, gateway.url, make_user().email)
    response = page.goto("/console/")
    assert response.status == 403
    expect(page.locator(".error-page .code")).to_have_text("403")
    expect(page.get_by_role("heading", name="You cannot open this page")).to_be_visible()
    expect(page.locator(".error-page")).to_contain_text("Admins only.")
    expect(page.get_by_role("link", name="Playground")).to_be_visible()  # the signed-in layout
    page.set_viewport_size({"width": 390, "height": 800})
    assert sideways_overflow(page) == 0
    screenshot(page, "error-403")
    assert errors == ["Failed to load resource: the server responded with a status of 403 (Forbidden)"]
    assert page.problems == []


def test_a_server_error_is_the_styled_500_page_and_json_under_the_api(db):
    page = failed(RequestFactory().get("/console/"))
    api = failed(RequestFactory().get("/api/admin/stats"))

    assert page.status_code == 500
    html = page.content.decode()
    assert "Something went wrong on our side" in html and "css/content.css" in html and 'class="code"' in html
    assert api.status_code == 500
    assert api["content-type"] == "application/json"


def test_the_favicon_answers_and_every_page_links_it(gateway, http):
    icon = http.get(f"{gateway.url}/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"] == "image/svg+xml"
    assert icon.content.startswith(b"<svg")
    login = http.get(f"{gateway.url}/login/").text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in login
    assert http.get(f"{gateway.url}/static/favicon.svg").status_code == 200


def test_the_django_admins_sync_button_works_under_the_csp(gateway, new_page, sim):
    sync_catalog()
    admin = make_user(admin=True)
    page = new_page()
    errors = watch_console(page)
    log_in(page, gateway.url, admin.email)
    response = page.goto("/django-admin/models_catalog/catalogmodel/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert page.locator("script:not([src])").count() == 0  # nothing inline for the CSP to block
    page.get_by_role("link", name="Sync models now").click()
    expect(page.locator("#sync-status")).to_contain_text("Added 0, updated")
    page.wait_for_load_state("load")
    expect(page.locator("#sync-status")).to_contain_text("last sync", timeout=15_000)
    screenshot(page, "django-admin-sync")
    assert errors == [] and page.problems == []
