"""The coordinator as a service: consenting devices complete a secure-aggregation round whose
noised sum is published as a version and announced live; a device without consent, a stale
version, a replayed update, a malformed one and a straggler each get their clear outcome; a
coordinator restarted mid-round ends the round as abandoned and counts nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from hugmood.blobs.memory import InMemoryBlobStore
from hugmood.eventstore.envelope import NewEvent
from hugmood.eventstore.mapper import MappedEventStore, Mapper
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.eventstore.upcasting import NO_UPCASTERS
from hugmood.learning import model, secagg
from hugmood.learning.aggregation import UpdateRejected
from hugmood.learning.journal import STREAM
from hugmood.learning.privacy import GaussianAggregate
from hugmood.learning.secure_round import Phase, Report, context
from hugmood.learning.service import (
    VERSIONS_CHANNEL,
    FederatedLearning,
    LearningSettings,
    client_id,
)
from hugmood.learning.simulation import Person, simulate
from hugmood.realtime.memory import InMemoryRealtimeHub

ROUND_S = 40.0


@dataclass
class Clock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    service: FederatedLearning
    clock: Clock
    store: MappedEventStore
    blobs: InMemoryBlobStore
    live: InMemoryRealtimeHub
    people: tuple[Person, ...]
    heard: list[dict[str, object]] = field(default_factory=list)


NOISE = 0.5
"""Noise this small keeps one round within epsilon 8 only at delta = 1/30 or more: the
published-version test takes 30 devices (with three, noise of any private size swamps the
sum and the gate rightly refuses the candidate)."""


def _settings() -> LearningSettings:
    return LearningSettings(round_seconds=ROUND_S, noise_multiplier=NOISE, tick_seconds=60)


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    population = simulate(30, seed=5, validation_people=20)
    store = MappedEventStore(InMemoryEventStore(), Mapper(NO_UPCASTERS))
    blobs = InMemoryBlobStore()
    live = InMemoryRealtimeHub()
    clock = Clock()
    service = FederatedLearning(
        store,
        blobs,
        live,
        _settings(),
        clock=clock,
        rng=np.random.default_rng(2),
        validation=population.validation,
    )
    async with service:
        yield Harness(service, clock, store, blobs, live, population.people)
    await live.close()


@dataclass
class Device:
    """A device driven through the service's calls, as the HTTP paths make them."""

    person: str
    name: str
    data: model.Examples
    held_out: model.Examples
    key: secagg.MaskingKey = field(default_factory=secagg.MaskingKey.generate)
    transport: X25519PrivateKey = field(default_factory=X25519PrivateKey.generate)
    client: secagg.Client | None = None

    def keys(self) -> tuple[bytes, bytes]:
        return (
            self.key.public,
            self.transport.public_key().public_bytes_raw(),
        )

    def view(self, status: dict[str, Any]) -> dict[str, Any]:
        view = status["round"]
        assert isinstance(view, dict)
        return view


async def _consenting(h: Harness, count: int) -> list[Device]:
    devices = []
    for n in range(count):
        d = Device(f"person-{n}", f"device-{n}", h.people[n].train, h.people[n].held_out)
        await h.service.set_consent(d.person, True)
        await h.service.register(d.person, d.name, model.PARAMETERS)
        devices.append(d)
    return devices


def _row(d: Device, theta: model.Vector) -> secagg.Words:
    local = model.train(theta, d.data, epochs=2, rng=np.random.default_rng(1))
    return secagg.to_fixed(GaussianAggregate(1.0, NOISE).row(local - theta, len(d.data)))


