"""Calling the mesh: instances are discovered (`$SRV.PING`/`INFO`/`STATS`), requests go to the
endpoint's subject and its queue group picks an instance; a request that may have reached an
instance that died is sent again only if it is idempotent (decision 0015)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import nats.errors
import orjson
from nats.aio.client import Client
from nats.micro.request import ERROR_CODE_HEADER, ERROR_HEADER

from hugmood.mesh import errors as codes
from hugmood.mesh.errors import MeshError, NoInstance, OutcomeUnknown, Refused
from hugmood.mesh.identity import RequestSigner
from hugmood.mesh.service import endpoint_subject

log = logging.getLogger(__name__)

DEADLINE_S = 5.0
ATTEMPT_TIMEOUT_S = 1.0
"""How long one attempt of an idempotent request waits before it is sent again."""
NO_RESPONDERS_PAUSE_S = 0.05
DISCOVERY_WAIT_S = 0.3


@dataclass(frozen=True, slots=True)
class Instance:
    """One running instance of a service, as it answered a ping."""

    name: str
    id: str
    version: str
    metadata: dict[str, str] = field(default_factory=dict)


class MeshClient:
    """Asks services of one region's mesh, signing every request as `signer`'s caller."""

    def __init__(
        self,
        nc: Client,
        signer: RequestSigner,
        *,
        region: str,
        subject_prefix: str,
        deadline_s: float = DEADLINE_S,
        attempt_timeout_s: float = ATTEMPT_TIMEOUT_S,
    ) -> None:
        self._nc = nc
        self._signer = signer
        self._region = region
        self._prefix = subject_prefix
        self._deadline_s = deadline_s
        self._attempt_timeout_s = attempt_timeout_s

    async def request(
        self,
        service: str,
        endpoint: str,
        payload: Any,
        *,
        user_id: str | None,
        idempotent: bool = False,
        deadline_s: float | None = None,
        wait_for_instance: bool = True,
    ) -> Any:
        """The endpoint's JSON answer, asked on behalf of `user_id` (None: the process itself).

        Raises `Refused` for an error reply, `NoInstance` if no instance answered in time,
        and `OutcomeUnknown` if a non-idempotent request went unanswered by an instance that
        received it (it is never sent twice). An idempotent request is sent again after each
        unanswered attempt, to whichever instance the queue group picks, until the deadline.
        With `wait_for_instance` off, finding no instance at all is `NoInstance` at once
        instead of asking again until one appears (for a caller that can do without).
        """
        subject = endpoint_subject(self._prefix, self._region, service, endpoint)
        body = orjson.dumps(payload)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._deadline_s if deadline_s is None else deadline_s)
        what = f"{service}.{endpoint}"
        attempts = 0
        while (remaining := deadline - loop.time()) > 0:
            attempts += 1
            # A fresh request id (and signature) per attempt: services refuse a replayed id.
            headers = self._signer.headers(subject, body, user_id=user_id)
            timeout = min(remaining, self._attempt_timeout_s) if idempotent else remaining
            try:
                reply = await self._nc.request(subject, body, timeout=timeout, headers=headers)
            except nats.errors.NoRespondersError:
                # The server had no subscriber to give it to: nothing received it, so even a
                # non-idempotent request is safe to send again once an instance is back.
                if not wait_for_instance:
                    raise NoInstance(f"no instance of {service} is running") from None
                await asyncio.sleep(min(NO_RESPONDERS_PAUSE_S, max(0.0, remaining)))
                continue
            except nats.errors.TimeoutError:
                if not idempotent:
                    raise OutcomeUnknown(
                        f"{what} got no answer within {remaining:.1f} s from the instance that "
                        "received it; it may have run, so it was not sent again"
                    ) from None
                log.info("mesh %s: attempt %d unanswered; asking again", what, attempts)
                continue
            except nats.errors.MaxPayloadError:
                raise Refused(codes.TOO_LARGE, f"the {what} request is over NATS's limit") from None
            except (
                nats.errors.ConnectionClosedError,
                nats.errors.ConnectionDrainingError,
                nats.errors.OutboundBufferLimitError,
            ) as e:
                raise MeshError(f"{what} was not sent ({e})") from e
            try:
                return _answer(what, reply.headers, reply.data)
            except Refused as e:
                if e.code != codes.UNAVAILABLE:
                    raise
                # A 503 says the instance did not run it (it is stopping, or cannot keep
                # track of replays): safe to send again to another, even if not idempotent.
                log.info("mesh %s: %s; asking again", what, e.description)
                await asyncio.sleep(min(NO_RESPONDERS_PAUSE_S, max(0.0, remaining)))
        raise NoInstance(
            f"no instance of {service} answered {endpoint} within the deadline "
            f"({attempts} attempt{'s' if attempts != 1 else ''})"
        )

    async def discover(self, service: str | None = None) -> list[Instance]:
        """Every instance in this region's mesh that answers a ping (of `service`, or all)."""
        replies = await self.gather("PING", service)
        return sorted(
            (
                Instance(r["name"], r["id"], r["version"], r["metadata"])
                for r in replies
                if all(isinstance(r.get(k), str) for k in ("name", "id", "version"))
            ),
            key=lambda i: (i.name, i.id),
        )

    async def gather(
        self, verb: str, service: str | None = None, *, wait_s: float = DISCOVERY_WAIT_S
    ) -> list[dict[str, Any]]:
        """Every answer to `$SRV.<verb>[.<service>]` from this region's mesh (`gather`)."""
        return await gather(
            self._nc,
            verb,
            service,
            region=self._region,
            subject_prefix=self._prefix,
            wait_s=wait_s,
        )


async def gather(
    nc: Client,
    verb: str,
    service: str | None = None,
    *,
    region: str,
    subject_prefix: str,
    wait_s: float = DISCOVERY_WAIT_S,
) -> list[dict[str, Any]]:
    """Every answer to `$SRV.<verb>[.<service>]` (PING, INFO or STATS) that arrives within
    `wait_s` from instances of this region's mesh: there is no list of instances, only who
    answers. The `$SRV` subjects are shared by every mesh on the server, so instances say
    their region and subject prefix in their metadata and others are left out."""
    subject = f"$SRV.{verb}" + (f".{service}" if service else "")
    inbox = nc.new_inbox()
    sub = await nc.subscribe(inbox)
    replies: list[dict[str, Any]] = []
    try:
        await nc.publish(subject, b"", reply=inbox)
        await nc.flush()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while (remaining := deadline - loop.time()) > 0:
            try:
                msg = await sub.next_msg(timeout=remaining)
            except nats.errors.TimeoutError:
                break
            try:
                reply = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                log.debug("a %s answer on the mesh was not JSON; ignored", subject)
                continue
            metadata = reply.get("metadata") if isinstance(reply, dict) else None
            if (
                isinstance(metadata, dict)
                and metadata.get("region") == region
                and metadata.get("subject_prefix") == subject_prefix
            ):
                replies.append(reply)
    finally:
        await sub.unsubscribe()
    return replies


def _answer(what: str, headers: dict[str, str] | None, data: bytes) -> Any:
    headers = headers or {}
    code = headers.get(ERROR_CODE_HEADER)
    if code:
        raise Refused(code, headers.get(ERROR_HEADER) or f"{what} failed")
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise MeshError(f"{what} answered something that is not JSON") from None
