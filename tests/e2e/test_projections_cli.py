"""`hugmood projections rebuild` on a stopped server's data: every read answers the same after."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.client import (
    FRIENDS_FEED,
    ME,
    MOOD_ENTRY,
    USER_PAGE,
    GraphQLFailure,
    User,
    befriend,
    history,
    iso,
    record_mood,
    sign_up,
)
from tests.e2e.conftest import StartServer
from tests.e2e.server import run_cli

pytestmark = pytest.mark.e2e

CONNECTIONS = (
    "query($s: RelationshipStatus!) { connections(status: $s) { profile { handle } status } }"
)
EDIT = "mutation($input: EditMoodInput!) { editMood(input: $input) { id } }"
STATUS_LINE = re.compile(r"event log position: (\d+); read models at: (\d+)")


def build_history(ann: User, ben: User, cat: User, dan: User) -> list[str]:
    """Friendships, a pending request, a block, and entries recorded, edited and deleted."""
    befriend(ann, ben)
    cat.api("mutation($h: String!) { requestFriendship(handle: $h) { status } }", h=ann.handle)
    dan.api("mutation($h: String!) { blockUser(handle: $h) { status } }", h=ann.handle)
    ann.api('mutation { updateProfile(input: {displayName: "Ann B.", bio: "here"}) { bio } }')
    now = datetime.now(UTC)
    ids = []
    for i, user in enumerate([ann, ben, cat, dan] * 4):
        entry = record_mood(
            user,
            moodType=["calm", "joyful", "anxious", "tired"][i % 4],
            intensity=(i % 10) / 10,
            privacy=["PRIVATE", "FRIENDS_ONLY", "PUBLIC"][i % 3],
            note=f"note {i}",
            contextFactors={"tags": [f"t{i % 3}"], "weather": "sunny"},
            recordedAt=iso(now - timedelta(hours=11 * i)),
        )
        ids.append(entry["id"])
    ann.api(EDIT, input={"id": ids[0], "privacy": "PUBLIC", "note": "edited"})
    ben.api(EDIT, input={"id": ids[1], "clearNote": True, "intensity": 1.0})
    cat.api("mutation($id: ID!) { deleteMood(id: $id) }", id=ids[2])
    return ids


def everything_seen(users: list[User], entry_ids: list[str]) -> dict[str, Any]:
    """What every user sees through every read path (refusals by their code)."""
    seen: dict[str, Any] = {}
    for viewer in users:
        mine: dict[str, Any] = {"me": viewer.api(ME), "feed": viewer.api(FRIENDS_FEED, limit=100)}
        for status in ("FRIENDS", "REQUESTED", "INCOMING", "BLOCKED"):
            mine[f"connections {status}"] = viewer.api(CONNECTIONS, s=status)
        for owner in users:
            for aggregation, zone in (("NONE", "UTC"), ("DAY", "Europe/Paris"), ("WEEK", "UTC")):
                key = f"history {owner.handle} {aggregation}"
                try:
                    mine[key] = history(
                        viewer, owner.handle, aggregation=aggregation, time_zone=zone
                    )
                except GraphQLFailure as refused:
                    mine[key] = refused.code
            page = viewer.api.attempt(USER_PAGE, handle=owner.handle)
            mine[f"page {owner.handle}"] = page if isinstance(page, dict) else page.code
        for entry_id in entry_ids:
            entry = viewer.api.attempt(MOOD_ENTRY, id=entry_id)
            mine[f"entry {entry_id}"] = entry if isinstance(entry, dict) else entry.code
        seen[viewer.handle] = mine
    return seen


def test_rebuilding_read_models_offline_changes_no_answer(
    start_server: StartServer, backend: dict[str, str]
) -> None:
    server = start_server(backend)
    users = [sign_up(server, p) for p in ("ann", "ben", "cat", "dan")]
    entry_ids = build_history(*users)
    before = everything_seen(users, entry_ids)
    ann, cat, dan = users[0].handle, users[2].handle, users[3].handle
    assert len(before[ann][f"history {ann} NONE"]["entries"]) == 4, "the snapshot must see data"
    assert before[ann][f"page {dan}"] == "NOT_FOUND"
    assert before[cat][f"entry {entry_ids[2]}"] == "NOT_FOUND", "deleted"
    log_position = server.event_log_position()
    server.stop()

    rebuilt = run_cli("projections", "rebuild", env=server.env)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert re.search(r"rebuilt every read model from [1-9]\d* events", rebuilt.stderr)
    status = run_cli("projections", "status", env=server.env)
    assert status.returncode == 0, status.stderr
    found = STATUS_LINE.search(status.stderr)
    assert found is not None, status.stderr
    assert int(found[1]) == int(found[2]) == log_position

    server.start()

    assert server.health()["readModelsLag"] == 0
    assert everything_seen(users, entry_ids) == before