async def _round(
    h: Harness,
    devices: list[Device],
    *,
    drop: frozenset[str] = frozenset(),
    worse_on_devices: bool = False,
) -> int:
    """Every device through one round (those in `drop` vanish after sharing); with
    `worse_on_devices`, they report the candidate as doing worse on their held-out check-ins
    than the current version."""
    s = h.service
    await s.advance()
    first = await s.status(devices[0].person, devices[0].name)
    view = first["round"]
    assert isinstance(view, dict) and view["phase"] == "join"
    number, version = int(view["round"]), int(view["version"])
    theta = s.durable.coordinator.current.parameters
    for d in devices:
        await s.join(d.person, d.name, number, version, d.keys())
    await s.advance()
    for d in devices:
        v = d.view(await s.status(d.person, d.name))
        assert v["phase"] == "share"
        d.client = secagg.Client.with_keys(
            int(v["index"]),
            int(v["clients"]),
            int(v["degree"]),
            context(number, version),
            key=d.key,
            transport=d.transport,
        )
        transports = {int(i): _b(k) for i, k in v["transportKeys"].items()}
        bundles = d.client.share(transports)
        await s.share(d.person, d.name, number, [(b.holder, b.ciphertext) for b in bundles])
    await s.advance()
    for d in devices:
        if d.name in drop:
            continue
        v = d.view(await s.status(d.person, d.name))
        assert v["phase"] == "mask" and d.client is not None
        transports = {int(i): _b(k) for i, k in v["transportKeys"].items()}
        for bundle in v["bundles"]:
            d.client.hold(
                secagg.SealedBundle(bundle["owner"], d.client.index, _b(bundle["ciphertext"])),
                transports,
            )
        publics = {int(i): _b(k) for i, k in v["publicKeys"].items()}
        words = d.client.masked(_row(d, theta), publics)
        await s.mask(d.person, d.name, number, version, str(uuid.uuid4()), words)
    h.clock.now += ROUND_S / 5 if drop else 0  # the stragglers' time runs out
    await s.advance()
    for d in devices:
        if d.name in drop:
            continue
        v = d.view(await s.status(d.person, d.name))
        assert v["phase"] == "unmask" and d.client is not None
        shares = d.client.reveal(set(v["survivors"]), set(v["dropped"]))
        await s.reveal(d.person, d.name, number, shares)
    await s.advance()
    for d in devices:
        if d.name in drop:
            continue
        v = d.view(await s.status(d.person, d.name))
        assert v["phase"] == "evaluate"
        candidate = np.frombuffer(_b(v["candidate"]), dtype="<f8")
        current, held = model.evaluate(theta, d.held_out), model.evaluate(candidate, d.held_out)
        if worse_on_devices:
            held, current = current, held
        report = Report(len(d.held_out), held, current)
        await s.evaluation(d.person, d.name, number, report)
    await s.advance()
    return number


def _b(text: object) -> bytes:
    import base64

    assert isinstance(text, str)
    return base64.b64decode(text)


async def test_consenting_devices_publish_a_version_that_is_announced_live(
    harness: Harness,
) -> None:
    devices = await _consenting(harness, 30)
    async with harness.live.subscribe([VERSIONS_CHANNEL]) as announcements:
        number = await _round(harness, devices)
        _, message = await asyncio.wait_for(anext(aiter(announcements)), 5)
    status = await harness.service.status(devices[0].person, devices[0].name)
    assert status["rounds"][0] == {"round": number, "outcome": "published", "participants": 30}
    assert message == {"version": 1, "epsilon": status["version"]["epsilon"]}
    assert 0 < status["version"]["epsilon"] <= 8


async def test_a_candidate_worse_on_the_devices_held_out_check_ins_is_not_published(
    harness: Harness,
) -> None:
    devices = await _consenting(harness, 30)
    number = await _round(harness, devices, worse_on_devices=True)
    status = await harness.service.status("person-0", "device-0")
    assert status["rounds"][0] == {"round": number, "outcome": "not-improved", "participants": 30}
    assert status["version"]["number"] == 0
    # its noised sum left the coordinator (to be evaluated): the accountant counted it
    events = await harness.store.read_stream(STREAM)
    assert [e.event_type for e in events].count("ModelCandidateReleased") == 1


async def test_a_device_dropped_after_sharing_is_left_out_and_the_round_still_closes(
    harness: Harness,
) -> None:
    devices = await _consenting(harness, 4)
    number = await _round(harness, devices, drop=frozenset({"device-3"}))
    status = await harness.service.status("person-0", "device-0")
    closed = status["rounds"][0]
    assert closed["round"] == number and closed["participants"] == 3
    assert closed["outcome"] in ("published", "not-improved")


