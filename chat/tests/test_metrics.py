"""GET /metrics: values move as requests succeed, fall back, are refused and fail; workers add up; who may scrape.

Gateway processes on loopback with the simulator upstream; each test gives its processes their own
PROMETHEUS_MULTIPROC_DIR, and /metrics is read with prometheus_client's own parser.
"""

from __future__ import annotations

import secrets

import httpx
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import GatewayKey
from accounts.services import gateway_key_update
from chat.tests.conftest import LLAMA
from testing.factories import make_key, make_user, openai_client
from testing.servers import wait_until

CHAT = {"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]}


def scrape(url: str, token: str | None = None) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics: (name, labels) -> value."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{url}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: dict, name: str, **labels: str) -> float:
    """The sum over every sample of ``name`` whose labels include ``labels``."""
    return sum(v for (n, have), v in samples.items() if n == name and set(labels.items()) <= have)


def post(url: str, key: str, body: dict) -> httpx.Response:
    return httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"}, json=body, timeout=60)


def test_metric_values_move_as_requests_succeed_fall_back_are_refused_and_fail(caller, gateway_process_factory,
                                                                              sim, tmp_path):
    sim.configure(limits={"rpm": 1000})  # the free tier's limit headers on every answer
    token = secrets.token_urlsafe(24)
    proc = gateway_process_factory(METRICS_TOKEN=token, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    url, key = proc.url, caller.secret
    assert httpx.get(f"{url}/metrics", timeout=30).status_code == 401
    wrong = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}x"}, timeout=30)
    assert wrong.status_code == 401 and token not in wrong.text
    assert value(scrape(url, token), "gateway_requests_total", route="chat", model=LLAMA, status="200") == 0

    client = openai_client(url, key)
    answer = client.chat.completions.create(**CHAT)
    assert answer.choices[0].message.content
    chunks = list(client.chat.completions.create(**CHAT, stream=True))
    assert chunks
    assert post(url, key, {**CHAT, "sim": {"fault": "500", "times": 1, "id": secrets.token_hex(4)}}).status_code == 200
    assert post(url, key, {"model": LLAMA}).status_code == 400
    assert post(url, key, {**CHAT, "sim": {"fault": "500"}}).status_code == 502
    assert httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code == 200
    assert httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer sk-gw-wrong"}, timeout=30).status_code == 401
    limited_user = make_user()
    limited = make_key(limited_user)
    gateway_key_update(key=GatewayKey.objects.get(user=limited_user), rpm=1)
    statuses = [post(url, limited, CHAT).status_code for _ in range(2)]
    assert statuses == [200, 429]

    def settled():
        samples = scrape(url, token)
        return samples if value(samples, "gateway_requests_total", route="chat", model=LLAMA, status="429") else None

    samples = wait_until(settled, timeout=15)
    ok = value(samples, "gateway_requests_total", route="chat", model=LLAMA, status="200")
    assert ok == 4  # whole, stream, the fallback, the rate-limited key's first
    assert value(samples, "gateway_requests_total", route="chat", model=LLAMA, status="502") == 1
    assert value(samples, "gateway_requests_total", route="chat", model="", status="400") == 1
    assert value(samples, "gateway_requests_total", route="models", model="", status="200") == 1
    assert value(samples, "gateway_requests_total", route="models", model="", status="401") == 1
    assert value(samples, "gateway_rejections_total", reason="validation") == 1
    assert value(samples, "gateway_rejections_total", reason="rate_limit") == 1
    assert value(samples, "gateway_rejections_total", reason="auth") == 1
    assert total(samples, "gateway_upstream_attempts_total", model=LLAMA, outcome="ok") == 4
    # The fallback's first attempt and every attempt of the failed request (one per pool key).
    assert total(samples, "gateway_upstream_attempts_total", model=LLAMA, outcome="server_error") >= 3
    assert total(samples, "gateway_tokens_total", model=LLAMA, direction="prompt") > 0
    assert total(samples, "gateway_tokens_total", model=LLAMA, direction="completion") > 0
    assert value(samples, "gateway_request_duration_seconds_count", route="chat", model=LLAMA) == 6  # and 502, 429
    assert value(samples, "gateway_ttft_seconds_count", route="chat", model=LLAMA) == 4
    assert value(samples, "gateway_in_flight") == 0
    assert value(samples, "gateway_open_streams") == 0
    assert ("gateway_log_queue_depth", frozenset()) in samples
    assert ("gateway_log_write_failures_total", frozenset()) in samples
    breakers = [labels for (name, labels) in samples if name == "gateway_breaker_open"]
    assert len(breakers) == 2 and all(dict(b)["key"].startswith("…") for b in breakers)
    remaining = [(dict(labels), v) for (name, labels), v in samples.items() if name == "gateway_account_remaining"]
    assert remaining and all(labels["window"] == "minute" and 0 < v < 1000 for labels, v in remaining)


def test_two_worker_processes_add_up(caller, gateway_process_factory, tmp_path):
    directory = str(tmp_path / "metrics")
    first = gateway_process_factory(PROMETHEUS_MULTIPROC_DIR=directory)
    second = gateway_process_factory(PROMETHEUS_MULTIPROC_DIR=directory)
    for url, count in ((first.url, 2), (second.url, 3)):
        for _ in range(count):
            assert post(url, caller.secret, CHAT).status_code == 200

    def both(url: str):
        samples = scrape(url)
        return samples if value(samples, "gateway_requests_total", route="chat", model=LLAMA, status="200") == 5 \
            else None

    for url in (first.url, second.url):  # either process answers for both
        samples = wait_until(lambda url=url: both(url), timeout=15)
        assert value(samples, "gateway_request_duration_seconds_count", route="chat", model=LLAMA) == 5
        assert value(samples, "gateway_in_flight") == 0


def test_without_a_token_metrics_answer_loopback_only(gateway, gateway_process_factory, tmp_path):
    assert "gateway_in_flight" in {name for name, _ in scrape(gateway.url)}
    proc = gateway_process_factory(TRUSTED_PROXIES="127.0.0.1/32", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "m"))
    outside = httpx.get(f"{proc.url}/metrics", headers={"X-Forwarded-For": "203.0.113.7"}, timeout=30)
    assert outside.status_code == 403
    assert "gateway_" not in outside.text
    assert scrape(proc.url)  # the proxy's own loopback address is still served
    assert httpx.post(f"{proc.url}/metrics", timeout=30).status_code == 405


def test_a_batch_of_observations_lands_in_the_buckets_one_by_one_observations_would():
    """Requests' durations are written once a second in a batch (chat.proxy.metrics.observe_many): the
    histogram must read exactly as if each had been observed on its own, bounds included."""
    from prometheus_client import Histogram

    from chat.proxy.metrics import observe_many

    bounds = (0.1, 1, 10)
    tag = secrets.token_hex(4)
    one_by_one = Histogram(f"test_single_{tag}", "test", ["route"], buckets=bounds, registry=None).labels("x")
    batched = Histogram(f"test_batched_{tag}", "test", ["route"], buckets=bounds, registry=None).labels("x")
    values = [0.0, 0.05, 0.1, 0.1000001, 0.7, 1, 9.99, 10, 11, 500, 0.1]
    for v in values:
        one_by_one.observe(v)
    observe_many(batched, values)
    assert [b.get() for b in batched._buckets] == [b.get() for b in one_by_one._buckets] == [4, 3, 2, 2]
    assert batched._sum.get() == one_by_one._sum.get()
