"""Calls between regions over the machine's NATS (`regions.nats_federation`): a signed call is
answered with what the region's endpoint says; an unsigned, stale or malformed one is refused
and the responder keeps answering; nobody listening, a failing endpoint and an answer from
someone without the key all come back as `RegionUnreachable`, never as a result."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import nats
import orjson
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from hugmood.domain.errors import Forbidden
from hugmood.regions.federation import SIGNATURE_HEADER, RegionUnreachable, sign
from hugmood.regions.nats_federation import (
    FederationResponder,
    NatsLink,
    NatsPeer,
    federation_subject,
)
from tests.conftest import unique

KEY = "f" * 40


@dataclass
class Region:
    """A region's answers: who called and with what; a crash when asked to."""

    calls: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)

    async def endpoint(self, op: str, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        self.calls.append((op, payload, caller))
        if op == "crash":
            raise RuntimeError("a bug in the endpoint")
        if op == "refuse":
            return {"error": {"code": "FORBIDDEN", "message": "not friends", "field": "to"}}
        return {"result": {"echo": payload, "caller": caller}}


@dataclass
class Pair:
    nc: Client
    us: str
    eu: str
    region: Region
    peer: NatsPeer


@pytest.fixture
async def pair(nats_url: str) -> AsyncIterator[Pair]:
    """A US region answering on the machine's NATS, and the EU's peer calling it."""
    us, eu = unique("us"), unique("eu")
    nc = await nats.connect(nats_url)
    region = Region()
    link = NatsLink(nats_url, name="test federation")
    peer = NatsPeer(us, link, key=KEY, caller=eu, timeout_s=5.0)
    try:
        async with FederationResponder(nc, region.endpoint, region=us, key=KEY):
            yield Pair(nc, us, eu, region, peer)
    finally:
        await peer.close()
        await nc.close()


async def raw_call(pair: Pair, body: bytes, signature: str | None) -> dict[str, Any]:
    headers = {SIGNATURE_HEADER: signature} if signature is not None else None
    reply = await pair.nc.request(federation_subject(pair.us), body, timeout=5, headers=headers)
    answer: dict[str, Any] = orjson.loads(reply.data)
    return answer


def signed(region: str, body: bytes, *, key: str = KEY, at: float | None = None) -> str:
    stamp = f"{time.time() if at is None else at:.3f}"
    return f"{region}:{stamp}:{sign(key, region, stamp, body)}"


async def test_a_signed_call_gets_the_regions_answer_with_the_caller_named(pair: Pair) -> None:
    assert await pair.peer.call("profile", {"of": "u-1"}) == {
        "echo": {"of": "u-1"},
        "caller": pair.eu,
    }
    assert pair.region.calls == [("profile", {"of": "u-1"}, pair.eu)]


async def test_a_refusal_comes_back_as_the_same_error(pair: Pair) -> None:
    with pytest.raises(Forbidden) as refused:
        await pair.peer.call("refuse", {})
    assert (refused.value.message, refused.value.field) == ("not friends", "to")


async def test_unsigned_stale_and_wrongly_signed_calls_are_refused(pair: Pair) -> None:
    body = orjson.dumps({"op": "profile", "payload": {}})
    unsigned = await raw_call(pair, body, None)
    stale = await raw_call(pair, body, signed(pair.eu, body, at=time.time() - 120))
    wrong_key = await raw_call(pair, body, signed(pair.eu, body, key="g" * 40))
    other_body = await raw_call(pair, body, signed(pair.eu, b"{}"))
    for answer in (unsigned, stale, wrong_key, other_body):
        assert answer["error"]["code"] == "UNAUTHENTICATED"
    assert pair.region.calls == []


async def test_malformed_calls_are_refused_and_the_responder_keeps_answering(pair: Pair) -> None:
    for body in (b"not json", b"[1, 2]", b'{"op": "profile"}', b'{"op": 3, "payload": {}}'):
        answer = await raw_call(pair, body, signed(pair.eu, body))
        assert answer["error"]["code"] == "VALIDATION", body
    # A region never calls itself: a call signed as the answering region is refused too.
    body = orjson.dumps({"op": "profile", "payload": {}})
    assert (await raw_call(pair, body, signed(pair.us, body)))["error"]["code"] == "VALIDATION"
    assert pair.region.calls == []
    assert (await pair.peer.call("profile", {"n": 1}))["echo"] == {"n": 1}


async def test_a_failing_endpoint_is_unreachable_and_the_next_call_is_answered(
    pair: Pair,
) -> None:
    with pytest.raises(RegionUnreachable, match="failed to answer"):
        await pair.peer.call("crash", {})
    assert (await pair.peer.call("profile", {"n": 2}))["echo"] == {"n": 2}


async def test_a_region_nobody_answers_for_is_unreachable_at_once(nats_url: str) -> None:
    peer = NatsPeer(unique("gone"), NatsLink(nats_url, name="test"), key=KEY, caller="eu-west")
    try:
        # Told by the server at once ("no responders"), not found out by a timeout.
        with pytest.raises(RegionUnreachable, match="no process"):
            await peer.call("profile", {})
    finally:
        await peer.close()


async def test_an_answer_from_someone_without_the_key_is_never_taken(nats_url: str) -> None:
    target = unique("us")
    nc = await nats.connect(nats_url)

    async def impostor(msg: Msg) -> None:
        await msg.respond(orjson.dumps({"result": {"friends": True}}))

    await nc.subscribe(federation_subject(target), cb=impostor)
    await nc.flush()
    peer = NatsPeer(target, NatsLink(nats_url, name="test"), key=KEY, caller="eu-west")
    try:
        with pytest.raises(RegionUnreachable, match="refused"):
            await peer.call("friendship", {})
    finally:
        await peer.close()
        await nc.close()


async def test_nats_away_makes_every_region_unreachable() -> None:
    link = NatsLink("nats://127.0.0.1:1", name="test")
    peer = NatsPeer("us-east", link, key=KEY, caller="eu-west")
    with pytest.raises(RegionUnreachable, match="cannot be reached"):
        await peer.call("profile", {})
    await peer.close()