async def test_refusals_carry_their_codes(harness: Harness) -> None:
    devices = await _consenting(harness, 3)
    s = harness.service
    with pytest.raises(UpdateRejected) as refused:
        await s.register("stranger", "phone", model.PARAMETERS)
    assert refused.value.code == "NO_CONSENT"
    with pytest.raises(UpdateRejected) as refused:
        await s.join("stranger", "phone", 1, 0, devices[0].keys())
    assert refused.value.code == "NOT_REGISTERED"
    # another person cannot act for someone's device by naming it
    with pytest.raises(UpdateRejected) as refused:
        await s.join("person-1", "device-0", 1, 0, devices[0].keys())
    assert refused.value.code == "NOT_REGISTERED"
    await s.advance()
    with pytest.raises(UpdateRejected) as refused:
        await s.join("person-0", "device-0", 1, 7, devices[0].keys())
    assert refused.value.code == "STALE_VERSION"
    with pytest.raises(UpdateRejected) as refused:
        await s.join("person-0", "device-0", 9, 0, devices[0].keys())
    assert refused.value.code == "NO_OPEN_ROUND"
    with pytest.raises(UpdateRejected) as refused:
        await s.mask("person-0", "device-0", 1, 0, "u1", np.zeros(3, dtype=np.uint64))
    assert refused.value.code == "WRONG_PHASE"
    # one update a person a round: a second device of theirs cannot join the same round
    await s.register("person-0", "tablet", model.PARAMETERS)
    await s.join("person-0", "device-0", 1, 0, devices[0].keys())
    with pytest.raises(UpdateRejected) as refused:
        await s.join("person-0", "tablet", 1, 0, devices[0].keys())
    assert refused.value.code == "ALREADY_SENT"


async def test_withdrawing_consent_leaves_a_device_out_and_stops_it(harness: Harness) -> None:
    devices = await _consenting(harness, 4)
    s = harness.service
    await s.advance()
    for d in devices:
        await s.join(d.person, d.name, 1, 0, d.keys())
    await s.set_consent("person-3", False)
    status = await s.status("person-3", "device-3")
    assert status["consent"] is False and status["registered"] is False
    assert status["round"]["joined"] is False
    with pytest.raises(UpdateRejected) as refused:
        await s.join("person-3", "device-3", 1, 0, devices[3].keys())
    assert refused.value.code == "NO_CONSENT"
    await s.advance()
    assert s._secure is not None and s._secure.clients == 3


async def test_masked_updates_are_checked_and_counted_once(harness: Harness) -> None:
    devices = await _consenting(harness, 3)
    s = harness.service
    await s.advance()
    for d in devices:
        await s.join(d.person, d.name, 1, 0, d.keys())
    await s.advance()
    secure = s._secure
    assert secure is not None
    for d in devices:
        index = secure.members[client_id(d.person, d.name)]
        near = secagg.neighbours(index, 3, 20)
        await s.share(d.person, d.name, 1, [(j, b"x") for j in near])
    await s.advance()
    assert secure.phase is Phase.MASK
    length = model.PARAMETERS + 1
    with pytest.raises(UpdateRejected) as refused:
        await s.mask("person-0", "device-0", 1, 0, "u1", np.zeros(length - 1, dtype=np.uint64))
    assert refused.value.code == "BAD_SHAPE"
    with pytest.raises(UpdateRejected) as refused:
        await s.mask("person-0", "device-0", 1, 3, "u1", np.zeros(length, dtype=np.uint64))
    assert refused.value.code == "STALE_VERSION"
    await s.mask("person-0", "device-0", 1, 0, "u1", np.zeros(length, dtype=np.uint64))
    with pytest.raises(UpdateRejected) as refused:
        await s.mask("person-1", "device-1", 1, 0, "u1", np.zeros(length, dtype=np.uint64))
    assert refused.value.code == "REPLAYED"
    with pytest.raises(UpdateRejected) as refused:
        await s.mask("person-0", "device-0", 1, 0, "u2", np.zeros(length, dtype=np.uint64))
    assert refused.value.code == "ALREADY_SENT"
    await s.set_consent("person-2", False)
    with pytest.raises(UpdateRejected) as refused:
        await s.mask("person-2", "device-2", 1, 0, "u3", np.zeros(length, dtype=np.uint64))
    assert refused.value.code == "NO_CONSENT"


async def test_a_round_nobody_finishes_closes_at_its_deadline(harness: Harness) -> None:
    devices = await _consenting(harness, 3)
    s = harness.service
    await s.advance()
    await s.join(devices[0].person, devices[0].name, 1, 0, devices[0].keys())
    harness.clock.now += ROUND_S / 4 + 1
    await s.advance()
    status = await s.status("person-0", "device-0")
    assert status["rounds"][0]["outcome"] == "too-few-updates"


