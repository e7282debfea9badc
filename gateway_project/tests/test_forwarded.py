"""Proxy headers are believed only from TRUSTED_PROXIES; HSTS on HTTPS; the optional HTTPS redirect."""

from __future__ import annotations

import ipaddress

import pytest

from accounts.tests.conftest import set_gateway_config
from gateway_project.forwarded import client_from, resolve

LOOPBACK = (ipaddress.ip_network("127.0.0.1/32"),)
PROXIES = (ipaddress.ip_network("10.0.0.0/8"),)


def _scope(peer: str, **headers: str) -> dict:
    return {"type": "http", "scheme": "http", "path": "/", "client": (peer, 5000),
            "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]}


def test_headers_from_an_untrusted_peer_are_ignored():
    scope = resolve(_scope("203.0.113.9", x_forwarded_for="1.2.3.4", x_forwarded_proto="https"), PROXIES)
    assert scope["client"] == ("203.0.113.9", 5000) and scope["scheme"] == "http"
    # With no TRUSTED_PROXIES (the default) not even loopback is believed.
    assert resolve(_scope("127.0.0.1", x_forwarded_for="1.2.3.4"), ())["client"][0] == "127.0.0.1"


def test_a_trusted_peer_gives_the_client_and_the_scheme():
    scope = resolve(_scope("10.1.1.1", x_forwarded_for="198.51.100.7", x_forwarded_proto="https"), PROXIES)
    assert scope["client"][0] == "198.51.100.7" and scope["scheme"] == "https"


def test_the_chain_is_read_from_the_right_past_trusted_hops_only():
    # A client forging X-Forwarded-For only adds entries to the left of the real one.
    assert client_from("10.0.0.1", ["6.6.6.6", "198.51.100.7", "10.0.0.2"], PROXIES) == "198.51.100.7"
    assert client_from("10.0.0.1", ["10.0.0.3", "10.0.0.2"], PROXIES) == "10.0.0.3"
    assert client_from("10.0.0.1", ["not-an-ip", "10.0.0.2"], PROXIES) == "10.0.0.2"


def _login_attempts(http, url: str, count: int, **headers: str) -> list[int]:
    return [http.post(f"{url}/api/auth/login", json={"email": f"nobody{i}@example.com", "password": "wrong-pass-1"},
                      headers={"X-Forwarded-For": f"198.51.100.{i}", **headers}).status_code for i in range(count)]


def test_a_forged_x_forwarded_for_does_not_walk_around_the_login_throttle(http, gateway):
    from accounts.tests.conftest import in_one_window

    statuses = in_one_window(lambda: _login_attempts(http, gateway.url, 21), "127.0.0.1")
    assert statuses == [401] * 20 + [429]


def test_behind_a_trusted_proxy_each_client_has_its_own_login_bucket(http, gateway, settings):
    set_gateway_config(settings, trusted_proxies=LOOPBACK)
    assert _login_attempts(http, gateway.url, 25) == [401] * 25


def test_hsts_is_sent_when_a_trusted_proxy_reports_https(http, gateway, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "strict-transport-security" not in http.get(f"{gateway.url}/login/", headers=forwarded).headers
    set_gateway_config(settings, trusted_proxies=LOOPBACK)
    hsts = http.get(f"{gateway.url}/login/", headers=forwarded).headers["strict-transport-security"]
    assert hsts == "max-age=31536000"


def test_session_and_csrf_cookies_are_secure_when_configured(http, gateway, settings):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    page = http.get(f"{gateway.url}/login/")
    assert "secure" in page.headers["set-cookie"].lower()


@pytest.mark.parametrize("path", ["/login/", "/v1/models", "/api/auth/me"])
def test_the_https_redirect_covers_pages_and_apis_but_not_health(http, gateway, settings, path):
    set_gateway_config(settings, https_redirect=True)
    response = http.get(f"{gateway.url}{path}?a=1")
    assert response.status_code == 308
    assert response.headers["location"] == f"https://127.0.0.1{path}?a=1"
    assert http.get(f"{gateway.url}/health/live").status_code == 200
    # A request the trusted proxy reports as HTTPS is served.
    set_gateway_config(settings, https_redirect=True, trusted_proxies=LOOPBACK)
    assert http.get(f"{gateway.url}/login/", headers={"X-Forwarded-Proto": "https"}).status_code == 200


def test_the_https_redirect_refuses_an_unknown_host(http, gateway, settings):
    set_gateway_config(settings, https_redirect=True)
    response = http.get(f"{gateway.url}/login/", headers={"Host": "evil.example"})
    assert response.status_code == 400 and "location" not in response.headers
