"""Photos on check-ins over HTTP: the owner adds one; exactly those who may see the check-in
fetch it (it follows the entry's privacy, also when that changes); bad requests get a specific
error and store nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.client import User, befriend, record_mood, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_board_images import auth, gif, png, refused

pytestmark = pytest.mark.e2e

EDIT = "mutation($i: EditMoodInput!) { editMood(input: $i) { id privacy photo } }"
ENTRY = "query($id: ID!) { moodEntry(id: $id) { id photo } }"


def attach(
    server: HugMoodServer, entry_id: str, user: User | None, data: bytes, kind: str = "image/png"
) -> httpx.Response:
    return server.http.post(
        f"{server.url}/moods/{entry_id}/photo", content=data, headers=auth(user, kind)
    )


def fetch(server: HugMoodServer, path: str, user: User | None) -> httpx.Response:
    return server.http.get(server.url + path, headers=auth(user))


def test_a_photo_is_seen_by_exactly_those_who_may_see_its_check_in(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben, cat, dan = (sign_up(server, p) for p in ("ann", "ben", "cat", "dan"))
    befriend(ann, ben)
    befriend(ann, cat)
    ann.api("mutation($h: String!) { addCloseFriend(handle: $h) { handle } }", h=ben.handle)
    entry = record_mood(ann, moodType="hopeful", intensity=0.6, privacy="CLOSE_FRIENDS")["id"]
    image = png(16, 16)

    stored = attach(server, entry, ann, image)
    assert stored.status_code == 201, stored.text
    path = stored.json()["url"]
    assert stored.headers["location"] == path
    assert ann.api(ENTRY, id=entry)["moodEntry"]["photo"] == path
    assert ben.api(ENTRY, id=entry)["moodEntry"]["photo"] == path

    def who_sees() -> dict[str, int]:
        return {u.handle: fetch(server, path, u).status_code for u in (ann, ben, cat, dan)}

    assert who_sees() == {ann.handle: 200, ben.handle: 200, cat.handle: 404, dan.handle: 404}
    got = fetch(server, path, ben)
    assert got.content == image
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"

    # It follows the entry's privacy as it changes.
    ann.api(EDIT, i={"id": entry, "privacy": "PRIVATE"})
    assert who_sees() == {ann.handle: 200, ben.handle: 404, cat.handle: 404, dan.handle: 404}
    ann.api(EDIT, i={"id": entry, "privacy": "PUBLIC"})
    assert who_sees() == {ann.handle: 200, ben.handle: 200, cat.handle: 200, dan.handle: 200}
    refused(fetch(server, path, None), 401, "UNAUTHENTICATED")

    # A new photo is a new address; the old one is gone. Taking it off hides it.
    replaced = attach(server, entry, ann, gif(), "image/gif").json()["url"]
    assert replaced != path
    assert fetch(server, path, ann).status_code == 404
    assert fetch(server, replaced, dan).status_code == 200
    ann.api("mutation($id: ID!) { removeMoodPhoto(id: $id) { photo } }", id=entry)
    assert fetch(server, replaced, ann).status_code == 404
    assert ann.api(ENTRY, id=entry)["moodEntry"]["photo"] is None

    # Deleting the check-in takes its photo with it.
    attach(server, entry, ann, image)
    ann.api("mutation($id: ID!) { deleteMood(id: $id) }", id=entry)
    assert fetch(server, path, ann).status_code == 404


def test_only_the_owner_adds_a_photo_and_bad_uploads_are_refused(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    befriend(ann, ben)
    entry = record_mood(ann, moodType="calm", intensity=0.4, privacy="FRIENDS_ONLY")["id"]

    refused(attach(server, entry, ben, png()), 404, "NOT_FOUND")
    refused(attach(server, entry, None, png()), 401, "UNAUTHENTICATED")
    refused(attach(server, "not-an-id", ann, png()), 404, "NOT_FOUND")
    refused(attach(server, entry, ann, b"just some text", "text/plain"), 415, "VALIDATION")
    refused(attach(server, entry, ann, png(), "image/jpeg"), 415, "VALIDATION")
    refused(attach(server, entry, ann, b""), 415, "VALIDATION")
    refused(fetch(server, f"/moods/{entry}/photos/nothex", ann), 400, "VALIDATION")
    wrong_method = server.http.get(f"{server.url}/moods/{entry}/photo", headers=auth(ann))
    assert wrong_method.status_code == 405
    assert ann.api(ENTRY, id=entry)["moodEntry"]["photo"] is None
