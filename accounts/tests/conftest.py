"""Helpers for the accounts tests: log in over real HTTP, check the one error shape."""

from __future__ import annotations

import dataclasses
import time

import httpx
import pytest
from django_ratelimit.core import _get_window

from testing.factories import PASSWORD


def assert_error(response: httpx.Response, status: int) -> dict:
    """Assert ``response`` is ``status`` with the management API's ``{"message", "extra"}`` shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "extra"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["extra"], dict)
    return body


def assert_page(body: dict) -> list:
    """Assert ``body`` is a page ``{count, next, previous, results}``; return its results."""
    assert set(body) == {"count", "next", "previous", "results"}, body
    assert isinstance(body["results"], list)
    return body["results"]


def fresh_window(*values: str, period: int = 60, margin: float = 20.0) -> None:
    """Wait until no rate-limit window of ``values`` ends within ``margin`` seconds.

    django-ratelimit counts in fixed windows; a test that straddles a window's end
    would see its counter reset halfway and prove nothing.
    """
    for _ in range(3):
        left = min(_get_window(v, period) - time.time() for v in values)
        if left > margin:
            return
        time.sleep(max(left, 0) + 0.5)


def in_one_window(attempts, *values: str, period: int = 60):
    """Run ``attempts()`` until one run starts and ends in the same rate-limit windows of ``values``; return it.

    The rate-limit counters of the run before are emptied, so a retried run starts from zero.
    """
    from django.core.cache import cache

    for _ in range(3):
        fresh_window(*values, period=period)
        before = [_get_window(v, period) for v in values]
        result = attempts()
        if [_get_window(v, period) for v in values] == before:
            return result
        cache.clear()
    raise AssertionError("the rate-limit window kept rolling over during the attempts")


def set_gateway_config(settings, **changes) -> None:
    """Change fields of ``settings.GATEWAY`` for one test (the live gateway thread reads the same settings)."""
    settings.GATEWAY = dataclasses.replace(settings.GATEWAY, **changes)


@pytest.fixture
def open_registration(settings):
    """GATEWAY_REGISTRATION_OPEN=1 for this test (the default is closed)."""
    set_gateway_config(settings, registration_open=True)


@pytest.fixture
def api(gateway, http):
    """A tiny client for the management API: ``api.login(user)`` returns bearer headers."""

    class Api:
        url = f"{gateway.url}/api"

        def login(self, user, password: str = PASSWORD) -> dict[str, str]:
            response = http.post(f"{self.url}/auth/login", json={"email": user.email, "password": password})
            assert response.status_code == 200, response.text
            return {"Authorization": f"Bearer {response.json()['access']}"}

        def get(self, path: str, **kw) -> httpx.Response:
            return http.get(f"{self.url}{path}", **kw)

        def post(self, path: str, **kw) -> httpx.Response:
            return http.post(f"{self.url}{path}", **kw)

        def put(self, path: str, **kw) -> httpx.Response:
            return http.put(f"{self.url}{path}", **kw)

        def patch(self, path: str, **kw) -> httpx.Response:
            return http.patch(f"{self.url}{path}", **kw)

        def delete(self, path: str, **kw) -> httpx.Response:
            return http.delete(f"{self.url}{path}", **kw)

    return Api()


@pytest.fixture(autouse=True)
def _request_logs_written(request):
    """With the live gateway, wait for its request-log rows to be written before the test's tables are emptied.

    A row flushed after the teardown would point at a deleted key and be retried forever.
    """
    if "gateway" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("gateway")
    yield
    import time

    from chat.logbuffer import log_buffer
    from testing.servers import wait_until

    for _ in range(2):
        wait_until(lambda: len(log_buffer()) == 0, timeout=10)
        time.sleep(0.15)  # a batch being written is out of the queue but not yet committed
