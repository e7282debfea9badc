"""SIGTERM while streams are in flight: each stream ends cleanly, its log row and its charge are written."""

import threading
from decimal import Decimal

import httpx
import pytest
from django.core.management import call_command

from accounts.models import CreditAccount, LedgerEntry
from accounts.services import credits_top_up
from chat.models import RequestLog
from gateway_project import invalidation
from models_catalog.models import CatalogModel
from testing.factories import make_key, make_user, sync_catalog
from testing.servers import wait_until

PAID = "openai/gpt-4o-mini"
STREAMS = 6
GRACE_S = 30  # uvicorn waits for in-flight requests before it exits; this bounds the wait


def _stream(url: str, secret: str, bodies: list, started: threading.Semaphore) -> None:
    with httpx.stream("POST", f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                      json={"model": PAID, "stream": True, "max_tokens": 100,
                            "messages": [{"role": "user", "content": "one two three four five six"}],
                            "sim": {"fault": "chunk_delay:300"}}, timeout=GRACE_S) as response:
        body = b""
        for chunk in response.iter_bytes():
            if not body:
                started.release()
            body += chunk
    bodies.append((response.status_code, body))


@pytest.mark.parametrize("log_queue", ["memory", "redis"])
def test_sigterm_lets_in_flight_streams_finish_and_flushes_their_logs_and_charges(gateway_process_factory, sim,
                                                                                  log_queue):
    """With GATEWAY_LOG_QUEUE=redis the rows are in the stream when the process exits; a writer then stores them."""
    sync_catalog()
    CatalogModel.objects.filter(model_id=PAID).update(enabled=True)
    invalidation.announce(invalidation.CATALOG)
    user = make_user()
    credits_top_up(user=user, amount=Decimal("1"), note="sigterm")
    secret = make_key(user)
    proc = gateway_process_factory(GATEWAY_LOG_QUEUE=log_queue)
    bodies: list = []
    started = threading.Semaphore(0)
    threads = [threading.Thread(target=_stream, args=(proc.url, secret, bodies, started)) for _ in range(STREAMS)]
    for thread in threads:
        thread.start()
    for _ in range(STREAMS):
        assert started.acquire(timeout=20), "a stream did not start"
    code = proc.terminate(timeout=GRACE_S)
    for thread in threads:
        thread.join(timeout=GRACE_S)
    # uvicorn re-raises the signal after a graceful shutdown of one process: -15 is its clean exit.
    assert code in (0, -15), proc.output()
    assert len(bodies) == STREAMS
    for status, body in bodies:
        assert status == 200
        assert body.rstrip().endswith(b"data: [DONE]")
        assert b'"error"' not in body
    if log_queue == "redis":
        assert RequestLog.objects.filter(user=user).count() == 0
        call_command("write_request_logs", "--until-empty")
    rows = list(RequestLog.objects.filter(user=user))
    assert len(rows) == STREAMS
    assert all(row.status == 200 and row.completion_tokens > 0 for row in rows)
    assert LedgerEntry.objects.filter(user=user, kind=LedgerEntry.Kind.CHARGE).count() == STREAMS
    account = wait_until(lambda: CreditAccount.objects.get(user=user), timeout=5)
    assert account.reserved == 0
    assert account.balance < Decimal("1")
    assert "Traceback" not in proc.output()
