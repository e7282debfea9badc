"""Redis stopped and restarted while traffic flows: the configured failure mode holds, recovery is automatic.

The gateway process uses a private redis-server of this test (never the shared one); the
same port comes back after the restart, and the gateway is not restarted.
"""

from __future__ import annotations

import threading

import httpx
import pytest

from testing.factories import make_key, make_user, sync_catalog
from testing.servers import wait_until
from testing.services import PrivateRedis

LLAMA = "meta-llama/llama-3.3-70b-instruct:free"


class Traffic:
    """Requests sent back to back from a thread until stopped; every answer's status is kept."""

    def __init__(self, url: str, secret: str) -> None:
        self.url, self.secret = url, secret
        self.statuses: list[int | str] = []
        self.bodies: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self._stop.is_set():
                try:
                    r = client.post(f"{self.url}/v1/chat/completions",
                                    headers={"Authorization": f"Bearer {self.secret}"},
                                    json={"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]})
                    self.statuses.append(r.status_code)
                    self.bodies.append(r.text)
                except httpx.HTTPError as exc:
                    self.statuses.append(type(exc).__name__)
                self._stop.wait(0.05)  # a steady flow, not a flood of the shared cores

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.stop()


@pytest.mark.parametrize(("mode", "while_down"), [("open", {200}), ("closed", {503})])
def test_redis_stop_and_restart_under_traffic_keeps_the_policy_and_recovers(
        gateway_process_factory, private_redis, http, mode, while_down):
    sync_catalog()
    secret = make_key(make_user())
    proc = gateway_process_factory(REDIS_URL=private_redis.url, REDIS_FAILURE_MODE=mode,
                                   GATEWAY_DEFAULT_RPM="100000", GATEWAY_DEFAULT_TPM="100000000")
    with Traffic(proc.url, secret) as traffic:
        wait_until(lambda: traffic.statuses.count(200) >= 3, timeout=20)
        private_redis.stop()
        mark = len(traffic.statuses)
        assert http.get(f"{proc.url}/health/ready").json()["dependencies"]["redis"] == "down"
        wait_until(lambda: len(traffic.statuses) >= mark + 5, timeout=30)
        down = traffic.statuses[mark + 1:]  # the request in flight when Redis stopped may go either way
        private_redis.start()
        back = len(traffic.statuses)
        wait_until(lambda: 200 in traffic.statuses[back + 1:] and traffic.statuses[-1] == 200, timeout=30)
    assert set(down) == while_down, down
    if mode == "closed":
        assert all('"limits_unavailable"' in body for body, status in zip(traffic.bodies[mark + 1:], down,
                                                                          strict=False) if status == 503)
    assert all(isinstance(s, int) and s < 500 or s == 503 for s in traffic.statuses), traffic.statuses
    # Limits are enforced again, without a gateway restart: the answer carries the counters.
    r = http.post(f"{proc.url}/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                  json={"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]})
    assert r.status_code == 200
    assert "x-ratelimit-remaining-requests" in r.headers
    assert http.get(f"{proc.url}/health/ready").json()["dependencies"]["redis"] == "ok"
    assert proc.proc.poll() is None
