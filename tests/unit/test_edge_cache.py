"""The edge's tagged cache: an event about someone drops their entries at once, and a value
loaded before a change the cache was told about is never kept."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from hugmood.application.queries.identity import Principal
from hugmood.edge.follower import people_named
from hugmood.edge.sessions import VerifiedSessions
from hugmood.edge.tagged import TaggedCache
from hugmood.eventstore.envelope import RecordedEvent


def cache() -> TaggedCache[str, str]:
    return TaggedCache("test", max_entries=3, ttl_s=60)


def test_a_change_to_someone_drops_every_entry_about_them() -> None:
    c = cache()
    assert c.put("page:ann", "ann's page", ("ann",), loaded_at=5)
    assert c.put("pair:ben-ann", "strangers", ("ben", "ann"), loaded_at=5)
    assert c.put("page:cat", "cat's page", ("cat",), loaded_at=5)
    c.changed("ann", position=6)
    assert c.get("page:ann") is None
    assert c.get("pair:ben-ann") is None
    assert c.get("page:cat") == "cat's page"


def test_a_value_read_before_a_known_change_is_not_kept() -> None:
    c = cache()
    c.changed("ann", position=10)
    assert not c.put("page:ann", "stale", ("ann",), loaded_at=9)
    assert c.get("page:ann") is None
    assert c.put("page:ann", "fresh", ("ann",), loaded_at=10)
    assert c.get("page:ann") == "fresh"


def test_clearing_refuses_anything_loaded_before_it() -> None:
    c = cache()
    c.put("page:ann", "ann", ("ann",), loaded_at=3)
    c.clear(position=7)
    assert c.get("page:ann") is None
    assert not c.put("page:ann", "old", ("ann",), loaded_at=6)


def test_it_holds_at_most_its_size_and_counts_hits_and_misses() -> None:
    c = cache()
    for n in range(5):
        c.put(f"k{n}", "v", (f"p{n}",), loaded_at=1)
    assert len(c) == 3
    assert c.get("k0") is None and c.get("k4") == "v"
    assert (c.hits, c.misses) == (1, 1)


def event(event_type: str, user_id: str | None, data: dict[str, object]) -> RecordedEvent:
    return RecordedEvent(
        event_id=uuid.uuid4(),
        event_type=event_type,
        version=1,
        timestamp=datetime.now(UTC),
        user_id=user_id,
        data=data,
        metadata={},
        stream_id="s",
        stream_version=1,
        position=1,
    )


def test_an_event_names_its_user_and_every_id_in_its_data() -> None:
    e = event(
        "UserBlocked", "ann", {"blockerId": "ann", "blockedId": "ben", "x": {"ownerIds": ["cat"]}}
    )
    assert set(people_named(e)) == {"ann", "ben", "cat"}


def test_a_session_that_ended_is_never_vouched_for() -> None:
    sessions = VerifiedSessions(grace_s=60)
    sessions.verified("digest", Principal("ann-id", "s1", "ann"))
    assert sessions.vouch("digest") == Principal("ann-id", "s1", "ann")
    sessions.ended("s1")
    assert sessions.vouch("digest") is None
    assert VerifiedSessions(grace_s=0).vouch("digest") is None


def test_a_session_started_through_any_edge_is_vouched_for_until_it_expires() -> None:
    sessions = VerifiedSessions(grace_s=60)
    now_ms = int(time.time() * 1000)
    sessions.started("fresh", "ann-id", "s1", expires_at_ms=now_ms + 60_000)
    sessions.started("expired", "ann-id", "s2", expires_at_ms=now_ms - 1)
    found = sessions.vouch("fresh")
    assert found is not None and found.user_id == "ann-id"
    assert sessions.vouch("expired") is None
