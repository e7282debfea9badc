"""One exchange from admission to its log row: every outcome settles the reservation and writes one row."""

from decimal import Decimal

import httpx
import openai
import pytest

from accounts.models import CreditAccount, LedgerEntry
from accounts.services import credits_top_up
from chat.models import RequestLog
from gateway_project import invalidation
from models_catalog.models import CatalogModel
from testing.servers import wait_until

PAID = "openai/gpt-4o-mini"
USER = [{"role": "user", "content": "hi"}]
BALANCE = Decimal("1.000000")


@pytest.fixture
def paid(caller):
    CatalogModel.objects.filter(model_id=PAID).update(enabled=True)
    invalidation.announce(invalidation.CATALOG)
    credits_top_up(user=caller.user, amount=BALANCE, note="for the test")
    return caller


def _settled(user) -> CreditAccount:
    return wait_until(lambda: CreditAccount.objects.filter(user=user, reserved=0).first(), timeout=5)


def _row(request_id: str) -> RequestLog:
    return wait_until(lambda: RequestLog.objects.filter(request_id=request_id).first(), timeout=5)


def test_a_request_that_breaks_after_admission_releases_its_reservation(paid, gateway):
    nested: dict = {}
    for _ in range(300):  # deeper than the JSON encoder goes
        nested = {"x": nested}
    answer = httpx.post(f"{gateway.url}/v1/chat/completions", headers={"Authorization": f"Bearer {paid.secret}"},
                        json={"model": PAID, "messages": USER, "max_tokens": 10, "metadata": nested}, timeout=30)
    assert answer.status_code in (400, 500)
    assert set(answer.json()["error"]) == {"message", "type", "code", "param"}
    account = _settled(paid.user)
    assert account.balance == BALANCE
    row = _row(answer.headers["x-request-id"])
    assert row.status == answer.status_code and row.cost == 0


def test_an_upstream_failure_of_a_paid_model_charges_nothing(paid, sim):
    with pytest.raises(openai.InternalServerError) as raised:
        paid.client.chat.completions.create(model=PAID, messages=USER, max_tokens=10,
                                            extra_body={"sim": {"fault": "503"}})
    assert raised.value.status_code == 502
    assert _settled(paid.user).balance == BALANCE
    row = _row(raised.value.response.headers["x-request-id"])
    assert (row.status, row.error_type, row.cost) == (502, "upstream_error", 0)


def test_a_client_that_leaves_mid_stream_is_charged_for_what_it_got_and_nothing_is_held(paid, gateway, sim):
    with httpx.stream("POST", f"{gateway.url}/v1/chat/completions",
                      headers={"Authorization": f"Bearer {paid.secret}"},
                      json={"model": PAID, "stream": True, "max_tokens": 200,
                            "messages": [{"role": "user", "content": "x " * 50}],
                            "sim": {"fault": "chunk_delay:200"}}) as r:
        request_id = r.headers["x-request-id"]
        received = b""
        for chunk in r.iter_bytes():
            received += chunk
            if received.count(b"data:") >= 3:
                break
    row = _row(request_id)
    assert row.client_disconnected and row.status == 200 and row.completion_tokens >= 1
    account = _settled(paid.user)
    charge = LedgerEntry.objects.get(kind="charge", request_id=request_id)
    assert account.balance == BALANCE + charge.amount  # a charge is a negative entry
    assert charge.amount < 0 and -charge.amount == row.cost.quantize(Decimal("0.000001"))
