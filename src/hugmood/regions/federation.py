"""How one region reaches the others (the `Federation` port): the directory says where a person
lives, and a call goes to that region's federation endpoint (`application.federation`) —
directly when the region is hosted in this process, over HTTP when it is a deployment of its
own. A call over HTTP is signed with the key the deployments share
(`HUGMOOD_FEDERATION_KEY`: HMAC-SHA256 over the region, the time and the body), and refused
when its signature is wrong or it is more than a minute old.

A region's refusal comes back as the same error (code, message, field); a region that cannot
be reached is `RegionUnreachable`, a `BackendUnavailable` (UNAVAILABLE: nothing was done)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import httpx
import orjson

from hugmood.domain import errors
from hugmood.regions.directory import Directory
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "x-hugmood-federation"
MAX_SKEW_S = 60.0
PATH = "/federation"


class RegionUnreachable(BackendUnavailable):
    """Another region could not be reached; nothing was done there."""


class Peer(Protocol):
    """One other region."""

    async def call(self, op: str, payload: dict[str, Any]) -> dict[str, Any]: ...


Endpoint = Callable[[str, dict[str, Any], str], Awaitable[dict[str, Any]]]
"""A region's federation endpoint: (operation, payload, calling region) → answer."""


class LocalPeer:
    """A region hosted in this process: its endpoint is called directly (found when called,
    since the regions start one after the other)."""

    def __init__(
        self, region: str, *, caller: str, endpoint: Callable[[], Endpoint | None]
    ) -> None:
        self.region = region
        self._caller = caller
        self._endpoint = endpoint

    async def call(self, op: str, payload: dict[str, Any]) -> dict[str, Any]:
        endpoint = self._endpoint()
        if endpoint is None:
            raise RegionUnreachable(f"the region {self.region} is not running")
        # Through JSON, as over the network: nothing shared by reference between regions.
        answer = await endpoint(op, orjson.loads(orjson.dumps(payload)), self._caller)
        return _unwrap(orjson.loads(orjson.dumps(answer)))


def sign(key: str, region: str, at: str, body: bytes) -> str:
    message = region.encode() + b"\n" + at.encode() + b"\n" + body
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def verify(key: str, header: str | None, body: bytes, now: float | None = None) -> str:
    """The calling region, if `header` (`<region>:<unix time>:<hex signature>`) signs `body`
    with `key` and is fresh; ValueError otherwise."""
    region, _, rest = (header or "").partition(":")
    at, _, signature = rest.partition(":")
    try:
        age = abs((time.time() if now is None else now) - float(at))
    except ValueError:
        raise ValueError("malformed federation signature") from None
    if age > MAX_SKEW_S:
        raise ValueError("stale federation call")
    if not hmac.compare_digest(sign(key, region, at, body), signature):
        raise ValueError("wrong federation signature")
    return region


class HttpPeer:
    """A region that is a deployment of its own, at `base_url`."""

    def __init__(self, region: str, base_url: str, *, key: str, caller: str) -> None:
        self.region = region
        self._url = base_url.rstrip("/") + PATH
        self._key = key
        self._caller = caller
        self._client = httpx.AsyncClient(timeout=10.0)

    async def close(self) -> None:
        await self._client.aclose()

    async def call(self, op: str, payload: dict[str, Any]) -> dict[str, Any]:
        body = orjson.dumps({"op": op, "payload": payload})
        at = f"{time.time():.3f}"
        header = f"{self._caller}:{at}:{sign(self._key, self._caller, at, body)}"
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
        return _unwrap(answer)


def _unwrap(answer: Any) -> dict[str, Any]:
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
        peer = self._peers.get(region)
        if peer is None:
            raise RegionUnreachable(f"this region cannot reach the region {region}")
        return await peer.call(op, payload)

    async def close(self) -> None:
        for peer in self._peers.values():
            if isinstance(peer, HttpPeer):
                await peer.close()
