"""Calls between regions over NATS (`HUGMOOD_FEDERATION_TRANSPORT=nats`): a call is a request
on `hugmood.federation.<region>`, which the regions' NATS servers (joined by a gateway or a
leaf-node connection) carry to a process of that region answering in the queue group
`hugmood-federation`. Calls and answers are signed like the HTTP ones (`federation.sign`),
the answer over the call's own signature too, so that nobody else on NATS can answer."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import nats.errors
import orjson

from hugmood.messaging.relay import subject_token
from hugmood.regions.board_links import BoardLink, WebsocketLink
from hugmood.regions.federation import (
    SIGNATURE_HEADER,
    Endpoint,
    RegionUnreachable,
    signed,
    unwrap,
    verify,
)
from hugmood.services import Service
from hugmood.unavailable import BackendUnavailable

if TYPE_CHECKING:
    from nats.aio.client import Client
    from nats.aio.msg import Msg
    from nats.aio.subscription import Subscription

log = logging.getLogger(__name__)

SUBJECT_PREFIX = "hugmood.federation"
QUEUE = "hugmood-federation"
CALL_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 2.0
"""A call waits at most this long for NATS itself when this process is not connected yet."""
MAX_CALL_BYTES = 1 << 20
MAX_CALLS_AT_ONCE = 64
"""Calls one process answers at the same time; more wait for a slot (NATS buffers them)."""
DRAIN_S = 10.0
"""How long a stopping responder lets the calls it is answering finish."""


def federation_subject(region: str) -> str:
    """`hugmood.federation.<region>`: the same in every region, whatever its own prefix."""
    return f"{SUBJECT_PREFIX}.{subject_token(region)}"


def reply_signature(key: str, region: str, call_signature: str, body: bytes) -> str:
    """The answering region's signature over its answer and the call it answers."""
    return signed(key, region, _answered(call_signature, body))


def _answered(call_signature: str, body: bytes) -> bytes:
    return call_signature.encode() + b"\n" + body


class NatsLink:
    """One NATS connection for a region's calls to all the others, opened at the first call
    (a region starts whether or not NATS is up) and kept: it reconnects by itself."""

    def __init__(self, url: str, *, name: str) -> None:
        self._url = url
        self._name = name
        self._nc: Client | None = None
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        """The connection; `BusUnavailable` if NATS cannot be reached now."""
        from hugmood.messaging.jetstream import connect

        async with self._lock:
            if self._nc is None or self._nc.is_closed:
                self._nc = await connect(self._url, name=self._name, timeout_s=CONNECT_TIMEOUT_S)
            return self._nc

    async def close(self) -> None:
        async with self._lock:
            if self._nc is not None and not self._nc.is_closed:
                await self._nc.close()
            self._nc = None


