"""CORS on /v1 over real HTTP: preflights from allowed origins, headers on answers and streams, none otherwise."""

import dataclasses

import httpx
import pytest

from chat.tests.conftest import LLAMA

APP = "http://app.example.test:5173"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "x-api-key, content-type, anthropic-version, x-stainless-os"}
CHAT = {"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def cors(settings):
    def allow(*origins: str) -> None:
        settings.GATEWAY = dataclasses.replace(settings.GATEWAY, cors_origins=origins)

    return allow


def test_a_preflight_from_an_allowed_origin_is_answered_before_authentication(gateway, cors):
    cors(APP, "https://other.example.test")
    for path in ("/v1/messages", "/v1/chat/completions", "/v1/models"):
        r = httpx.options(f"{gateway.url}{path}", headers=PREFLIGHT)
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == APP
        assert r.headers["vary"] == "Origin"
        assert set(r.headers["access-control-allow-methods"].split(", ")) == {"GET", "POST", "OPTIONS"}
        allowed = set(r.headers["access-control-allow-headers"].split(", "))
        assert {"authorization", "x-api-key", "content-type", "anthropic-version", "x-gateway-cache-ttl",
                "x-stainless-os"} <= allowed
        assert int(r.headers["access-control-max-age"]) > 0


def test_answers_to_an_allowed_origin_carry_the_origin_and_expose_the_gateway_headers(caller, gateway, cors):
    cors(APP)
    r = httpx.post(f"{gateway.url}/v1/chat/completions", json=CHAT,
                   headers={"Origin": APP, "Authorization": f"Bearer {caller.secret}"})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == APP
    exposed = set(r.headers["access-control-expose-headers"].split(", "))
    assert {"x-request-id", "x-gateway-model", "x-gateway-attempts", "x-ratelimit-remaining-requests"} <= exposed
    refused = httpx.post(f"{gateway.url}/v1/messages", json={}, headers={"Origin": APP})
    assert refused.status_code == 401 and refused.headers["access-control-allow-origin"] == APP
    with httpx.stream("POST", f"{gateway.url}/v1/messages", headers={"Origin": APP, "x-api-key": caller.secret},
                      json={**CHAT, "max_tokens": 20, "stream": True}) as stream:
        body = stream.read()
    assert stream.headers["access-control-allow-origin"] == APP
    assert "x-request-id" in stream.headers["access-control-expose-headers"]
    assert body.rstrip().endswith(b'data: {"type":"message_stop"}')


def test_other_origins_and_an_unset_variable_get_no_cors_headers(caller, gateway, cors):
    cors(APP)
    other = {**PREFLIGHT, "Origin": "https://evil.example.test"}
    r = httpx.options(f"{gateway.url}/v1/chat/completions", headers=other)
    assert r.status_code == 405 and "access-control-allow-origin" not in r.headers
    r = httpx.post(f"{gateway.url}/v1/chat/completions", json=CHAT,
                   headers={"Origin": "https://evil.example.test", "Authorization": f"Bearer {caller.secret}"})
    assert r.status_code == 200 and not [h for h in r.headers if h.startswith("access-control-")]
    cors()
    r = httpx.options(f"{gateway.url}/v1/chat/completions", headers=PREFLIGHT)
    assert r.status_code == 405 and "access-control-allow-origin" not in r.headers


def test_a_star_allows_every_origin(caller, gateway, cors):
    cors("*")
    r = httpx.options(f"{gateway.url}/v1/messages", headers={**PREFLIGHT, "Origin": "https://any.example.test"})
    assert r.status_code == 204 and r.headers["access-control-allow-origin"] == "*" and "vary" not in r.headers
    r = httpx.get(f"{gateway.url}/v1/models", headers={"Origin": "null", "x-api-key": caller.secret})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*"

