"""Traces: off by default; when on, a booking request is one server span whose children
are the validation, the write and the encode (the SDK's in-memory exporter records them)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from booking.observability import tracing
from tests.factories import couple_parties, make_actor, open_office

pytestmark = pytest.mark.asyncio


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_tracer_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_tracer_provider(None)
        provider.shutdown()


def by_name(finished: Any) -> dict[str, Any]:
    return {s.name: s for s in finished}


async def test_a_booking_is_a_server_span_with_validate_write_and_encode(client, runtime, admin, spans):
    office = await open_office(client, runtime, admin, capacity=1)
    slot = (await client.get(f"/api/v1/offices/{office.id}/slots?from=2026-09-15&to=2026-09-15",
                             headers=office.clerk.headers)).json()["data"][0]["id"]
    couple, other = await make_actor(runtime, "couple"), await make_actor(runtime, "couple")
    spans.clear()
    parent_trace = "0af7651916cd43dd8448eb211c80319c"
    response = await client.post(
        "/api/v1/appointments", json={"slot_id": slot, "service": "marriage_registration",
                                      "parties": couple_parties()},
        headers={**couple.headers, "traceparent": f"00-{parent_trace}-b7ad6b7169203331-01"})
    assert response.status_code == 201, response.text
    found = by_name(spans.get_finished_spans())
    server = found["POST /api/v1/appointments"]
    assert server.kind == SpanKind.SERVER
    assert server.attributes["http.route"] == "/api/v1/appointments"
    assert server.attributes["http.response.status_code"] == 201
    assert format(server.context.trace_id, "032x") == parent_trace  # the caller's traceparent is followed
    phases = [found[name] for name in ("booking.validate", "booking.write", "booking.encode")]
    for phase in phases:
        assert phase.parent is not None and phase.parent.span_id == server.context.span_id
        assert phase.context.trace_id == server.context.trace_id
        assert server.start_time <= phase.start_time <= phase.end_time <= server.end_time
    validate, write, encode = phases
    assert validate.end_time <= write.start_time and write.end_time <= encode.start_time
    # no personal data in any span
    for span in spans.get_finished_spans():
        assert response.json()["code"] not in str(span.attributes) + span.name

    # the booking took the last seat, so the next refusal comes from the sold-out memory
    # without a write; forgotten, the slot's refusal comes from the database's write
    def refuse():
        return client.post("/api/v1/appointments", json={"slot_id": slot, "service": "marriage_registration",
                                                         "parties": couple_parties()}, headers=other.headers)

    spans.clear()
    assert (await refuse()).status_code == 409
    found = by_name(spans.get_finished_spans())
    assert "booking.write" not in found and found["POST /api/v1/appointments"].status.status_code != StatusCode.ERROR

    # a refusal is an outcome of the write, not an error of the trace
    runtime.sold_out.forget(slot)
    spans.clear()
    assert (await refuse()).status_code == 409
    found = by_name(spans.get_finished_spans())
    assert found["booking.write"].attributes["booking.refused"] == "SlotFull"
    assert found["booking.write"].status.status_code != StatusCode.ERROR
    assert found["POST /api/v1/appointments"].attributes["http.response.status_code"] == 409
    assert found["POST /api/v1/appointments"].status.status_code != StatusCode.ERROR


async def test_tracing_follows_the_standard_variables():
    assert not tracing.tracing_requested({})
    assert tracing.tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.tracing_requested({"OTEL_TRACES_EXPORTER": "console"})
    assert not tracing.tracing_requested({"OTEL_TRACES_EXPORTER": "none",
                                          "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert not tracing.tracing_requested({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"})
    assert tracing.exporter_names({"OTEL_EXPORTER_OTLP_ENDPOINT": "x"}) == ["otlp_proto_http"]
    assert tracing.exporter_names({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}) == [
        "otlp_proto_grpc"]
    assert tracing.build_tracer_provider("booking-api", {}) is None
    # the console exporter ships with the SDK: a real provider, named after the service
    provider = tracing.build_tracer_provider("booking-api", {"OTEL_TRACES_EXPORTER": "console"})
    try:
        assert provider.resource.attributes["service.name"] == "booking-api"
        assert provider._active_span_processor._span_processors  # one exporter attached
    finally:
        provider.shutdown()
    # with tracing off, spans cost nothing: one shared do-nothing context manager
    assert tracing.active_tracer() is None
    assert tracing.span("a") is tracing.span("b")