async def test_a_restarted_coordinator_abandons_the_open_round_and_refuses_its_update_ids(
    harness: Harness,
) -> None:
    devices = await _consenting(harness, 3)
    s = harness.service
    await s.advance()
    for d in devices:
        await s.join(d.person, d.name, 1, 0, d.keys())
    await s.advance()
    secure = s._secure
    assert secure is not None
    for d in devices:
        index = secure.members[client_id(d.person, d.name)]
        await s.share(d.person, d.name, 1, [(j, b"x") for j in secagg.neighbours(index, 3, 20)])
    await s.advance()
    words = np.zeros(model.PARAMETERS + 1, dtype=np.uint64)
    await s.mask("person-0", "device-0", 1, 0, "before-crash", words)
    # a new process on the same store, as after a SIGKILL
    again = FederatedLearning(
        harness.store,
        harness.blobs,
        harness.live,
        _settings(),
        clock=harness.clock,
        validation=simulate(0, seed=5, validation_people=5).validation,
    )
    async with again:
        status = await again.status("person-0", "device-0")
        assert status["rounds"][0] == {"round": 1, "outcome": "abandoned", "participants": 1}
        assert status["registered"] and status["consent"]
        await again.advance()
        for d in devices:
            await again.join(d.person, d.name, 2, 0, d.keys())
        await again.advance()
        secure = again._secure
        assert secure is not None
        for d in devices:
            index = secure.members[client_id(d.person, d.name)]
            near = secagg.neighbours(index, 3, 20)
            await again.share(d.person, d.name, 2, [(j, b"x") for j in near])
        await again.advance()
        with pytest.raises(UpdateRejected) as refused:
            await again.mask("person-0", "device-0", 2, 0, "before-crash", words)
        assert refused.value.code == "REPLAYED"
    events = await harness.store.read_stream(STREAM)
    accepted = [e for e in events if e.event_type == "ModelUpdateAccepted"]
    assert [e.data["updateId"] for e in accepted] == ["before-crash"]


async def test_an_erased_account_is_forgotten_and_stays_forgotten(harness: Harness) -> None:
    devices = await _consenting(harness, 4)
    s = harness.service
    await s.advance()  # round 1 opens
    for d in devices:
        await s.join(d.person, d.name, 1, 0, d.keys())
    erased = NewEvent(
        uuid.uuid4(),
        "UserErased",
        1,
        datetime.now(UTC),
        "person-3",
        {"userId": "person-3", "handle": "gone"},
    )
    await harness.store.append("user-person-3", [erased], expected_version=None)
    await s.advance()
    status = await s.status("person-3", "device-3")
    assert status["consent"] is False and status["registered"] is False
    assert status["devices"] == 3
    assert s._secure is not None and s._secure.clients == 3  # left out of the round
    events = await harness.store.read_stream(STREAM)
    forgotten = [e.data for e in events if e.event_type == "ModelPersonForgotten"]
    assert [(f["person"], f["clients"]) for f in forgotten] == [("person-3", ["person-3/device-3"])]
    again = FederatedLearning(
        harness.store,
        harness.blobs,
        harness.live,
        _settings(),
        clock=harness.clock,
        validation=simulate(0, seed=5, validation_people=5).validation,
    )
    async with again:
        status = await again.status("person-3", "device-3")
        assert status["consent"] is False and status["registered"] is False
        with pytest.raises(UpdateRejected) as refused:
            await again.join("person-3", "device-3", 2, 0, devices[3].keys())
        assert refused.value.code == "NOT_REGISTERED"


async def test_a_person_registers_at_most_ten_devices_and_one_joins_for_all(
    harness: Harness,
) -> None:
    devices = await _consenting(harness, 3)
    s = harness.service
    for n in range(9):
        await s.register("person-0", f"spare-{n}", model.PARAMETERS)
    with pytest.raises(UpdateRejected) as refused:
        await s.register("person-0", "one-too-many", model.PARAMETERS)
    assert refused.value.code == "TOO_MANY_DEVICES"
    await s.register("person-0", "spare-0", model.PARAMETERS)  # again: not a new device
    await s.advance()
    for d in devices:
        await s.join(d.person, d.name, 1, 0, d.keys())
    await s.advance()  # every consenting person has a device in: no wait for the deadline
    assert s._secure is not None and s._secure.phase is Phase.SHARE
