"""OpenTelemetry traces across every hop, configured the standard way (`OTEL_*` variables).

One trace follows a check-in from the HTTP request (or socket message) through the GraphQL
operation, the command handler and the event store's append, then — in whichever process
picks it up — the relay's message to NATS, the consumer, the read models and the push to a
socket. The W3C `traceparent` is what crosses each gap: the event's metadata (written inside
the command's span), the NATS header (written by the relay's span), the live hub's message.

Nothing here ever records personal data: span names are fixed words, an operation's type and
name, a command's class or a subject made of region, stream category and event type; no
GraphQL document or variables, no ids of people, no message bodies. Incoming `baggage` is
ignored (only Trace Context is propagated), so a client cannot make us carry its data.

Without an OTLP endpoint nothing is exported, but spans still give every request and log line
a trace id (`X-Trace-ID`). `OTEL_SDK_DISABLED=true` turns tracing off altogether.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

log = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
PROPAGATOR = TraceContextTextMapPropagator()
MAX_LINKS = 32
"""A batch span links to at most this many of its events' traces."""

EXPORT_TIMEOUT_S = 2.0
"""The OTLP request's timeout unless OTEL_EXPORTER_OTLP(_TRACES)_TIMEOUT says otherwise: the
export runs on the batch processor's thread, never on a request, but a short one keeps an
unreachable collector from holding the queue (and the process's exit) for long."""

route_var: ContextVar[str | None] = ContextVar("trace_route", default=None)
"""The route of the request being served (`POST /graphql`), for error reports."""

_TRACER_NAME = "hugmood"


@dataclass
class _State:
    provider: TracerProvider | None = None
    tracer: Tracer = field(default_factory=trace.NoOpTracer)


_state = _State()


# -- configuration from OTEL_* --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TracingConfig:
    """What the `OTEL_*` variables ask for, after checking them (bad values: a warning each)."""

    enabled: bool
    sampler: Sampler
    endpoint: str | None
    """The OTLP/HTTP traces URL, or None: nothing exported."""
    timeout_s: float
    max_queue_size: int
    schedule_delay_ms: int
    warnings: tuple[str, ...]


def _number(
    env: Mapping[str, str], name: str, default: float, low: float, high: float, out: list[str]
) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (low <= value <= high):  # also refuses NaN
        out.append(f"{name}={raw!r} is not a number from {low:g} to {high:g}; using {default:g}")
        return default
    return value


