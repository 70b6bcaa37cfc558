"""One edge for several regions (`HUGMOOD_REGIONS` hosted in this process, and
`HUGMOOD_REGION_URLS` reached over the network, each a deployment of its own): every request
and socket goes to the region that keeps the person it is for, which answers it from that
region's stores alone.

How a request finds its region:
- a session token names the region that issued it (`hm_<region>.…`, in `Authorization` or,
  on a board socket, `?token=`); a token of a region not hosted here is refused
  (`WRONG_REGION`, 421), never served from another region's stores;
- a sign-up names a country (or a region), whose region keeps the account; a sign-in names a
  handle, which the global directory places (and its second step a token that names it);
- a password reset asked by e-mail address is asked of every region at once, hosted or
  reached over the network (each answers alike whether or not it knows the address, and one
  answer goes back, so nothing tells which region knew it); the link it mails carries a token
  that names the region that issued it (`hm_<region>.…`, like a session token), which places
  the reset itself;
- anything else (the web app, `/healthz`, a request for no one in particular) goes to the
  default region, `HUGMOOD_REGION`.
A GraphQL socket says who it is in its first message (`connection_init`): the edge accepts
it, reads that message, and hands the socket to the region's app as though it had just
arrived.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

import orjson
from fastapi import FastAPI
from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hugmood.bootstrap import open_hugmood
from hugmood.config import Settings
from hugmood.domain.errors import ValidationFailed
from hugmood.entrypoints.asgi import Announce, create_app
from hugmood.entrypoints.demo import demo_users, seed_demo_across
from hugmood.entrypoints.http.caller import bearer_token
from hugmood.entrypoints.http.middleware import origin_allowed
from hugmood.entrypoints.routing_hints import asked_of_every_region, hints_of, init_token
from hugmood.entrypoints.ws.protocol import PROTOCOL, CloseCode
from hugmood.regions.directory import Directory
from hugmood.regions.federation import Endpoint, LocalPeer, Peer
from hugmood.regions.geography import Geography
from hugmood.regions.hosting import (
    hosted_regions,
    open_directory,
    region_settings,
    remote_regions,
)
from hugmood.regions.policy import open_policies
from hugmood.regions.remote import RemoteRegion
from hugmood.security.mfa import handle_of_pending
from hugmood.security.tokens import region_of_token

log = logging.getLogger(__name__)

ASKED_BY_AN_EDGE = "x-hugmood-asked-of-every-region"
"""Marks a request an edge passes on to every region: an edge it reaches asks only the
regions it hosts, so two edges that reach each other never pass it back and forth."""


class RegionalEdge:
    """The ASGI app in front of the hosted regions' apps."""

    def __init__(
        self, settings: Settings, *, seed_demo: bool = False, announce: Announce | None = None
    ) -> None:
        # One secret for the regions of this process (in development, the data dir's), so a
        # link or a second step's token one region issues is good in another hosted here.
        settings = settings.with_secret()
        self.settings = settings
        self.geography: Geography = open_policies(settings).geography
        self.regions = hosted_regions(settings, self.geography)
        self.directory: Directory | None = None
        self._announce = announce
        self._seed_demo = seed_demo
        self.hosted: dict[str, FastAPI] = {
            region: create_app(
                region_settings(settings, region),
                seed_demo=seed_demo,
                open_core=self._opener(region_settings(settings, region)),
            )
            for region in self.regions
        }
        self.remote = {
            region: RemoteRegion(region, url)
            for region, url in remote_regions(settings, self.geography).items()
        }
        self.apps: dict[str, ASGIApp] = {**self.hosted, **self.remote}

    def _opener(self, settings: Settings) -> Callable[[], Any]:
        return lambda: open_hugmood(
            settings, directory=self.directory, peers=self._peers(settings.region)
        )

    def _peers(self, region: str) -> dict[str, Peer]:
        """The other hosted regions, as `region` calls them: directly."""
        return {
            other: LocalPeer(
                other,
                caller=region,
                endpoint=partial(self._endpoint, other),
                app=partial(self.hosted.get, other),
            )
            for other in self.regions
            if other != region
        }

    def _endpoint(self, region: str) -> Endpoint | None:
        core = getattr(self.hosted[region].state, "core", None)
        return None if core is None else core.federation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "websocket":
            await self._socket(scope, receive, send)
        else:
            await self._request(scope, receive, send)

    # --- start and stop ---------------------------------------------------------------------

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        async with AsyncExitStack() as stack:
            try:
                self.directory = await open_directory(self.settings)
                if self.directory is not None:
                    stack.push_async_callback(self.directory.close)
                for remote in self.remote.values():
                    stack.push_async_callback(remote.close)
                for app in self.hosted.values():
                    await stack.enter_async_context(app.router.lifespan_context(app))
            except Exception as e:
                await send({"type": "lifespan.startup.failed", "message": str(e)})
                raise
            if self._seed_demo:
                cores = {r: app.state.core for r, app in self.hosted.items()}
                await seed_demo_across(cores)
            if self._announce is not None:
                logins = [
                    u.handle
                    for app in self.hosted.values()
                    for u in (demo_users(app.state.core) if self._seed_demo else ())
                ]
                self._announce(self.settings, logins)
            await send({"type": "lifespan.startup.complete"})
            await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})

    # --- requests ---------------------------------------------------------------------------

    async def _request(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = bearer_token(Headers(scope=scope).get("authorization"))
        if token is not None:
            await self._by_token(token, scope, receive, send)
            return
        if scope["method"] == "POST" and scope["path"] == "/graphql":
            body, more, early = await _read_body(receive, self.settings.max_request_bytes)
            if not more and not early and asked_of_every_region(body):
                await self._every_region(scope, body, send)
                return
            region = await self._placed(body) or self.settings.region
            await self.apps[region](scope, _replay(body, more, early, receive), send)
            return
        await self.apps[self.settings.region](scope, receive, send)

    async def _by_token(self, token: str, scope: Scope, receive: Receive, send: Send) -> None:
        region = region_of_token(token) or self.settings.region
        app = self.apps.get(region)
        if app is None:
            await _wrong_region(scope, send, region)
            return
        await app(scope, receive, send)

    async def _every_region(self, scope: Scope, body: bytes, send: Send) -> None:
        """Ask every region at once (those this edge hosts, and those it reaches unless
        another edge already asked them) and give back one hosted region's answer: the first
        refusal if any refused (they refuse alike: bad input, or a rate limit each counts the
        same), else the default region's. Each region does the same work whether or not it
        knows the address, so neither the answer nor its timing tells which one did.

        A region reached over the network only has its refusal logged: it sees every request
        an edge passes on as coming from the edge, so its limit per source would be everyone's
        at this edge, and a region that is away must not stop the others' resets."""
        asked: dict[str, Coroutine[Any, Any, _Answer]] = {
            region: _answer_of(app, scope, body) for region, app in self.hosted.items()
        }
        if ASKED_BY_AN_EDGE not in Headers(scope=scope):
            marked = {**scope, "headers": [*scope["headers"], (ASKED_BY_AN_EDGE.encode(), b"1")]}
            for region, remote in self.remote.items():
                asked[region] = _answer_of(remote, marked, body)
        answers = dict(zip(asked, await asyncio.gather(*asked.values()), strict=True))
        for region in self.remote:
            if region in answers and (why := answers[region].refusal) is not None:
                log.warning("region %s refused a password reset passed on to it: %s", region, why)
        refused = [answers[r] for r in self.hosted if answers[r].refusal is not None]
        chosen = refused[0] if refused else answers[self.settings.region]
        for message in chosen.messages:
            await send(message)

    async def _placed(self, body: bytes) -> str | None:
        """The region a request made before signing in is for: by the handle it names (the
        directory), else by the region its token names (a password reset's), else the
        country or region it names; None when it names none."""
        hints = hints_of(body)
        handle = hints.get("handle") or handle_of_pending(hints.get("mfaToken", ""))
        if handle and self.directory is not None:
            listed = await self.directory.by_handle(handle.strip().lower())
            if listed is not None and listed.region in self.apps:
                return listed.region
        issuer = region_of_token(hints.get("token", ""))
        if issuer in self.apps:
            return issuer
        if "country" in hints:
            try:
                region = self.geography.home_region(hints["country"])
            except ValidationFailed:
                return None  # the region's app refuses it with the reason
            return region if region in self.apps else None
        region = hints.get("homeRegion", "").strip().lower()
        return region if region in self.apps else None

    # --- sockets ----------------------------------------------------------------------------

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        token = QueryParams(scope.get("query_string", b"").decode("latin-1")).get("token")
        if token:
            await self._by_token(token, scope, receive, send)
        elif scope["path"] == "/graphql":
            await self._graphql_socket(scope, receive, send)
        else:
            await self.apps[self.settings.region](scope, receive, send)

    async def _graphql_socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not origin_allowed(scope, self.settings.allowed_origins()):
            await send({"type": "websocket.close", "code": CloseCode.POLICY})
            return
        connect = await receive()
        if connect["type"] != "websocket.connect":
            return
        offered = PROTOCOL if PROTOCOL in scope.get("subprotocols", ()) else None
        await send({"type": "websocket.accept", "subprotocol": offered})
        try:
            async with asyncio.timeout(self.settings.ws_init_timeout_s):
                first = await receive()
        except TimeoutError:
            await send({"type": "websocket.close", "code": CloseCode.INIT_TIMEOUT})
            return
        if first["type"] != "websocket.receive":
            return
        token = init_token(first)
        region = (region_of_token(token) if token else None) or self.settings.region
        app = self.apps.get(region)
        if app is None:
            await send({"type": "websocket.close", "code": CloseCode.UNAUTHORIZED})
            return
        queued = [connect, first]

        async def replayed() -> Message:
            return queued.pop(0) if queued else await receive()

        async def accepted_already(message: Message) -> None:
            if message["type"] != "websocket.accept":
                await send(message)

        await app(scope, replayed, accepted_already)


async def _read_body(receive: Receive, limit: int) -> tuple[bytes, bool, list[Message]]:
    """The request's body as far as `limit` bytes (more: whether the client sends on, which
    the app then reads itself and refuses for its size), and a message that ended it early
    (the client leaving)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False, [message]
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if not more or size > limit:
            return b"".join(chunks), more, []


def _replay(body: bytes, more: bool, early: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives the body read so far again, then carries on from the client."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": more}, *early]

    async def receive_again() -> Message:
        return pending.pop(0) if pending else await receive()

    return receive_again


class _Answer:
    """What an app sent back for one request, kept to be sent on (or not)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.sent = asyncio.Event()

    async def send(self, message: Message) -> None:
        self.messages.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.sent.set()

    @property
    def refusal(self) -> str | None:
        """Why the answer is not a 200 carrying data (an HTTP status, or the first GraphQL
        error's code), or None."""
        start = next((m for m in self.messages if m["type"] == "http.response.start"), None)
        if start is None or start["status"] != 200:
            return f"HTTP {start['status'] if start else 'nothing'}"
        body = b"".join(
            m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"
        )
        try:
            answer = orjson.loads(body)
        except orjson.JSONDecodeError:
            return "not JSON"
        if not isinstance(answer, dict):
            return "not a GraphQL answer"
        errors = answer.get("errors")
        if not errors:
            return None
        first = errors[0] if isinstance(errors, list) and errors else {}
        code = (first.get("extensions") or {}).get("code") if isinstance(first, dict) else None
        return str(code or "an error")


async def _answer_of(app: ASGIApp, scope: Scope, body: bytes) -> _Answer:
    """Run one request through `app` with the whole `body`, keeping its answer."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    answer = _Answer()

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        # The client is there until the answer is sent (an app listening for it to leave
        # hears so only then).
        await answer.sent.wait()
        return {"type": "http.disconnect"}

    await app(dict(scope), receive, answer.send)
    return answer


async def _wrong_region(scope: Scope, send: Send, region: str) -> None:
    message = f"this edge does not serve the region {region!r}: sign in again"
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": CloseCode.UNAUTHORIZED})
        return
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": "WRONG_REGION"}}]})
    await _respond(send, 421, body)


async def _respond(send: Callable[[Message], Awaitable[None]], status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
