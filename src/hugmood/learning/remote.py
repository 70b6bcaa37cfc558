"""Device calls to a coordinator in another process, over NATS request/reply: the process
holding the coordinator's lease answers on the region's learning subject; every other process
(an edge, or a server whose coordinator is not the active one) forwards its HTTP paths' calls
there. Requests are signed with the mesh's key (decision 0015), so the person they speak for
is the one the forwarding process authenticated."""

from __future__ import annotations

import logging
import os
import socket
import uuid
from contextlib import AsyncExitStack
from typing import Any

import nats.errors
import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from hugmood.blobs.store import BlobStore
from hugmood.config import Settings
from hugmood.domain.errors import ValidationFailed
from hugmood.eventstore.store import EventStore
from hugmood.learning.aggregation import UpdateRejected
from hugmood.learning.calls import Body, dispatch
from hugmood.learning.consent import DefaultConsent, off_by_default
from hugmood.learning.service import FederatedLearning, LearningSettings, LearningUnavailable
from hugmood.mesh.errors import Refused
from hugmood.mesh.identity import RequestSigner, RequestVerifier, mesh_key
from hugmood.mesh.service import endpoint_subject
from hugmood.messaging.bus import BusUnavailable
from hugmood.realtime.hub import RealtimeHub
from hugmood.services import Service

log = logging.getLogger(__name__)

CALL_TIMEOUT_S = 30.0
"""A call may wait behind a round's close (the unmasking takes seconds at 1,000 devices)."""
QUEUE = "learning-coordinator"


async def open_learning(
    settings: Settings,
    stack: AsyncExitStack,
    store: EventStore,
    blobs: BlobStore,
    live: RealtimeHub,
    *,
    nats: bool,
    serves_http: bool,
    default_consent: DefaultConsent = off_by_default,
) -> tuple[FederatedLearning, list[Service]]:
    """The coordinator service, and the services that forward other processes' calls to it.
    Without NATS (`nats` off: not configured, or away from an edge) it is the only one; with
    NATS every process that runs it competes for one lease in NATS KV, and processes that
    serve HTTP forward calls to whichever holds it. An edge whose NATS is away gets no
    forwarder (its learning paths answer 503)."""
    configured = LearningSettings(
        round_seconds=settings.learning_round_s,
        noise_multiplier=settings.learning_noise_multiplier,
    )
    if not nats:
        return FederatedLearning(
            store, blobs, live, configured, default_consent=default_consent
        ), []
    from hugmood.messaging.jetstream import NatsKvLease, connect

    try:
        nc = await connect(settings.nats_url, name="hugmood learning")
    except BusUnavailable:
        if settings.role != "edge":
            raise
        log.warning("federated learning is not reachable from this edge: NATS is away")
        return FederatedLearning(
            store, blobs, live, configured, default_consent=default_consent
        ), []
    stack.push_async_callback(nc.close)
    key = mesh_key(settings.secret_key, settings.region)
    subject = endpoint_subject(settings.nats_subject_prefix, settings.region, "learning", "calls")
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    lease = NatsKvLease(
        nc.jetstream(),
        f"{settings.nats_stream}_leases",
        "learning",
        holder,
        settings.relay_lease_ttl_s,
    )
    service = FederatedLearning(
        store,
        blobs,
        live,
        configured,
        lease=lease,
        responder=CoordinatorResponder(nc, RequestVerifier(key), subject),
        default_consent=default_consent,
    )
    signer = RequestSigner(key, f"learning:{socket.gethostname()}:{os.getpid()}")
    forwarders: list[Service] = [RemoteCoordinator(nc, signer, subject)] if serves_http else []
    return service, forwarders


class CoordinatorResponder:
    """Answers the learning subject for the coordinator `service` while it is the active one."""

    def __init__(self, nc: Client, verifier: RequestVerifier, subject: str) -> None:
        self._nc = nc
        self._verifier = verifier
        self.subject = subject
        self._subscription: Subscription | None = None

    async def open(self, service: FederatedLearning) -> None:
        if self._subscription is not None:
            return

        async def answer(msg: Msg) -> None:
            await msg.respond(orjson.dumps(await self._answer(service, msg)))

        self._subscription = await self._nc.subscribe(self.subject, queue=QUEUE, cb=answer)

    async def close(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            try:
                await subscription.unsubscribe()
            except nats.errors.Error as e:
                log.info("learning responder: unsubscribing failed (%s)", e)

    async def _answer(self, service: FederatedLearning, msg: Msg) -> Body:
        try:
            caller = self._verifier.verify(msg.subject, msg.headers, msg.data)
            request = orjson.loads(msg.data)
            if caller.user_id is None or not isinstance(request, dict):
                raise ValidationFailed("a learning call speaks for a signed-in person")
            body = request.get("body")
            device = request.get("device")
            result = await dispatch(
                service,
                str(request.get("call")),
                caller.user_id,
                device if isinstance(device, str) else None,
                body if isinstance(body, dict) else {},
            )
            return {"ok": result}
        except UpdateRejected as e:
            return {"error": {"kind": "rejected", "code": e.code, "message": str(e)}}
        except ValidationFailed as e:
            return {"error": {"kind": "validation", "message": e.message, "field": e.field}}
        except (LearningUnavailable, Refused, orjson.JSONDecodeError) as e:
            return {"error": {"kind": "unavailable", "message": str(e)}}


class RemoteCoordinator(Service):
    """Forwards device calls to the active coordinator, wherever it runs."""

    name = "learning calls"

    def __init__(self, nc: Client, signer: RequestSigner, subject: str) -> None:
        super().__init__()
        self._nc = nc
        self._signer = signer
        self._subject = subject

    async def call(self, name: str, person: str, device: str | None, body: Body) -> Body:
        data = orjson.dumps({"call": name, "device": device, "body": body})
        headers = self._signer.headers(self._subject, data, user_id=person)
        try:
            reply = await self._nc.request(
                self._subject, data, timeout=CALL_TIMEOUT_S, headers=headers
            )
        except (nats.errors.NoRespondersError, nats.errors.TimeoutError) as e:
            raise LearningUnavailable(
                "the learning coordinator is not reachable right now; try again shortly"
            ) from e
        except nats.errors.Error as e:
            raise LearningUnavailable(f"the learning coordinator could not be asked: {e}") from e
        answer: dict[str, Any] = orjson.loads(reply.data)
        if "ok" in answer:
            result: Body = answer["ok"]
            return result
        error = answer.get("error") or {}
        match error.get("kind"):
            case "rejected":
                raise UpdateRejected(str(error.get("code")), str(error.get("message")))
            case "validation":
                raise ValidationFailed(str(error.get("message")), field=error.get("field"))
        raise LearningUnavailable(str(error.get("message") or "the coordinator did not answer"))