class NatsPeer:
    """Another region, its calls over NATS on `link`; its boards' sockets, a stream both ways
    for as long as someone edits, over a signed WebSocket to `board_url` (its
    `HUGMOOD_REGION_URLS` entry), as with the HTTP transport."""

    def __init__(
        self,
        region: str,
        link: NatsLink,
        *,
        key: str,
        caller: str,
        board_url: str | None = None,
        timeout_s: float = CALL_TIMEOUT_S,
    ) -> None:
        self.region = region
        self._link = link
        self._subject = federation_subject(region)
        self._key = key
        self._caller = caller
        self._board_url = board_url
        self._timeout_s = timeout_s

    async def close(self) -> None:
        await self._link.close()

    async def open_board(self, board_id: str, user_id: str) -> BoardLink:
        if self._board_url is None:
            raise RegionUnreachable(
                f"the boards of the region {self.region} are reached at its URL, which "
                "HUGMOOD_REGION_URLS does not give"
            )
        return await WebsocketLink.open(
            self._board_url, board_id, user_id, key=self._key, caller=self._caller
        )

    async def call(self, op: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = orjson.dumps({"op": op, "payload": payload})
        signature = signed(self._key, self._caller, body)
        try:
            nc = await self._link.client()
        except BackendUnavailable as e:
            raise RegionUnreachable(f"the region {self.region} cannot be reached: {e}") from e
        try:
            reply = await nc.request(
                self._subject, body, timeout=self._timeout_s, headers={SIGNATURE_HEADER: signature}
            )
        except nats.errors.NoRespondersError as e:
            raise RegionUnreachable(f"no process of the region {self.region} answers") from e
        except nats.errors.TimeoutError as e:
            raise RegionUnreachable(
                f"the region {self.region} did not answer within {self._timeout_s:g} s"
            ) from e
        except (nats.errors.Error, OSError) as e:
            raise RegionUnreachable(f"the region {self.region} cannot be reached: {e}") from e
        try:
            answerer = verify(
                self._key,
                (reply.headers or {}).get(SIGNATURE_HEADER),
                _answered(signature, reply.data),
            )
        except ValueError as e:
            raise RegionUnreachable(f"an answer for {self.region} was refused: {e}") from e
        if answerer != self.region:
            raise RegionUnreachable(f"{answerer} answered a call to {self.region}")
        try:
            answer = orjson.loads(reply.data)
        except orjson.JSONDecodeError:
            raise RegionUnreachable(f"the region {self.region} answered no JSON") from None
        return unwrap(answer)


class FederationResponder(Service):
    """Answers the other regions' calls to `region` on `nc` (a connection the caller owns),
    each in a task of its own: a call that calls back the region it came from must not wait
    behind another."""

    name = "federation over NATS"

    def __init__(self, nc: Client, endpoint: Endpoint, *, region: str, key: str) -> None:
        super().__init__()
        self._nc = nc
        self._endpoint = endpoint
        self._region = region
        self._key = key
        self._subscription: Subscription | None = None
        self._calls: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(MAX_CALLS_AT_ONCE)

    @property
    def subject(self) -> str:
        return federation_subject(self._region)

    async def starting(self) -> None:
        self._subscription = await self._nc.subscribe(self.subject, queue=QUEUE, cb=self._heard)
        await self._nc.flush()

    async def stopping(self) -> None:
        if self._subscription is not None:
            try:
                await self._subscription.unsubscribe()
            except nats.errors.Error as e:
                log.warning("federation over NATS: unsubscribing failed: %s", e)
            self._subscription = None
        if self._calls:
            await asyncio.wait(set(self._calls), timeout=DRAIN_S)

    async def stopped(self) -> None:
        for task in set(self._calls):
            task.cancel()
        if self._calls:
            await asyncio.wait(set(self._calls))

    async def _heard(self, msg: Msg) -> None:
        # Waiting for a slot here holds the subscription's next messages in nats-py's queue.
        await self._slots.acquire()
        task = asyncio.create_task(self._reply(msg), name=f"{self.name}: call")
        self._calls.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._calls.discard(task)
        self._slots.release()

    async def _reply(self, msg: Msg) -> None:
        if not msg.reply:
            return  # a publish, not a request: nobody to answer
        signature = (msg.headers or {}).get(SIGNATURE_HEADER, "")
        body = orjson.dumps(await self.answer(msg.data, signature))
        headers = {SIGNATURE_HEADER: reply_signature(self._key, self._region, signature, body)}
        try:
            await self._nc.publish(msg.reply, body, headers=headers)
        except (nats.errors.Error, OSError) as e:
            # The caller times out and says the region could not be reached.
            log.warning("federation over NATS: an answer could not be sent: %s", e)

    async def answer(self, body: bytes, signature: str | None) -> dict[str, Any]:
        """The answer to one call: refused unless signed with the key, fresh and well formed;
        never an exception."""
        if len(body) > MAX_CALL_BYTES:
            return _error("VALIDATION", "call too large")
        try:
            caller = verify(self._key, signature, body)
        except ValueError as e:
            log.warning("refused a federation call over NATS: %s", e)
            return _error("UNAUTHENTICATED", str(e))
        try:
            call = orjson.loads(body)
            op, payload = call["op"], call["payload"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return _error("VALIDATION", "malformed call")
        if not isinstance(op, str) or caller == self._region:
            return _error("VALIDATION", "malformed call")
        try:
            return await self._endpoint(op, payload, caller)
        except Exception:
            # The endpoint answers every refusal itself: this is a bug, and the caller hears
            # what a region that fails over HTTP says (unavailable), not a silence.
            log.exception("a federation call over NATS failed (%s from %s)", op, caller)
            return _error("UNAVAILABLE", f"the region {self._region} failed to answer")


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}
