"""A request's life as trace events, in order: one ``Trace`` recorder per exchange.

``chat/proxy/exchange.py`` (the owner of the request) records ``accepted``,
``admitted``, ``first_byte`` and the end (``done``, ``failed``,
``disconnected`` or ``refused``, with tokens and cost); every ``attempt``
(sent or skipped) is recorded as the router appends it to the exchange's
``attempts`` (a ``TracedAttempts`` list), so routing needs no hook of its own.
The pass-through (``chat/proxy/passthrough.py``) records its requests the same way.

Recording is cheap: an event is a small dict appended to a list in memory
and handed to ``trace_live.publish`` (a bounded queue, drained by a
background task). Nothing here waits on Redis or the database. The events
are persisted with the request's log row (``RequestLog.trace``), and
OpenTelemetry spans are built from the finished trace (``trace_otel``), only
when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set. See
docs/decisions/0017-request-traces.md and the event shapes in docs/api.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings

from chat.proxy import trace_live, trace_otel
from chat.proxy.events import finish_reasons as finish_reasons_of

if TYPE_CHECKING:
    from accounts.principals import Principal
    from chat.proxy.attempt import Attempt
    from chat.proxy.errors import ProxyError
    from chat.proxy.limits import Admission
    from chat.proxy.tokens import TokenCount
    from models_catalog.selectors import Snapshot

__all__ = ["END_TYPES", "TracedAttempts", "Trace"]
log = logging.getLogger(__name__)
END_TYPES = ("done", "failed", "disconnected", "refused")
REMAINING = "x-ratelimit-remaining-"
CUT = len(REMAINING)
END_OF = {"served": "done", "refused": "refused", "disconnected": "disconnected"}  # Outcome value -> end event


class Trace:
    """The events of one request. ``meta`` says whose request it is (for watchers' filters)."""

    __slots__ = ("request_id", "started", "wall_started", "user_id", "key_id", "key_prefix", "source", "model",
                 "system", "events", "finished", "recording")

    def __init__(self, request_id: str, principal: Principal, source: str, started: float) -> None:
        self.request_id = request_id
        self.started = started
        self.wall_started = time.time() - (time.monotonic() - started)
        self.user_id = principal.user_id
        self.key_id = principal.key_id
        self.key_prefix = principal.key_prefix
        self.source = source
        self.model = ""
        self.system = ""  # the provider kind of the model that answered (or was asked), for gen_ai.system
        self.events: list[dict] = []
        self.finished = False
        self.recording = settings.GATEWAY.traces  # GATEWAY_TRACES=0: no events, so no trace, live view or span

    def at(self) -> float:
        """Milliseconds since the request arrived, to a tenth."""
        return int((time.monotonic() - self.started) * 10_000) / 10

    def add(self, event: dict) -> None:
        """Record one event (a dict with ``type`` and ``atMs``) and publish it to live watchers."""
        if self.recording:
            self.events.append(event)
            trace_live.publish(self, event)

    def accepted(self, *, model: str, stream: bool) -> None:
        self.model = model
        self.add({"type": "accepted", "atMs": self.at(), "source": self.source, "model": model, "stream": stream})

    def admitted(self, admission: Admission | None, reserved: Decimal | None) -> None:
        """Admission passed: the limits left after this request (from the rate-limit headers) and any credit held."""
        headers = admission.headers if admission is not None else {}
        event = {"type": "admitted", "atMs": self.at(),
                 "limitsLeft": {k[CUT:]: v for k, v in headers.items() if k.startswith(REMAINING)}}
        if admission is not None and admission.degraded:
            event["degraded"] = True
        if reserved is not None:
            event["reserved"] = str(reserved)
        self.add(event)

    def attempt(self, record: Attempt) -> None:
        verdict = record.verdict.value if record.verdict else ("" if record.sent else "skipped")
        self.add({"type": "attempt", "atMs": self.at(), "model": record.model, "account": record.account,
                  "key": record.key, "status": record.status, "latencyMs": record.latency_ms, "sent": record.sent,
                  "verdict": verdict, "reason": record.reason})

    def first_byte(self, ttft_ms: int) -> None:
        self.add({"type": "first_byte", "atMs": self.at(), "ttftMs": ttft_ms})

    def finish(self, *, outcome: str, status: int, error: ProxyError | None, model_used: str, tokens: TokenCount,
               cost: Decimal, snapshot: Snapshot | None = None, response_body: dict | None = None,
               finish_reasons: Sequence[str] = ()) -> None:
        """Record the end once: what the client got, the tokens, the cost and the finish reasons (a stream's, or
        else the whole answer's). Then the spans, when configured. Never raises: the settlement that calls it must
        still queue the log row."""
        if self.finished or not self.recording:
            return
        self.finished = True
        try:
            self._finish(outcome, status, error, model_used, tokens, cost, snapshot,
                         list(finish_reasons) or finish_reasons_of(response_body))
        except Exception:
            log.exception("could not finish the trace of request %s", self.request_id)

    def _finish(self, outcome: str, status: int, error: ProxyError | None, model_used: str, tokens: TokenCount,
                cost: Decimal, snapshot: Snapshot | None, reasons: list[str]) -> None:
        model = snapshot.models.get(model_used or self.model) if snapshot is not None else None
        self.system = model.provider.kind if model is not None else ""
        if not self.events or self.events[0]["type"] != "accepted":  # refused before the body named a model
            self.events.insert(0, {"type": "accepted", "atMs": 0.0, "source": self.source, "model": self.model,
                                   "stream": False})
        event: dict = {"type": END_OF.get(outcome, "failed"), "atMs": self.at(), "status": status,
                       "modelUsed": model_used,
                       "tokens": {"prompt": tokens.prompt, "completion": tokens.completion, "total": tokens.total},
                       "cost": format(cost.normalize(), "f"), "latencyMs": int((time.monotonic() - self.started) * 1000)}
        if reasons:
            event["finishReasons"] = reasons
        if error is not None:
            event.update(code=error.code or error.type, reason=error.message[:500])
        self.add(event)
        trace_otel.export(self)


class TracedAttempts(list):
    """The exchange's ``attempts``: a list that records each attempt in the trace as the router appends it."""

    __slots__ = ("trace",)

    def __init__(self, trace: Trace) -> None:
        super().__init__()
        self.trace = trace

    def append(self, record: Attempt) -> None:
        super().append(record)
        self.trace.attempt(record)
