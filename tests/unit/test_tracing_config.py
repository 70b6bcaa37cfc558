"""Tracing from `OTEL_*`: nothing exported by default, bad values warned about and replaced by
defaults, and an unreachable collector never breaks a request."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hugmood.bootstrap import open_hugmood
from hugmood.config import Settings
from hugmood.entrypoints.asgi import create_app
from hugmood.observability import tracing


@pytest.fixture(autouse=True)
def no_tracing_after() -> Iterator[None]:
    yield
    tracing.install(None)


def test_nothing_is_exported_without_an_endpoint() -> None:
    config = tracing.read_config({})
    assert config.enabled and config.endpoint is None and config.warnings == ()
    assert (
        config.sampler.get_description()
        == "ParentBased{root:AlwaysOnSampler,remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}"
    )


def test_the_standard_variables_choose_the_endpoint_and_sampling() -> None:
    config = tracing.read_config(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/",
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "500",
        }
    )
    assert config.endpoint == "http://collector:4318/v1/traces"
    assert "TraceIdRatioBased{0.1}" in config.sampler.get_description()
    assert config.timeout_s == 0.5 and config.warnings == ()
    assert tracing.read_config({"OTEL_SDK_DISABLED": "true"}).enabled is False
    traces_only = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c.example/v1/traces"}
    assert tracing.read_config(traces_only).endpoint == "https://c.example/v1/traces"


def test_bad_values_are_warned_about_and_replaced_by_defaults() -> None:
    config = tracing.read_config(
        {
            "OTEL_TRACES_SAMPLER": "sometimes",
            "OTEL_TRACES_SAMPLER_ARG": "lots",
            "OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "-1",
            "OTEL_BSP_MAX_QUEUE_SIZE": "nan",
            "OTEL_SDK_DISABLED": "maybe",
        }
    )
    assert config.enabled and config.endpoint is None
    assert config.timeout_s == tracing.EXPORT_TIMEOUT_S and config.max_queue_size == 2048
    said = "\n".join(config.warnings)
    for name in ("OTEL_TRACES_SAMPLER=", "OTLP endpoint", "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_BSP"):
        assert name in said
    ratio = tracing.read_config(
        {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "2"}
    )
    assert "OTEL_TRACES_SAMPLER_ARG='2'" in ratio.warnings[0]
    grpc = tracing.read_config(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    )
    assert grpc.endpoint is None and "grpc" in grpc.warnings[0]


async def test_an_unreachable_collector_does_not_break_requests(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = tracing.configure_tracing(
        "edge",
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_BSP_SCHEDULE_DELAY": "10",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "200",
        },
    )
    assert provider is not None
    settings = Settings(database_url="memory", data_dir=tmp_path)
    async with open_hugmood(settings) as core:
        app = create_app(settings, core=core)
        app.state.core = core
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hugmood") as http:
            for _ in range(3):
                answer = await http.post("/graphql", json={"query": "{ moodVocabulary { word } }"})
                assert answer.status_code == 200 and len(answer.headers["x-trace-id"]) == 32
    provider.shutdown()  # gives up on the unreachable collector within its timeout


def test_a_route_names_no_ids_or_handles() -> None:
    assert tracing.route_of("/graphql") == "/graphql"
    assert tracing.route_of("/boards/8f1c2d/ws") == "/boards/{id}/ws"
    assert tracing.route_of("/moods/e1/photos/b2") == "/moods/{id}/photos/{id}"
    assert tracing.route_of("/people/ann_smith") == "/{id}/{id}"
