"""Request bodies are bounded before authentication on every surface: /v1, the SSE endpoints, pages and REST."""

import httpx
import orjson
import pytest

from testing.factories import make_key, make_user
from testing.rawhttp import send_oversize

MB = 1024 * 1024
SSE = "/api/conversations/1/messages/stream"


def _alive(gateway) -> bool:
    return httpx.get(f"{gateway.url}/health/live", timeout=10).status_code == 200


@pytest.mark.parametrize("declared", [200 * MB, None], ids=["declared", "chunked"])
@pytest.mark.parametrize("target", [SSE, "/api/auth/login", "/login/"])
def test_an_unauthenticated_oversize_body_is_413_on_pages_rest_and_sse(gateway, target, declared):
    status, body = send_oversize(gateway.url, target, declared=declared, send_bytes=8 * MB)
    assert status == 413
    assert orjson.loads(body)["message"].startswith("The request body is larger than")
    assert _alive(gateway)


def test_an_unauthenticated_oversize_body_is_413_on_v1_before_the_401(gateway):
    status, body = send_oversize(gateway.url, "/v1/chat/completions", declared=200 * MB, send_bytes=16 * MB)
    assert status == 413
    assert orjson.loads(body)["error"]["code"] == "request_too_large"
    assert _alive(gateway)


def test_a_chunked_oversize_body_on_v1_is_413_once_authenticated(gateway):
    secret = make_key(make_user())
    status, body = send_oversize(gateway.url, "/v1/chat/completions", declared=None, send_bytes=16 * MB,
                                 headers={"Authorization": f"Bearer {secret}"})
    assert status == 413 and orjson.loads(body)["error"]["code"] == "request_too_large"
    assert _alive(gateway)


def test_a_body_within_the_limit_still_reaches_the_api(gateway, http):
    answer = http.post(f"{gateway.url}/api/auth/login", json={"email": "nobody@example.com", "password": "x" * 1000})
    assert answer.status_code in (400, 401)  # refused as a login, not as a size
