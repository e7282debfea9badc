"""Property-based fuzz of every /v1 body against the live gateway over loopback.

Whatever the body (wrong types, huge and nested values, NUL and control
characters, invalid UTF-8, duplicate keys), the gateway answers in the OpenAI
error shape or serves the request: never a 500 or a traceback, never a changed
balance or ledger for a refused request, never a reservation left held.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import CreditAccount, LedgerEntry
from accounts.services import credits_top_up
from chat.tests.test_credits import PAID
from gateway_project import invalidation
from models_catalog.models import CatalogModel
from testing.servers import wait_until

FIELDS = ["model", "messages", "max_tokens", "stream", "stream_options", "max_completion_tokens", "temperature",
          "top_p", "n", "tools", "tool_choice", "models", "stop", "metadata", "user", "seed", "response_format",
          "presence_penalty", "parallel_tool_calls"]
MESSAGE_FIELDS = ["role", "content", "name", "tool_calls", "tool_call_id"]
FUZZ = settings(max_examples=100, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

nasty_text = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x1f), max_size=8),  # NUL and control characters
    st.sampled_from(["x\u0000y", "\u202e", "模型", "user", "function", "text", "auto", PAID]),
    st.just("a" * 5000),
)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**63), max_value=2**64 - 1),
                    st.floats(allow_nan=False, allow_infinity=False), nasty_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(nasty_text, inner, max_size=4)), max_leaves=12)


def _nested(levels: int) -> bytes:
    """JSON text nested ``levels`` deep (past what orjson, and so this test, could encode)."""
    opens = b"".join(b'{"n": ' if i % 2 else b"[" for i in range(levels))
    closes = b"".join(b"}" if i % 2 else b"]" for i in reversed(range(levels)))
    return opens + b"1" + closes


DEEP = "\u2063deep:"  # a marker string replaced by deeply nested JSON once the body is bytes
deep = st.integers(min_value=60, max_value=1000).map(lambda levels: f"{DEEP}{levels}")
any_value = st.integers(min_value=0, max_value=5).flatmap(lambda i: deep if i == 0 else json_values)  # 1 in 6 deep
def _valid() -> dict:
    return {"model": PAID, "messages": [{"role": "user", "content": "hi"},
                                        {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "max_tokens": 5}


@st.composite
def bodies(draw) -> dict:
    """A valid request with up to three of its fields (top level, in a message, in a content part) spoiled."""
    body = _valid()
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        value = draw(any_value)
        where = draw(st.sampled_from(["body", "message", "part"]))
        if where == "body":
            body[draw(st.sampled_from(FIELDS))] = value
        elif where == "message" and isinstance(body["messages"], list):
            body["messages"][0][draw(st.sampled_from(MESSAGE_FIELDS))] = value
        elif isinstance(body["messages"], list):
            body["messages"][1]["content"][0][draw(st.sampled_from(["type", "text", "image_url"]))] = value
    return body


@st.composite
def raw_bodies(draw) -> bytes:
    """The body as bytes, sometimes spoiled where a JSON encoder would never spoil it."""
    raw = _deepen(orjson.dumps(draw(bodies())))
    spoil = draw(st.sampled_from(["none"] * 6 + ["utf8", "duplicate", "truncate", "surrogate"]))
    if spoil == "utf8":
        at = draw(st.integers(min_value=0, max_value=len(raw)))
        raw = raw[:at] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"])) + raw[at:]
    elif spoil == "duplicate":
        key = draw(st.sampled_from(["model", "messages", "stream", "max_tokens"]))
        raw = b'{"' + key.encode() + b'": ' + _deepen(orjson.dumps(draw(json_values))) + b", " + raw[1:]
    elif spoil == "truncate":
        raw = raw[: draw(st.integers(min_value=0, max_value=len(raw)))]
    elif spoil == "surrogate":
        raw = raw.replace(b'"hi"', b'"\\udc80"', 1)
    return raw


@pytest.fixture
def funded(caller):
    """The caller with credit and a paid model enabled, so a leak or a charge would show in the ledger."""
    CatalogModel.objects.filter(model_id=PAID).update(enabled=True)
    invalidation.announce(invalidation.CATALOG)
    credits_top_up(user=caller.user, amount=Decimal("5"), note="fuzz")
    return caller


def _account_after(user) -> CreditAccount:
    return wait_until(lambda: CreditAccount.objects.filter(user=user, reserved=0).first(), timeout=10)


def _deepen(raw: bytes) -> bytes:
    marker = orjson.dumps(DEEP)[:-1]
    while (at := raw.find(marker)) >= 0:
        end = raw.index(b'"', at + 1)
        raw = raw[:at] + _nested(int(raw[at + len(marker):end])) + raw[end + 1:]
    return raw


def _check(client: httpx.Client, funded, path: str, raw: bytes, *, relayed: bool = False) -> None:
    """Send ``raw``; ``relayed`` when an upstream answer may come back unchanged (its error shape is OpenRouter's)."""
    before = CreditAccount.objects.get(user=funded.user)
    entries = LedgerEntry.objects.filter(user=funded.user).count()
    headers = {"Authorization": f"Bearer {funded.secret}", "content-type": "application/json"}
    with client.stream("POST", path, content=raw, headers=headers) as response:
        text = response.read().decode("utf-8", "replace")
    assert response.status_code != 500 and response.status_code < 502, (response.status_code, text[:300], raw[:300])
    assert "Traceback" not in text
    if response.status_code >= 400:
        error = orjson.loads(text)["error"]
        assert {"message", "code"} <= set(error) if relayed else set(error) == {"message", "type", "code", "param"}
    after = _account_after(funded.user)  # no reservation is left held, whatever the answer
    if response.status_code >= 400:
        assert after.balance == before.balance
        assert LedgerEntry.objects.filter(user=funded.user).count() == entries


def test_chat_completions_survive_any_body(funded, gateway):
    with httpx.Client(base_url=gateway.url, timeout=30) as client:

        @FUZZ
        @given(raw=raw_bodies())
        def run(raw: bytes) -> None:
            _check(client, funded, "/v1/chat/completions", raw)

        run()


def test_the_pass_through_survives_any_body(funded, gateway):
    embedding = st.fixed_dictionaries({"model": st.just("openai/text-embedding-3-small")},
                                      optional={"input": any_value, "dimensions": any_value, "encoding_format": any_value})

    @st.composite
    def raw_embeddings(draw) -> bytes:
        raw = _deepen(orjson.dumps(draw(embedding)))
        spoil = draw(st.sampled_from(["none", "utf8", "duplicate"]))
        if spoil == "utf8":
            raw = raw[:-1] + b"\xff}"
        elif spoil == "duplicate":
            raw = b'{"input": 1, ' + raw[1:]
        return raw

    with httpx.Client(base_url=gateway.url, timeout=30) as client:

        @FUZZ
        @given(raw=raw_embeddings())
        def run(raw: bytes) -> None:
            _check(client, funded, "/v1/embeddings", raw, relayed=True)

        run()
