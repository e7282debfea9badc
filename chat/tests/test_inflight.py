"""Requests in flight are counted across processes for the dashboard."""

import threading

import httpx

from chat.proxy import inflight
from chat.tests.conftest import LLAMA
from testing.servers import wait_until


def test_in_flight_counts_a_slow_request_while_it_runs(caller, gateway):
    def slow():
        httpx.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {caller.secret}"},
                   json={"model": LLAMA, "messages": [{"role": "user", "content": "hi"}],
                         "sim": {"fault": "slow:2500"}}, timeout=30)

    worker = threading.Thread(target=slow)
    worker.start()
    assert wait_until(lambda: inflight.total() == 1, timeout=3)
    worker.join()
    assert wait_until(lambda: inflight.total() == 0, timeout=3)
