"""The mapper opens each stored event once for all the log's followers, and never gives out
from memory what it opened before an erasure, nor anything older than a few seconds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from hugmood.eventstore import mapper as mapper_module
from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.eventstore.mapper import Mapper


class CountingCipher:
    """Opens by marking the data; counts what it was asked to open."""

    def __init__(self) -> None:
        self.opened: list[int] = []
        self.erased = False

    async def seal(self, events: Sequence[NewEvent]) -> list[NewEvent]:
        return list(events)

    async def open(self, events: Sequence[RecordedEvent]) -> list[RecordedEvent]:
        self.opened += [e.position for e in events]
        note = "" if self.erased else "in clear"
        return [e.with_data({**e.data, "note": note}) for e in events]


def event(position: int, event_type: str = "MoodRecorded") -> RecordedEvent:
    return RecordedEvent(
        uuid.uuid4(), event_type, 1, datetime.now(UTC), "u", {}, {}, "s", position, position
    )


async def test_followers_reading_the_same_events_have_each_opened_once() -> None:
    cipher = CountingCipher()
    mapper = Mapper(cipher=cipher)
    log = [event(p) for p in (1, 2, 3)]
    for _ in range(4):  # read models, live relay, edge, insights
        assert [e.data["note"] for e in await mapper.from_stored(log)] == ["in clear"] * 3
    assert cipher.opened == [1, 2, 3]


async def test_after_an_erasure_nothing_opened_before_it_is_given_out_again() -> None:
    cipher = CountingCipher()
    mapper = Mapper(cipher=cipher)
    old = [event(1), event(2)]
    await mapper.from_stored(old)
    cipher.erased = True  # the key is destroyed with the erasure
    await mapper.from_stored([event(3, "UserErased")])
    assert [e.data["note"] for e in await mapper.from_stored(old)] == ["", ""]
    # An erasure appended here empties the memory too.
    await mapper.from_stored(old)
    await mapper.to_stored(
        [NewEvent(uuid.uuid4(), "UserErased", 1, datetime.now(UTC), "u", {"userId": "u"})]
    )
    opened = len(cipher.opened)
    await mapper.from_stored(old)
    assert len(cipher.opened) == opened + 2


async def test_what_was_opened_is_forgotten_after_a_few_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cipher = CountingCipher()
    mapper = Mapper(cipher=cipher)
    clock = [100.0]
    monkeypatch.setattr("hugmood.eventstore.mapper.time.monotonic", lambda: clock[0])
    await mapper.from_stored([event(1)])
    clock[0] += mapper_module.OPENED_FOR_S + 0.1
    await mapper.from_stored([event(1)])
    assert cipher.opened == [1, 1]
