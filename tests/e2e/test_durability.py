"""Acknowledged check-ins survive a crash, and a device's retry after it stores nothing twice."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.client import (
    ME,
    MOOD_ENTRY,
    RECORD_MOOD,
    GraphQLClient,
    GraphQLFailure,
    history,
    iso,
    log_in,
    new_entry_id,
    record_mood,
    sign_up,
)
from tests.e2e.conftest import StartServer

pytestmark = pytest.mark.e2e

CHECK_INS = 50
SENT_ONE_BY_ONE = 10
CONCURRENT_CLIENTS = 8
IN_FLIGHT = 120
ACKNOWLEDGED_BEFORE_CRASH = 20
MOODS = ["calm", "joyful", "anxious", "tired", "grateful"]
WEATHER = ["sunny", "rainy", None]
PRIVACY = ["PRIVATE", "FRIENDS_ONLY", "PUBLIC"]


def check_in(i: int, now: datetime) -> dict[str, Any]:
    """The i-th RecordMood input, as a device would send it (with its own entry id)."""
    return {
        "id": new_entry_id(),
        "moodType": MOODS[i % len(MOODS)],
        "intensity": round((i % 21) / 20, 4),
        "note": None if i % 4 == 0 else f"check-in {i}: ça va — 🌧️ then ☀️\nsecond line",
        "contextFactors": {
            "location": f"place {i % 3}",
            "weather": WEATHER[i % len(WEATHER)],
            "socialContext": "friends" if i % 2 else "alone",
            "tags": [f"tag{i % 5}", "e2e"],
        },
        "privacy": PRIVACY[i % len(PRIVACY)],
        "recordedAt": iso(now - timedelta(hours=i, milliseconds=i)),
    }


def test_acknowledged_check_ins_survive_sigkill_and_retries_store_them_once(
    start_server: StartServer, backend: dict[str, str]
) -> None:
    server = start_server(backend)
    ann = sign_up(server, "ann")
    inputs = [check_in(i, datetime.now(UTC)) for i in range(CHECK_INS)]

    acknowledged = [record_mood(ann, **i) for i in inputs[:SENT_ONE_BY_ONE]]
    with ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
        acknowledged += pool.map(lambda i: record_mood(ann, **i), inputs[SENT_ONE_BY_ONE:])
    for sent, ack in zip(inputs, acknowledged, strict=True):
        assert ack["id"] == sent["id"]
        assert (ack["moodType"], ack["intensity"], ack["privacy"], ack["note"]) == (
            sent["moodType"],
            sent["intensity"],
            sent["privacy"],
            sent["note"],
        )
        assert ack["contextFactors"] == sent["contextFactors"]
    by_id = {e["id"]: e for e in acknowledged}
    logged_out = GraphQLClient(server, log_in(server, ann.handle))
    logged_out("mutation { logOut }")
    log_position = server.event_log_position()

    server.restart_after_crash()

    assert server.event_log_position() == log_position
    assert ann.api(ME)["me"]["handle"] == ann.handle, "a session should survive a restart"
    assert logged_out.failure(ME).code == "UNAUTHENTICATED", "and a logout too"
    after_restart = history(ann)["entries"]
    assert {e["id"]: e for e in after_restart} == by_id
    assert len(after_restart) == CHECK_INS

    # A device that never saw the acknowledgement sends the same check-ins again.
    first, concurrent_retries = inputs[0], inputs[1:9]
    assert record_mood(ann, **first) == by_id[first["id"]]
    with ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
        retried = list(pool.map(lambda i: record_mood(ann, **i), concurrent_retries))
    assert retried == [by_id[i["id"]] for i in concurrent_retries]
    assert len(history(ann)["entries"]) == CHECK_INS
    assert server.event_log_position() == log_position


def test_check_ins_in_flight_at_a_crash_are_stored_once_when_the_device_retries(
    start_server: StartServer, backend: dict[str, str]
) -> None:
    server = start_server(backend)
    ann = sign_up(server, "ann")
    inputs = [check_in(i, datetime.now(UTC)) for i in range(IN_FLIGHT)]
    acknowledged: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()
    enough_acknowledged = threading.Event()

    def upload(sent: dict[str, Any]) -> None:
        try:
            entry = record_mood(ann, **sent)
        except httpx.TransportError:
            return  # the server died under this request: not acknowledged
        with lock:
            acknowledged[entry["id"]] = entry
            if len(acknowledged) >= ACKNOWLEDGED_BEFORE_CRASH:
                enough_acknowledged.set()

    with ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
        uploads = [pool.submit(upload, sent) for sent in inputs]
        assert enough_acknowledged.wait(timeout=60), "uploads did not get going"
        server.kill()
    for finished in uploads:
        finished.result()  # anything but a dropped connection fails the test
    assert len(acknowledged) < IN_FLIGHT, "the crash should have interrupted some uploads"

    server.start()
    stored = {e["id"]: e for e in history(ann)["entries"]}
    assert {i: stored.get(i) for i in acknowledged} == acknowledged

    # The device uploads everything it has no acknowledgement for... and, to be sure, the rest.
    with ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
        retried = list(pool.map(lambda i: record_mood(ann, **i), inputs))
    for sent, entry in zip(inputs, retried, strict=True):
        assert entry["id"] == sent["id"]
        assert (entry["moodType"], entry["intensity"], entry["note"], entry["privacy"]) == (
            sent["moodType"],
            sent["intensity"],
            sent["note"],
            sent["privacy"],
        )
        if sent["id"] in acknowledged:
            assert entry == acknowledged[sent["id"]]
    after_retries = history(ann)["entries"]
    assert sorted(e["id"] for e in after_retries) == sorted(i["id"] for i in inputs)
    log_position = server.event_log_position()
    with ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
        list(pool.map(lambda i: record_mood(ann, **i), inputs))
    assert server.event_log_position() == log_position


def test_a_check_in_sent_with_an_uppercase_uuid_is_found_by_that_id(
    start_server: StartServer,
) -> None:
    """Devices often spell UUIDs in capitals (iOS `UUID().uuidString` does)."""
    server = start_server()
    ann = sign_up(server, "ann")
    device_id = str(uuid.uuid4()).upper()

    outcome = ann.api.attempt(
        RECORD_MOOD, input={"id": device_id, "moodType": "calm", "intensity": 0.4}
    )
    stored = [e["id"] for e in history(ann)["entries"]]
    assert not isinstance(outcome, GraphQLFailure), (
        f"recordMood(id: {device_id}) answered {outcome.code} '{outcome.message}', "
        f"yet the entry was stored (history ids: {stored}): the device will think it failed"
    )
    assert uuid.UUID(outcome["recordMood"]["id"]) == uuid.UUID(device_id)
    assert len(stored) == 1
    found = ann.api.attempt(MOOD_ENTRY, id=outcome["recordMood"]["id"])
    assert not isinstance(found, GraphQLFailure), f"the id it answered is not found: {found}"
    edit = "mutation($input: EditMoodInput!) { editMood(input: $input) { id intensity } }"
    edited = ann.api.attempt(edit, input={"id": device_id, "intensity": 0.9})
    assert not isinstance(edited, GraphQLFailure), f"editing by the device's id: {edited}"
    assert edited["editMood"]["intensity"] == 0.9