def read_config(env: Mapping[str, str]) -> TracingConfig:
    """Tracing as `env`'s `OTEL_*` variables describe it; never raises."""
    warnings: list[str] = []
    disabled = env.get("OTEL_SDK_DISABLED", "").strip().lower()
    if disabled not in ("", "true", "false"):
        warnings.append(f"OTEL_SDK_DISABLED={disabled!r} is not true or false; tracing stays on")
    sampler = _sampler(env, warnings)
    endpoint = _endpoint(env, warnings)
    # Milliseconds, as the specification says.
    timeout_ms = _number(
        env, "OTEL_EXPORTER_OTLP_TIMEOUT", EXPORT_TIMEOUT_S * 1000, 1, 60_000, warnings
    )
    timeout_ms = _number(env, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", timeout_ms, 1, 60_000, warnings)
    queue = _number(env, "OTEL_BSP_MAX_QUEUE_SIZE", 2048, 1, 100_000, warnings)
    delay = _number(env, "OTEL_BSP_SCHEDULE_DELAY", 5000, 1, 600_000, warnings)
    return TracingConfig(
        enabled=disabled != "true",
        sampler=sampler,
        endpoint=endpoint,
        timeout_s=timeout_ms / 1000,
        max_queue_size=int(queue),
        schedule_delay_ms=int(delay),
        warnings=tuple(warnings),
    )


_SAMPLERS = {
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
}


def _sampler(env: Mapping[str, str], warnings: list[str]) -> Sampler:
    name = env.get("OTEL_TRACES_SAMPLER", "").strip().lower() or "parentbased_always_on"
    if name not in _SAMPLERS:
        warnings.append(
            f"OTEL_TRACES_SAMPLER={name!r} is not one of {', '.join(sorted(_SAMPLERS))};"
            " using parentbased_always_on"
        )
        name = "parentbased_always_on"
    if name.endswith("traceidratio"):
        ratio = _number(env, "OTEL_TRACES_SAMPLER_ARG", 1.0, 0.0, 1.0, warnings)
        root: Sampler = TraceIdRatioBased(ratio)
    else:
        root = ALWAYS_OFF if name.endswith("always_off") else ALWAYS_ON
    return ParentBased(root) if name.startswith("parentbased") else root


def _endpoint(env: Mapping[str, str], warnings: list[str]) -> str | None:
    exporter = env.get("OTEL_TRACES_EXPORTER", "").strip().lower() or "otlp"
    if exporter == "none":
        return None
    if exporter != "otlp":
        warnings.append(f"OTEL_TRACES_EXPORTER={exporter!r}: only otlp or none; using otlp")
    protocol = (
        env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or ""
    ).strip()
    if protocol not in ("", "http/protobuf"):
        warnings.append(
            f"OTLP protocol {protocol!r} is not supported (only http/protobuf): nothing exported"
        )
        return None
    url = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if not url:
        base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
        if not base:
            return None  # the default: nothing exported
        url = base.rstrip("/") + "/v1/traces"
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        ok = False
    if not ok:
        warnings.append("the OTLP endpoint is not an http(s) URL with a host: nothing exported")
        return None
    return url


def configure_tracing(role: str, env: Mapping[str, str] | None = None) -> TracerProvider | None:
    """Set this process's tracing up from `OTEL_*` (`role`: edge, worker, all — the default
    `service.name` is `hugmood-<role>`). Bad values are warned about, never fatal."""
    config = read_config(os.environ if env is None else env)
    for warning in config.warnings:
        log.warning("tracing: %s", warning)
    if not config.enabled:
        install(None)
        return None
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: f"hugmood-{role}"}))
    provider = TracerProvider(sampler=config.sampler, resource=resource)
    if config.endpoint is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=config.endpoint, timeout=config.timeout_s)
        add_exporter(provider, exporter, config)
        log.info("tracing: exporting spans over OTLP/HTTP")
    install(provider)
    return provider


def add_exporter(provider: TracerProvider, exporter: SpanExporter, config: TracingConfig) -> None:
    """Spans leave through a bounded queue on a thread of their own: a full queue drops spans,
    a slow collector never slows a request."""
    provider.add_span_processor(
        BatchSpanProcessor(
            exporter,
            max_queue_size=config.max_queue_size,
            schedule_delay_millis=config.schedule_delay_ms,
            max_export_batch_size=min(512, config.max_queue_size),
            export_timeout_millis=config.timeout_s * 1000,
        )
    )


def install(provider: TracerProvider | None) -> None:
    """Make `provider` the one this process's spans go to (None: no spans, no trace ids)."""
    _state.provider = provider
    _state.tracer = (
        provider.get_tracer(_TRACER_NAME) if provider is not None else trace.NoOpTracer()
    )


def shutdown() -> None:
    """Flush what is queued (bounded by the export timeout) at the process's end."""
    if _state.provider is not None:
        _state.provider.shutdown()


# -- ids for responses and log lines --------------------------------------------------------


def current_ids() -> tuple[str, str] | None:
    """The current trace and span ids in hex, or None outside any span."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def current_traceparent() -> str | None:
    """The current span as a W3C `traceparent`, for what leaves this process."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return carrier.get(TRACEPARENT)


def with_trace(message: Mapping[str, Any]) -> dict[str, Any]:
    """`message` plus the current `traceparent` (for the live hub's messages)."""
    traceparent = current_traceparent()
    return {**message, TRACEPARENT: traceparent} if traceparent else dict(message)


