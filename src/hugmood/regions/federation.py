"""How one region reaches the others (the `Federation` port): the directory says where a person
lives, and a call goes to that region's federation endpoint (`application.federation`) —
directly when the region is hosted in this process, over HTTP when it is a deployment of its
own. A call over HTTP is signed with the key the deployments share
(`HUGMOOD_FEDERATION_KEY`: HMAC-SHA256 over the region, the time and the body), and refused
when its signature is wrong or it is more than a minute old.

A region's refusal comes back as the same error (code, message, field); a region that cannot
be reached is `RegionUnreachable`, a `BackendUnavailable` (UNAVAILABLE: nothing was done)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

import httpx
import orjson
from starlette.types import ASGIApp

from hugmood.domain import errors
from hugmood.regions.board_links import BoardLink, InProcessLink, WebsocketLink, local_scope
from hugmood.regions.directory import Directory
from hugmood.regions.signatures import SIGNATURE_HEADER, RegionUnreachable, sign, signed, verify

__all__ = ["SIGNATURE_HEADER", "RegionUnreachable", "sign", "signed", "verify"]

log = logging.getLogger(__name__)

PATH = "/federation"


class Peer(Protocol):
    """One other region."""

    async def call(self, op: str, payload: dict[str, Any]) -> dict[str, Any]: ...

    async def open_board(self, board_id: str, user_id: str) -> BoardLink:
        """A socket on one of its boards, for `user_id` of the calling region."""
        ...


@runtime_checkable
class ClosingPeer(Peer, Protocol):
    """A peer that holds a connection open until closed."""

    async def close(self) -> None: ...


Endpoint = Callable[[str, dict[str, Any], str], Awaitable[dict[str, Any]]]
"""A region's federation endpoint: (operation, payload, calling region) → answer."""


class LocalPeer:
    """A region hosted in this process: its endpoint is called directly (found when called,
    since the regions start one after the other)."""

    def __init__(
        self,
        region: str,
        *,
        caller: str,
        endpoint: Callable[[], Endpoint | None],
        app: Callable[[], ASGIApp | None] = lambda: None,
    ) -> None:
        self.region = region
        self._caller = caller
        self._endpoint = endpoint
        self._app = app

    async def open_board(self, board_id: str, user_id: str) -> BoardLink:
        app = self._app()
        if app is None:
            raise RegionUnreachable(f"the region {self.region} is not running")
        return await InProcessLink.open(app, local_scope(board_id, self._caller, user_id))

    async def call(self, op: str, payload: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint()
        if endpoint is None:
            raise RegionUnreachable(f"the region {self.region} is not running")
        # Through JSON, as over the network: nothing shared by reference between regions.
        answer = await endpoint(op, orjson.loads(orjson.dumps(payload)), self._caller)
        return unwrap(orjson.loads(orjson.dumps(answer)))


class HttpPeer:
    """A region that is a deployment of its own, at `base_url`."""

    def __init__(self, region: str, base_url: str, *, key: str, caller: str) -> None:
        self.region = region
        self._base_url = base_url
        self._url = base_url.rstrip("/") + PATH
        self._key = key
        self._caller = caller
        self._client = httpx.AsyncClient(timeout=10.0)

    async def close(self) -> None:
        await self._client.aclose()

    async def open_board(self, board_id: str, user_id: str) -> BoardLink:
        return await WebsocketLink.open(
            self._base_url, board_id, user_id, key=self._key, caller=self._caller
        )

    async def call(self, op: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = orjson.dumps({"op": op, "payload": payload})
        header = signed(self._key, self._caller, body)
        try:
            response = await self._client.post(
                self._url,
                content=body,
                headers={SIGNATURE_HEADER: header, "content-type": "application/json"},
            )
        except httpx.HTTPError as e:
            raise RegionUnreachable(f"the region {self.region} cannot be reached") from e
        if response.status_code >= 500 and response.status_code != 503:
            raise RegionUnreachable(f"the region {self.region} failed ({response.status_code})")
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise RegionUnreachable(f"the region {self.region} answered no JSON") from None
        return unwrap(answer)


def unwrap(answer: Any) -> dict[str, Any]:
    """A region's answer (`{"result"}` or `{"error"}`) as the result or the error raised."""
    if not isinstance(answer, dict):
        raise RegionUnreachable("a region answered something that is not an object")
    error = answer.get("error")
    if isinstance(error, dict):
        code = str(error.get("code", ""))
        message = str(error.get("message", "another region refused"))
        if code == "UNAVAILABLE":
            raise RegionUnreachable(message)
        raise error_of(code)(message, field=error.get("field"), rule=error.get("rule"))
    result = answer.get("result", {})
    return result if isinstance(result, dict) else {}


def error_of(code: str) -> type[errors.HugMoodError]:
    """The error class whose code is `code` (the base class for one this version lacks)."""
    for cls in _subclasses(errors.HugMoodError):
        if cls.code == code:
            return cls
    return errors.HugMoodError


def _subclasses(cls: type[errors.HugMoodError]) -> list[type[errors.HugMoodError]]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


class RegionFederation:
    """The `Federation` port: this region, the directory, and a peer per other region."""

    def __init__(self, region: str, directory: Directory, peers: dict[str, Peer]) -> None:
        self.region = region
        self._directory = directory
        self._peers = peers

    def regions(self) -> list[str]:
        return sorted(self._peers)

    async def home_of(self, user_id: str) -> str | None:
        listing = await self._directory.by_user(user_id)
        if listing is None or listing.region == self.region:
            return None
        return listing.region

    async def handle_of(self, user_id: str) -> str | None:
        listing = await self._directory.by_user(user_id)
        return None if listing is None else listing.handle

    async def named(self, handle: str) -> tuple[str, str] | None:
        listing = await self._directory.by_handle(handle)
        if listing is None or listing.region == self.region:
            return None
        return listing.user_id, listing.region

    async def call(self, region: str, op: str, payload: dict[str, Any]) -> dict[str, Any]:
        return await self._peer(region).call(op, payload)

    async def open_board(self, region: str, board_id: str, user_id: str) -> BoardLink:
        return await self._peer(region).open_board(board_id, user_id)

    def _peer(self, region: str) -> Peer:
        peer = self._peers.get(region)
        if peer is None:
            raise RegionUnreachable(f"this region cannot reach the region {region}")
        return peer

    async def close(self) -> None:
        for peer in self._peers.values():
            if isinstance(peer, ClosingPeer):
                await peer.close()
