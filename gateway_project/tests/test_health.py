"""Health endpoints answer over real HTTP and name what is down."""

import httpx


def test_live_answers_ok(gateway, http):
    response = http.get(f"{gateway.url}/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"].startswith("req_")


def test_ready_reports_each_dependency(gateway, http):
    response = http.get(f"{gateway.url}/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["dependencies"]["database"] == "ok"
    assert body["dependencies"]["redis"] == "ok"


def test_ready_is_503_naming_redis_when_redis_is_down(gateway_process_factory):
    proc = gateway_process_factory(REDIS_URL="redis://127.0.0.1:1/0")
    response = httpx.get(f"{proc.url}/health/ready", timeout=10)
    assert response.status_code == 503
    assert response.json()["dependencies"]["redis"] == "down"
    assert "redis" in response.json()["message"]


def test_pages_carry_a_content_security_policy_that_allows_only_our_scripts(gateway, http):
    response = http.get(f"{gateway.url}/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
