"""Traces (OpenTelemetry), off unless the standard ``OTEL_*`` variables ask for them.

Tracing is on when ``OTEL_TRACES_EXPORTER`` names an exporter (``otlp``, ``console``, ...)
or ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` is set, and
``OTEL_SDK_DISABLED`` is not ``true``. It needs the SDK and an exporter:
``pip install 'booking[otel]'`` (OTLP over HTTP, the default protocol here). The SDK reads the
rest of its settings itself (``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER``, ``OTEL_EXPORTER_OTLP_HEADERS``, ``OTEL_BSP_*``).

Off, ``span()`` hands out one shared do-nothing context manager: the hot paths pay a
function call, nothing more. Spans carry no personal data: names, route templates, codes.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

logger = logging.getLogger("booking.tracing")

_tracer: Any = None  # an OpenTelemetry Tracer while tracing is on
_provider_installed = False
_OFF = contextlib.nullcontext()


def tracing_requested(env: Mapping[str, str] = os.environ) -> bool:
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporters = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporters:
        return exporters != "none"
    return bool(env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))


def exporter_names(env: Mapping[str, str] = os.environ) -> list[str]:
    """The entry-point names of the exporters ``OTEL_TRACES_EXPORTER`` asks for (default
    ``otlp``). ``otlp`` means OTLP over HTTP unless the protocol variables say ``grpc``."""
    names = [n.strip() for n in env.get("OTEL_TRACES_EXPORTER", "otlp").lower().split(",") if n.strip()]
    protocol = (env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
                or "http/protobuf").strip()
    otlp = "otlp_proto_grpc" if protocol == "grpc" else "otlp_proto_http"
    return [otlp if n == "otlp" else n for n in names if n != "none"]


def build_tracer_provider(service_name: str, env: Mapping[str, str] = os.environ) -> Any:
    """A TracerProvider exporting in batches to the configured exporters, or None when
    tracing is not requested or the packages are missing (said once in the log)."""
    if not tracing_requested(env):
        return None
    try:
        from importlib.metadata import entry_points

        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logger.warning("OTEL_* asks for traces but the OpenTelemetry SDK is not installed "
                       "(pip install 'booking[otel]'); tracing stays off")
        return None
    attributes = {} if env.get("OTEL_SERVICE_NAME") else {"service.name": service_name}
    provider = TracerProvider(resource=Resource.create(attributes))
    for name in exporter_names(env):
        found = entry_points(group="opentelemetry_traces_exporter", name=name)
        if not found:
            logger.warning("no OpenTelemetry trace exporter named %r is installed; "
                           "pip install 'booking[otel]' brings OTLP over HTTP", name)
            continue
        exporter_class = next(iter(found)).load()
        provider.add_span_processor(BatchSpanProcessor(exporter_class()))
    return provider


def setup_tracing(service_name: str) -> bool:
    """Install tracing for this process from the environment, once. True when on."""
    global _provider_installed
    if _provider_installed:
        return _tracer is not None
    _provider_installed = True
    provider = build_tracer_provider(service_name)
    if provider is None:
        return False
    from opentelemetry import trace

    trace.set_tracer_provider(provider)
    use_tracer_provider(provider)
    logger.info("tracing on", extra={"service": service_name})
    return True


def use_tracer_provider(provider: Any) -> None:
    """Record spans through ``provider`` (None: stop). Tests pass one with an in-memory
    exporter; the global OpenTelemetry provider is left alone."""
    global _tracer
    _tracer = provider.get_tracer("booking") if provider is not None else None


def active_tracer() -> Any:
    return _tracer


def span(name: str, expected: tuple[type[BaseException], ...] = ()) -> contextlib.AbstractContextManager[Any]:
    """A child span of the current one while tracing is on; otherwise nothing. Exceptions
    of the ``expected`` types are outcomes (a full slot), not errors."""
    if _tracer is None:
        return _OFF
    return _child_span(name, expected)


@contextlib.contextmanager
def _child_span(name: str, expected: tuple[type[BaseException], ...]) -> Iterator[Any]:
    with _tracer.start_as_current_span(name, record_exception=False, set_status_on_exception=False) as current:
        try:
            yield current
        except BaseException as exc:
            mark_failure(current, exc, expected)
            raise


def mark_failure(current: Any, exc: BaseException, expected: tuple[type[BaseException], ...] = ()) -> None:
    """A refusal (a problem answered with a 4xx, or an expected exception) is an outcome,
    not an error of the span; anything else is."""
    from opentelemetry.trace import Status, StatusCode

    code = getattr(exc, "code", None)
    status = getattr(exc, "status", 500)
    if isinstance(exc, expected) or (isinstance(code, str) and isinstance(status, int) and status < 500):
        current.set_attribute("booking.refused", code if isinstance(code, str) else type(exc).__name__)
        return
    current.set_attribute("error.type", type(exc).__name__)
    current.set_status(Status(StatusCode.ERROR))
