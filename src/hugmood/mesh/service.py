"""Serving mesh requests: named, versioned services with endpoints on nats.micro, each request
size-checked, its caller verified, its body parsed, and every failure answered as a specific
error reply (code and description in nats.micro's error headers), never a stack trace."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from nats.aio.client import Client
from nats.micro import add_service
from nats.micro.request import Request, ServiceError
from nats.micro.service import Service as MicroService
from prometheus_client.metrics_core import Metric

from hugmood.domain.errors import HugMoodError
from hugmood.mesh import errors as codes
from hugmood.mesh.errors import Refused
from hugmood.mesh.identity import Caller, RequestVerifier
from hugmood.mesh.metrics import MeshMetrics
from hugmood.messaging.relay import subject_token
from hugmood.services import Service

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
Handler = Callable[[Caller, JsonObject], Awaitable[Any]]
"""An endpoint's work: the verified caller and the request's JSON object → a JSON value."""

MAX_REQUEST_BYTES = 64 * 1024
DRAIN_S = 10.0
"""How long a stopping instance waits for the requests it is running to finish."""

STOPPING = "this instance is stopping and did not run the request; ask another"
"""A 503 from a service always means the request was not run (callers may send it again)."""

_DOMAIN_CODES = {
    "VALIDATION": codes.BAD_REQUEST,
    "UNAUTHENTICATED": codes.UNAUTHENTICATED,
    "FORBIDDEN": codes.FORBIDDEN,
    "NOT_FOUND": codes.NOT_FOUND,
    "CONFLICT": codes.CONFLICT,
    "RATE_LIMITED": codes.TOO_MANY,
}


@dataclass(frozen=True, slots=True)
class MeshEndpoint:
    name: str
    handler: Handler
    description: str
    idempotent: bool = True
    """Read-only (or otherwise safe to run twice): callers may retry it on another instance."""
    needs_user: bool = True
    """Asked on behalf of a user: a request that names none is refused."""


@dataclass(frozen=True, slots=True)
class MeshServiceSpec:
    name: str
    version: str
    description: str
    endpoints: tuple[MeshEndpoint, ...]


def endpoint_subject(prefix: str, region: str, service: str, endpoint: str) -> str:
    """`<prefix>.<region>.svc.<service>.<endpoint>`: one region's mesh never answers another's."""
    tokens = (region, "svc", service, endpoint)
    return ".".join([prefix, *map(subject_token, tokens)])


class MeshServices(Service):
    """Registers services on a NATS connection while entered; the connection is the caller's.

    nats.micro runs one endpoint's requests one at a time in each instance (as NATS services
    do in every language): more instances, not more tasks, serve more at once, and the queue
    group spreads requests over them.
    """

    name = "service mesh"

    def __init__(
        self,
        nc: Client,
        specs: Sequence[MeshServiceSpec],
        verifier: RequestVerifier,
        *,
        region: str,
        subject_prefix: str,
        process: str,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        super().__init__()
        self._nc = nc
        self._specs = tuple(specs)
        self._verifier = verifier
        self._region = region
        self._prefix = subject_prefix
        self._process = process
        self.metrics = MeshMetrics()
        """This instance's request counts and latencies (`/metrics` exports them)."""
        self._max_request_bytes = max_request_bytes
        self._registered: list[MicroService] = []
        self._stopping = False
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def connection(self) -> Client:
        """The NATS connection the services answer on (a client may ask on it too)."""
        return self._nc

    def metric_families(self) -> Iterable[Metric]:
        """Request counts and latencies per service and endpoint, for `/metrics`."""
        return self.metrics.metric_families()

    async def starting(self) -> None:
        metadata = {
            "region": self._region,
            "subject_prefix": self._prefix,
            "process": self._process,
        }
        for spec in self._specs:
            service = await add_service(
                self._nc,
                name=spec.name,
                version=spec.version,
                description=spec.description,
                metadata=metadata,
            )
            self._registered.append(service)
            for endpoint in spec.endpoints:
                await service.add_endpoint(
                    name=endpoint.name,
                    subject=endpoint_subject(self._prefix, self._region, spec.name, endpoint.name),
                    handler=self._handler(spec.name, endpoint),
                    metadata={
                        "description": endpoint.description,
                        "idempotent": str(endpoint.idempotent).lower(),
                        "needs_user": str(endpoint.needs_user).lower(),
                    },
                )
        await self._nc.flush()

    async def stopping(self) -> None:
        # Drain: what is running finishes and is answered; what arrives from now on is
        # answered 503 without running (callers send it to another instance, whatever it
        # is); then the subscriptions go, and the server stops routing here. A request the
        # server routed here in between is lost with the subscription: its caller times out.
        self._stopping = True
        try:
            async with asyncio.timeout(DRAIN_S):
                await self._idle.wait()
        except TimeoutError:
            log.warning(
                "mesh: %d requests still running after %.0f s; stopping", self._running, DRAIN_S
            )
        registered, self._registered = self._registered, []
        for service in registered:
            await service.stop()

    def _handler(
        self, service: str, endpoint: MeshEndpoint
    ) -> Callable[[Request], Awaitable[None]]:
        async def handle(request: Request) -> None:
            started = time.perf_counter()
            code = "200"
            # nats.micro's Request does not expose the reply subject; a message published
            # without one cannot be answered, so it is not run (nor answered with an error).
            if not request._msg.reply:
                log.warning(
                    "mesh %s.%s: a message with no reply subject, ignored", service, endpoint.name
                )
                self.metrics.observe(service, endpoint.name, codes.BAD_REQUEST, 0.0)
                return
            if self._stopping:
                self.metrics.observe(service, endpoint.name, codes.UNAVAILABLE, 0.0)
                raise ServiceError(codes.UNAVAILABLE, STOPPING)
            self._running += 1
            self._idle.clear()
            try:
                await request.respond(orjson.dumps(await self._answer(endpoint, request)))
            except Refused as e:
                code = e.code
                raise ServiceError(e.code, e.description) from None
            except Exception as e:
                code = codes.INTERNAL
                ref = uuid.uuid4().hex[:12]
                log.exception("mesh %s.%s failed (ref %s)", service, endpoint.name, ref)
                description = f"internal error in {service}.{endpoint.name} (logged as {ref})"
                raise ServiceError(codes.INTERNAL, description) from e
            finally:
                elapsed = time.perf_counter() - started
                self.metrics.observe(service, endpoint.name, code, elapsed)
                self._running -= 1
                if not self._running:
                    self._idle.set()

        return handle

    async def _answer(self, endpoint: MeshEndpoint, request: Request) -> Any:
        size = len(request.data)
        if size > self._max_request_bytes:
            raise Refused(
                codes.TOO_LARGE,
                f"the request is {size} bytes; at most {self._max_request_bytes} are accepted",
            )
        caller = self._verifier.verify(request.subject, request.headers, request.data)
        if endpoint.needs_user and caller.user_id is None:
            raise Refused(
                codes.UNAUTHENTICATED,
                f"{endpoint.name} answers on behalf of a user and the request names none",
            )
        try:
            payload = orjson.loads(request.data) if request.data else {}
        except orjson.JSONDecodeError:
            raise Refused(codes.BAD_REQUEST, "the body is not JSON") from None
        if not isinstance(payload, dict):
            raise Refused(codes.BAD_REQUEST, "the body must be a JSON object")
        try:
            return await endpoint.handler(caller, payload)
        except HugMoodError as e:
            code = _DOMAIN_CODES.get(e.code, codes.INTERNAL)
            if code == codes.INTERNAL:
                raise
            where = f" ({e.field})" if e.field else ""
            raise Refused(code, f"{e.message}{where}") from None
