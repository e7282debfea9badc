"""Admin console test helpers: JWT headers, a logged-in HTTP session, and a headless Chromium page.

Import the fixtures into a test module (``from testing.browser_admin import browser_page  # noqa: F401``).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from testing.factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


def jwt_headers(user) -> dict[str, str]:
    """``Authorization: Bearer <access token>`` for ``user``."""
    from rest_framework_simplejwt.tokens import RefreshToken

    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


def session_client(base_url: str, user, password: str = PASSWORD) -> httpx.Client:
    """An HTTP client logged in to the pages as ``user`` through the real login form."""
    client = httpx.Client(base_url=base_url, timeout=30)
    client.get("/login/").raise_for_status()
    r = client.post("/login/", data={"email": user.email, "password": password,
                                     "csrfmiddlewaretoken": client.cookies["csrftoken"]})
    assert r.status_code == 302, r.text
    return client


def csrf_form(client: httpx.Client, **fields) -> dict:
    """Form fields plus the CSRF token the page's forms carry."""
    return {"csrfmiddlewaretoken": client.cookies["csrftoken"], **fields}


@pytest.fixture(scope="session")
def _chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(_chromium):
    """A fresh browser context's page; closed after the test."""
    context = _chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def login_in_browser(page, base_url: str, user, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
