"""Convergence fuzzing: five board replicas edit at random over a network that reorders,
duplicates, drops (and later resends) updates and disconnects replicas; once everything is
delivered and every replica has reconnected, all five hold the same items and state vector.

Messages travel as the board socket's wire messages (`hugmood.boards.protocol`), so the
framing the server reads is exercised along the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map

from hugmood.boards.model import items_of, note, sticker
from hugmood.boards.protocol import SyncMessage, SyncType, parse, state_vector, sync_message

REPLICAS = 5
KEYS = [f"item-{i}" for i in range(6)]
LIMIT = 1 << 20


@dataclass
class Network:
    docs: list[Doc[Any]] = field(default_factory=lambda: [Doc() for _ in range(REPLICAS)])
    online: list[bool] = field(default_factory=lambda: [True] * REPLICAS)
    in_flight: list[tuple[int, bytes]] = field(default_factory=list)
    dropped: list[tuple[int, bytes]] = field(default_factory=list)

    def edit(self, who: int, key: str, value: dict[str, Any] | None) -> None:
        doc = self.docs[who]
        before = doc.get_state()
        items = items_of(doc)
        if value is None:
            if key in items:
                del items[key]
        else:
            items[key] = value
        update = doc.get_update(before)
        if self.online[who]:
            for other in range(REPLICAS):
                if other != who:
                    self.in_flight.append((other, sync_message(SyncType.UPDATE, update)))

    def receive(self, who: int, message: bytes) -> None:
        if not self.online[who]:
            return  # lost on the way to a disconnected replica
        parsed = parse(message, max_bytes=LIMIT)
        assert isinstance(parsed, SyncMessage)
        self.docs[who].apply_update(parsed.payload)

    def reconnect(self, who: int) -> None:
        """What a Yjs client does on connecting: both sides send STEP1, both answer STEP2."""
        self.online[who] = True
        for other in range(REPLICAS):
            if other == who or not self.online[other]:
                continue
            for a, b in ((who, other), (other, who)):
                step1 = parse(
                    sync_message(SyncType.STEP1, self.docs[a].get_state()), max_bytes=LIMIT
                )
                assert isinstance(step1, SyncMessage)
                step2 = sync_message(SyncType.STEP2, self.docs[b].get_update(step1.payload))
                self.receive(a, step2)


values = st.one_of(
    st.none(),
    st.builds(
        lambda mood, x, y, by: sticker(mood, x=x, y=y, color="#a0b0c0", added_by=by, added_at=1),
        st.sampled_from(["calm", "joyful", "anxious", "tired"]),
        st.floats(-1000, 1000, allow_nan=False),
        st.integers(-1000, 1000),
        st.sampled_from(["ann", "ben"]),
    ),
    st.builds(
        lambda text: note(text, x=0, y=0, color="#ffffff", added_by="cat", added_at=2),
        st.text(max_size=30),
    ),
)

steps = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, REPLICAS - 1), st.sampled_from(KEYS), values),
    st.tuples(st.just("deliver"), st.integers(0, 10_000)),
    st.tuples(st.just("duplicate"), st.integers(0, 10_000)),
    st.tuples(st.just("drop"), st.integers(0, 10_000)),
    st.tuples(st.just("resend"), st.integers(0, 10_000)),
    st.tuples(st.just("disconnect"), st.integers(0, REPLICAS - 1)),
    st.tuples(st.just("reconnect"), st.integers(0, REPLICAS - 1)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(steps, max_size=80), st.randoms(use_true_random=False))
def test_five_replicas_converge_whatever_the_network_does(
    script: list[tuple[Any, ...]], rnd: Any
) -> None:
    net = Network()
    for step in script:
        match step:
            case ("edit", who, key, value):
                net.edit(who, key, value)
            case ("deliver", i) if net.in_flight:
                net.receive(*net.in_flight.pop(i % len(net.in_flight)))
            case ("duplicate", i) if net.in_flight:
                net.in_flight.append(net.in_flight[i % len(net.in_flight)])
            case ("drop", i) if net.in_flight:
                net.dropped.append(net.in_flight.pop(i % len(net.in_flight)))
            case ("resend", i) if net.dropped:
                net.in_flight.append(net.dropped.pop(i % len(net.dropped)))
            case ("disconnect", who):
                net.online[who] = False
            case ("reconnect", who):
                net.reconnect(who)

    # Everything dropped is resent, everything in flight arrives in a random order, and
    # every replica reconnects once.
    net.in_flight.extend(net.dropped)
    rnd.shuffle(net.in_flight)
    for who in range(REPLICAS):
        net.online[who] = True
    for target, message in net.in_flight:
        net.receive(target, message)
    for who in range(REPLICAS):
        net.reconnect(who)

    contents = [items_of(doc).to_py() or {} for doc in net.docs]
    states = [state_vector(doc.get_state()) for doc in net.docs]
    assert all(c == contents[0] for c in contents), contents
    assert all(s == states[0] for s in states)
    fresh: Doc[Map[Any]] = Doc()
    fresh.apply_update(net.docs[0].get_update())
    assert (items_of(fresh).to_py() or {}) == contents[0]
