"""OpenTelemetry spans of a finished trace, exported over OTLP/HTTP (protobuf), when it is configured.

With ``OTEL_EXPORTER_OTLP_ENDPOINT`` unset, ``export`` returns at once: the
SDK is not even imported. With it set, each finished request becomes one
span (``chat {model}``, kind SERVER) with a child span (kind CLIENT) per
attempt sent upstream, named and attributed as the OpenTelemetry GenAI
semantic conventions say (``gen_ai.system``, ``gen_ai.request.model``,
``gen_ai.response.model``, ``gen_ai.usage.input_tokens``,
``gen_ai.usage.output_tokens``, ``gen_ai.response.finish_reasons``). The
spans are built after the fact from the trace's events (their times are the
events' times) and handed to the SDK's ``BatchSpanProcessor``, which exports
from its own thread: the request never waits on the collector.
"""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from chat.proxy.trace import Trace

log = logging.getLogger(__name__)
SERVICE_NAME = "llm-gateway"
NS = 1_000_000  # nanoseconds in a millisecond


@functools.cache
def _tracer(endpoint: str):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")))
    return provider, provider.get_tracer("llm-gateway.proxy")


def flush(timeout_ms: int = 10_000) -> None:
    """Export every span still waiting in the batch (server shutdown, tests)."""
    endpoint = settings.GATEWAY.otel_endpoint
    if endpoint:
        _tracer(endpoint)[0].force_flush(timeout_ms)


def export(trace: Trace) -> None:
    """Build and queue the spans of ``trace`` (finished); nothing when OpenTelemetry is not configured."""
    endpoint = settings.GATEWAY.otel_endpoint
    if not endpoint:
        return
    try:
        _spans(_tracer(endpoint)[1], trace)
    except Exception:  # a broken exporter must never break a request's settlement
        log.exception("could not build the OpenTelemetry spans of request %s", trace.request_id)


def _spans(tracer, trace: Trace) -> None:
    from opentelemetry import trace as otel
    from opentelemetry.trace import SpanKind, Status, StatusCode

    start_ns = int(trace.wall_started * 1e9)
    end = trace.events[-1]
    system = trace.system or "openai"
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.system": system,
        "gen_ai.request.model": trace.model,
        "gateway.request_id": trace.request_id,
        "gateway.source": trace.source,
        "gateway.outcome": end["type"],
        "http.response.status_code": end.get("status", 0),
    }
    if end.get("modelUsed"):
        attributes["gen_ai.response.model"] = end["modelUsed"]
    tokens = end.get("tokens") or {}
    attributes["gen_ai.usage.input_tokens"] = tokens.get("prompt", 0)
    attributes["gen_ai.usage.output_tokens"] = tokens.get("completion", 0)
    if end.get("finishReasons"):
        attributes["gen_ai.response.finish_reasons"] = list(end["finishReasons"])
    if trace.key_prefix:
        attributes["gateway.key_prefix"] = trace.key_prefix
    span = tracer.start_span(f"chat {trace.model}".strip(), kind=SpanKind.SERVER, attributes=attributes,
                             start_time=start_ns)
    if end["type"] != "done":
        span.set_attribute("error.type", end.get("code") or end["type"])
        span.set_status(Status(StatusCode.ERROR, end.get("reason", "")[:200]))
    context = otel.set_span_in_context(span)
    for event in trace.events:
        if event["type"] != "attempt" or not event["sent"]:
            continue
        finished_ns = start_ns + int(event["atMs"] * NS)
        child = tracer.start_span(
            f"chat {event['model']}", context=context, kind=SpanKind.CLIENT, start_time=finished_ns -
            event["latencyMs"] * NS,
            attributes={"gen_ai.operation.name": "chat", "gen_ai.system": system,
                        "gen_ai.request.model": event["model"], "gateway.account": event["account"],
                        "gateway.verdict": event["verdict"], "gateway.reason": event["reason"],
                        "http.response.status_code": event["status"] or 0},
        )
        if event["verdict"] != "served":
            child.set_attribute("error.type", event["reason"] or event["verdict"])
            child.set_status(Status(StatusCode.ERROR, event["reason"]))
        else:
            child.set_attribute("gen_ai.response.model", event["model"])
        child.end(end_time=finished_ns)
    span.end(end_time=start_ns + int(end["atMs"] * NS))
