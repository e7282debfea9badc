"""A log row holding what PostgreSQL refuses (NUL, overlong strings, huge numbers) is written, made to fit."""

from decimal import Decimal

from django.utils import timezone

from chat import log_copy
from chat.log_storable import storable
from chat.logbuffer import LogBuffer
from chat.models import RequestLog


def hostile_row() -> dict:
    return {
        "request_id": "req_nul\x00", "created_at": timezone.now(), "status": 400, "model_requested": "x\x00y" * 300,
        "endpoint": "foo\x00bar/" + "e" * 100, "error_type": "t" * 500, "error_message": "bad\x00 input",
        "attempts": [{"key\x00": "v\x00", "nested": ["a\x00b", {"deep\x00": "c\x00"}]}],
        "request_body": {"model": "x\x00y", "messages": [{"role": "user", "content": "\x00"}]},
        "prompt_tokens": 10**12, "latency_ms": -5, "cost": Decimal("10") ** 9,
    }


def assert_made_to_fit() -> None:
    row = RequestLog.objects.get(request_id="req_nul")
    assert row.model_requested == ("xy" * 300)[:200]
    assert row.endpoint == ("foobar/" + "e" * 100)[:60]
    assert row.error_type == "t" * 60 and row.error_message == "bad input"
    assert row.attempts == [{"key": "v", "nested": ["ab", {"deep": "c"}]}]
    assert row.request_body == {"model": "xy", "messages": [{"role": "user", "content": ""}]}
    assert row.prompt_tokens == 2**31 - 1 and row.latency_ms == 0
    assert row.cost == Decimal("999999.99999999")
    assert row.trace == [] and row.ttft_ms is None and row.stream is False  # defaults where the row says nothing


def test_nul_is_stripped_from_every_string_and_values_are_cut_to_their_columns(transactional_db):
    buffer = LogBuffer()
    buffer.add(hostile_row())
    assert_made_to_fit()
    assert buffer.stats().rows_set_aside == 0


def test_the_copy_writer_alone_makes_the_row_fit(transactional_db):
    """The fast path on its own (no row-by-row fallback behind it) stores what PostgreSQL would refuse."""
    assert log_copy.available()
    log_copy.copy_rows([hostile_row()])
    assert_made_to_fit()


def test_the_orm_writer_alone_makes_the_row_fit(transactional_db):
    """The path SQLite takes, and the fallback that finds the row at fault."""
    RequestLog.objects.bulk_create([RequestLog(**storable(hostile_row()))])
    assert_made_to_fit()
