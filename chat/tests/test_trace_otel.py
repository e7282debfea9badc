"""OpenTelemetry: a request's spans reach an OTLP/HTTP receiver with the GenAI semantic conventions."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from chat.tests.conftest import LLAMA, QWEN
from testing import env
from testing.factories import openai_client
from testing.servers import wait_until

USER = [{"role": "user", "content": "hi"}]


class _Receiver(ThreadingHTTPServer):
    """A small OTLP/HTTP receiver: every span of every ``POST /v1/traces``, decoded with the protobuf classes."""

    def __init__(self) -> None:
        self.spans: list[tuple[dict, Span]] = []  # (resource attributes, span)
        self.paths: list[str] = []
        super().__init__(("127.0.0.1", env.free_port()), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (the http.server API)
        body = self.rfile.read(int(self.headers["content-length"]))
        request = ExportTraceServiceRequest.FromString(body)
        self.server.paths.append(f"{self.path} {self.headers['content-type']}")
        for resource_spans in request.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                self.server.spans.extend((resource, span) for span in scope_spans.spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        pass


def _value(any_value):
    kind = any_value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in any_value.array_value.values]
    return getattr(any_value, kind)


def _attributes(pairs) -> dict:
    return {pair.key: _value(pair.value) for pair in pairs}


@pytest.fixture
def receiver():
    server = _Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_fallback_becomes_a_request_span_with_an_attempt_span_each(caller, gateway_process_factory, receiver):
    second = gateway_process_factory(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_BSP_SCHEDULE_DELAY="100")
    raw = openai_client(second.url, caller.secret).chat.completions.with_raw_response.create(
        model=LLAMA, messages=USER, extra_body={"models": [QWEN], "sim": {"faults": {LLAMA: "502"}}})
    request_id = raw.headers["x-request-id"]
    usage = raw.parse().usage

    def request_span():
        return next(((res, s) for res, s in receiver.spans
                     if _attributes(s.attributes).get("gateway.request_id") == request_id), None)

    resource, span = wait_until(request_span, timeout=30)
    attrs = _attributes(span.attributes)
    assert resource["service.name"] == "llm-gateway"
    assert receiver.paths[0] == "/v1/traces application/x-protobuf"
    assert span.name == f"chat {LLAMA}" and span.kind == Span.SPAN_KIND_SERVER
    assert attrs["gen_ai.operation.name"] == "chat" and attrs["gen_ai.system"] == "openrouter"
    assert attrs["gen_ai.request.model"] == LLAMA and attrs["gen_ai.response.model"] == QWEN
    assert attrs["gen_ai.usage.input_tokens"] == usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == usage.completion_tokens
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert attrs["http.response.status_code"] == 200 and span.status.code != Status.STATUS_CODE_ERROR

    def attempt_spans():
        found = sorted((s for _, s in receiver.spans if s.parent_span_id == span.span_id),
                       key=lambda s: s.start_time_unix_nano)
        return found if len(found) == 3 else None

    children = wait_until(attempt_spans, timeout=30)
    assert all(c.trace_id == span.trace_id and c.kind == Span.SPAN_KIND_CLIENT for c in children)
    assert [_attributes(c.attributes)["gen_ai.request.model"] for c in children] == [LLAMA, LLAMA, QWEN]
    assert [c.status.code == Status.STATUS_CODE_ERROR for c in children] == [True, True, False]
    assert [_attributes(c.attributes)["http.response.status_code"] for c in children] == [502, 502, 200]
    assert _attributes(children[2].attributes)["gen_ai.response.model"] == QWEN
    assert all(span.start_time_unix_nano <= c.start_time_unix_nano <= c.end_time_unix_nano <= span.end_time_unix_nano
               for c in children)


def test_a_streamed_request_span_has_its_finish_reasons(caller, gateway_process_factory, receiver):
    second = gateway_process_factory(OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, OTEL_BSP_SCHEDULE_DELAY="100")
    stream = openai_client(second.url, caller.secret).chat.completions.create(
        model=LLAMA, messages=USER, stream=True, max_tokens=2)
    assert [c.finish_reason for chunk in stream for c in chunk.choices if c.finish_reason] == ["length"]
    request_id = stream.response.headers["x-request-id"]

    span = wait_until(lambda: next((s for _, s in receiver.spans
                                    if _attributes(s.attributes).get("gateway.request_id") == request_id), None),
                      timeout=30)
    attrs = _attributes(span.attributes)
    assert attrs["gateway.outcome"] == "done" and attrs["gen_ai.response.finish_reasons"] == ["length"]