def _parent(traceparent: object) -> otel_context.Context | None:
    if not isinstance(traceparent, str) or not traceparent:
        return None
    return PROPAGATOR.extract({TRACEPARENT: traceparent})


# -- spans, one helper per hop ------------------------------------------------------------

_ROUTE_WORDS = frozenset(
    [
        "graphql",
        "healthz",
        "readyz",
        "metrics",
        "me",
        "export",
        "boards",
        "images",
        "ws",
        "moods",
        "photos",
        "privacy",
        "age",
        "community",
        "averages",
        "contributions",
        "sealed",
        "entries",
        "history",
        "key",
        "assets",
        "docs",
    ]
)
"""The fixed words of HugMood's paths; any other segment (an id, a handle in a web app
path, a file name) is shown as `{id}`."""
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_of(path: str) -> str:
    """A path as a low-cardinality route without ids: `/boards/{id}/ws`."""
    parts = [p if p in _ROUTE_WORDS else "{id}" for p in path.split("/") if p]
    return "/" + "/".join(parts)


@contextmanager
def server_span(scope: Mapping[str, Any]) -> Iterator[Span]:
    """The HTTP request's server span, continuing a caller's `traceparent` if it sent one."""
    headers = scope.get("headers") or ()
    incoming = next((v for k, v in headers if k == b"traceparent"), None)
    parent = _parent(incoming.decode("latin-1")[:100]) if incoming else None
    method = str(scope.get("method") or "GET")
    method = method if method in _KNOWN_METHODS else "_OTHER"
    route = route_of(str(scope.get("path") or "/"))
    name = f"{method} {route}"
    token = route_var.set(name)
    try:
        with _state.tracer.start_as_current_span(
            name,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "http.route": route,
                "url.scheme": str(scope.get("scheme") or "http"),
                "network.protocol.version": str(scope.get("http_version") or "1.1"),
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield span
    finally:
        route_var.reset(token)


def set_status_code(span: Span, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(trace.StatusCode.ERROR)


@contextmanager
def socket_message_span(kind: str) -> Iterator[Span]:
    """One graphql-transport-ws message from a client (`subscribe`, `ping`, …)."""
    token = route_var.set(f"WS /graphql {kind}")
    try:
        with _state.tracer.start_as_current_span(
            f"graphql-transport-ws {kind}",
            kind=SpanKind.SERVER,
            attributes={"network.protocol.name": "websocket", "http.route": "/graphql"},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            yield span
    finally:
        route_var.reset(token)


def _unsampled() -> Span | None:
    """The current span if it belongs to a trace that is not sampled: the request path's
    children of such a span are not made at all (the parent-based sampler would only drop
    them), which is most of what tracing costs at 10% sampling (`bench/tracing.py`)."""
    span = trace.get_current_span()
    if span.is_recording() or not span.get_span_context().is_valid:
        return None
    return span


@contextmanager
def operation_span(kind: str, name: str | None) -> Iterator[Span]:
    """A GraphQL operation: `mutation recordMood` (never its document or variables)."""
    if (unsampled := _unsampled()) is not None:
        yield unsampled
        return
    attributes = {"graphql.operation.type": kind}
    if name:
        attributes["graphql.operation.name"] = name[:100]
    with _state.tracer.start_as_current_span(
        f"{kind} {name[:100]}" if name else kind,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


@contextmanager
def command_span(command: object) -> Iterator[Span]:
    """A command's handler (`RecordMood`); what it appends carries this span's trace."""
    if (unsampled := _unsampled()) is not None:
        yield unsampled
        return
    name = type(command).__name__
    with _state.tracer.start_as_current_span(
        f"handle {name}",
        attributes={"hugmood.command": name},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


@contextmanager
def append_span(system: str, count: int) -> Iterator[Span]:
    """An append to the event store (`db.system` sqlite or postgresql; no SQL, no values)."""
    if (unsampled := _unsampled()) is not None:
        yield unsampled
        return
    with _state.tracer.start_as_current_span(
        "INSERT events",
        kind=SpanKind.CLIENT,
        attributes={
            "db.system": system,
            "db.system.name": system,
            "db.operation.name": "INSERT",
            "db.collection.name": "events",
            "db.operation.batch.size": count,
        },
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


def message_traceparent(metadata: Mapping[str, Any], subject: str) -> str | None:
    """The relay's `create` span for one event's NATS message, a child of the command that
    appended it; returns the `traceparent` the message carries (that span's)."""
    parent = _parent(metadata.get(TRACEPARENT))
    if parent is None:
        return None
    span = _state.tracer.start_span(
        f"create {subject}",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "create",
            "messaging.destination.name": subject,
        },
    )
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    span.end()
    return carrier.get(TRACEPARENT)


def _links(traceparents: Sequence[object]) -> list[Link]:
    links: list[Link] = []
    for traceparent in traceparents[1 : MAX_LINKS + 1]:
        parent = _parent(traceparent)
        if parent is not None:
            context = trace.get_current_span(parent).get_span_context()
            if context.is_valid:
                links.append(Link(context))
    return links


@contextmanager
def consumer_span(
    consumer: str, destination: str, traceparents: Sequence[object]
) -> Iterator[Span]:
    """A consumer processing one or a batch of NATS messages: a child of the first message's
    trace, linked to the others'."""
    token = route_var.set(f"consume {consumer}")
    try:
        with _consumer_span(consumer, destination, traceparents) as span:
            yield span
    finally:
        route_var.reset(token)


@contextmanager
def _consumer_span(
    consumer: str, destination: str, traceparents: Sequence[object]
) -> Iterator[Span]:
    with _state.tracer.start_as_current_span(
        f"process {destination}",
        context=_parent(traceparents[0]) if traceparents else None,
        kind=SpanKind.CONSUMER,
        links=_links(traceparents),
        attributes={
            "messaging.system": "nats",
            "messaging.operation.type": "process",
            "messaging.destination.name": destination,
            "messaging.consumer.group.name": consumer,
            "messaging.batch.message_count": len(traceparents),
        },
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


@contextmanager
def projection_span(metadata: Sequence[Mapping[str, Any]]) -> Iterator[Span]:
    """Applying a batch of events to the read models: inside the consumer's span when a bus
    consumer runs it, else a child of the first event's trace (linked to the rest)."""
    inside = trace.get_current_span().get_span_context().is_valid
    traceparents = [m.get(TRACEPARENT) for m in metadata]
    with _state.tracer.start_as_current_span(
        "apply read_models",
        context=None if inside or not traceparents else _parent(traceparents[0]),
        links=[] if inside else _links(traceparents),
        attributes={"hugmood.projection.batch_size": len(metadata)},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


@contextmanager
def live_push_span(event_type: str, metadata: Mapping[str, Any]) -> Iterator[Span]:
    """The live relay announcing an event to sockets (through the hub), in its trace."""
    with _state.tracer.start_as_current_span(
        f"publish live {event_type}",
        context=_parent(metadata.get(TRACEPARENT)),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.operation.type": "send",
            "messaging.destination.name": "live",
            "hugmood.event_type": event_type,
        },
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


@contextmanager
def socket_push_span(message: Mapping[str, Any] | None) -> Iterator[Span]:
    """A `next` pushed to a socket for a hub message, in the trace the message carries."""
    traceparent = message.get(TRACEPARENT) if message is not None else None
    with _state.tracer.start_as_current_span(
        "graphql-transport-ws next",
        context=_parent(traceparent),
        kind=SpanKind.PRODUCER,
        attributes={"network.protocol.name": "websocket", "messaging.operation.type": "send"},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


def trace_id_header(span: Span | None) -> list[tuple[bytes, bytes]]:
    """`X-Trace-ID: <trace id>` for a response, when the request has a trace."""
    if span is None:
        return []
    context = span.get_span_context()
    if not context.is_valid:
        return []
    return [(b"x-trace-id", format(context.trace_id, "032x").encode())]
