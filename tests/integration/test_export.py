"""The complete export over `GET /me/export` on every backend: everything the person wrote is
in it, friends appear by name only, and nobody but the session's owner is ever exported."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
import orjson
import pytest
from pycrdt import Doc

from hugmood.application import export
from hugmood.application.handlers.identity import NewSession
from hugmood.boards.model import items_of, note
from hugmood.boards.store import AcceptedUpdate
from hugmood.bootstrap import HugMood, open_hugmood
from hugmood.config import Settings
from hugmood.domain import boards as bd
from hugmood.domain import discovery as dv
from hugmood.domain import hugs as hg
from hugmood.domain import identity as idm
from hugmood.domain import mood_photos as mp
from hugmood.domain import moods as mood_rules
from hugmood.domain import reminders as rm
from hugmood.domain.board_images import UploadBoardImage
from hugmood.domain.close_friends import AddCloseFriend
from hugmood.entrypoints.asgi import create_app
from tests.e2e.test_board_images import png
from tests.integration.test_close_friends import befriend, people

PASSWORD = "a good password"


async def board_items(core: HugMood, board_id: str, *items: tuple[str, dict[str, Any]]) -> None:
    """Store items on a board as its room would: one Yjs update each, by its author."""
    doc: Doc[Any] = Doc()
    for n, (author, item) in enumerate(items):
        before = doc.get_state()
        items_of(doc)[f"item-{n}"] = item
        update = AcceptedUpdate(author, doc.get_update(before))
        await core.boards.content.append(board_id, [update], items=n + 1)


async def token_of(core: HugMood, user_id: str) -> str:
    account = await core.readmodels.fetchrow(
        "SELECT handle FROM rm_accounts WHERE user_id = $1", user_id
    )
    assert account is not None
    session: NewSession = (await core.bus.handle(idm.LogIn(account[0], PASSWORD))).value
    return session.token


PAGE = 3
"""A small page, so a few check-ins and hugs already take several pages."""


async def test_the_export_holds_everything_of_mine_and_nothing_private_of_others(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "PAGE", PAGE)
    async with open_hugmood(settings) as core:
        ann, ben = await people(core, "ann", "ben")
        await befriend(core, ann, ben)
        await core.bus.handle(idm.UpdateProfile(ann, display_name="Ann C4N", bio="bio-canary"))
        await core.bus.handle(AddCloseFriend(ann, ben))
        await core.bus.handle(dv.SetDiscoverable(ann, True))
        await core.bus.handle(rm.SetReminder(ann, True, "07:30", ("mon",), "Europe/Paris"))
        entry = str(uuid.uuid4())
        await core.bus.handle(
            mood_rules.RecordMood(
                entry,
                ann,
                "calm",
                0.4,
                note="note-canary",
                context=mood_rules.ContextFactors(location="home", tags=("tag-canary",)),
                privacy="friends-only",
                insights=mood_rules.MoodInsights(0.5, ("joy",), "calm"),
            )
        )
        photo = (await core.bus.handle(mp.AttachMoodPhoto(entry, ann, png(), None))).value
        for _ in range(PAGE + 2):  # past a page of the keyset reader
            await core.bus.handle(mood_rules.RecordMood(str(uuid.uuid4()), ann, "tired", 0.2))
        await core.bus.handle(
            mood_rules.RecordMood(str(uuid.uuid4()), ben, "sad", 0.9, note="ben-secret-note")
        )
        await core.bus.handle(hg.SendHug(str(uuid.uuid4()), ann, ben, "warm", "hug-canary"))
        await core.bus.handle(hg.SendHug(str(uuid.uuid4()), ben, ann, "warm", "to-ann"))
        board_id = (await core.bus.handle(bd.CreateBoard(str(uuid.uuid4()), ann, "Board"))).value
        await core.bus.handle(bd.InviteMember(board_id, ann, ben, "editor"))
        upload = UploadBoardImage(board_id, ann, png(noise=True), "image/png")
        picture = (await core.bus.handle(upload)).value
        at = 1_700_000_000_000
        picture_at = {"x": 1, "y": 2, "color": "#336699", "addedBy": ann, "addedAt": at}
        await board_items(
            core,
            board_id,
            (ann, note("board-canary", x=1, y=2, color="#336699", added_by=ann, added_at=at)),
            (ben, note("ben-board-note", x=1, y=2, color="#336699", added_by=ben, added_at=at)),
            (ann, {"kind": "image", "blobId": picture.blob_id, **picture_at}),
        )
        await core.projections.wait_for(await core.store.last_position())

        app = create_app(settings, core=core)
        app.state.core = core
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hugmood"
        ) as http:
            headers = {"Authorization": f"Bearer {await token_of(core, ann)}"}
            answer = await http.get("/me/export", headers=headers)
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"] == "application/json"
            assert "attachment" in answer.headers["content-disposition"]
            document = orjson.loads(answer.content)
            as_csv = await http.get("/me/export?format=csv", headers=headers)
            nobody = await http.get("/me/export")
            wrong = await http.get("/me/export", headers={"Authorization": "Bearer nope"})
            xml = await http.get("/me/export?format=xml", headers=headers)

    text = answer.text
    for canary in (
        "Ann C4N",
        "bio-canary",
        "note-canary",
        "tag-canary",
        "hug-canary",
        "board-canary",
    ):
        assert canary in text
    assert "to-ann" in text  # a hug sent to Ann is hers to keep
    assert "ben-secret-note" not in text and "ben-board-note" not in text
    assert document["format"] == "hugmood-export" and document["version"] == 1
    assert document["profile"]["bio"] == "bio-canary"
    assert len(document["entries"]) == PAGE + 3
    assert len({e["id"] for e in document["entries"]}) == PAGE + 3
    noted = next(e for e in document["entries"] if e["id"] == entry)
    assert noted["contextFactors"]["tags"] == ["tag-canary"]
    assert noted["insights"]["suggestedMood"] == "calm"
    assert noted["photo"]["blobId"] == photo.blob_id
    assert noted["photo"]["base64"]
    assert document["settings"]["discoverable"] is True
    assert document["settings"]["reminders"]["time"] == "07:30"
    assert document["settings"]["reminders"]["days"] == ["mon"]
    assert [f["userId"] for f in document["settings"]["closeFriends"]] == [ben]
    assert document["friendships"][0]["status"] == "friends"
    assert set(document["friendships"][0]) == {"userId", "handle", "displayName", "status", "since"}
    assert [h["message"] for h in document["hugsSent"]] == ["hug-canary"]
    assert [h["message"] for h in document["hugsReceived"]] == ["to-ann"]
    (board,) = document["boards"]
    assert board["otherMembersItems"] == 1
    assert sorted(i["kind"] for i in board["myItems"]) == ["image", "note"]
    shown = next(i for i in board["myItems"] if i["kind"] == "image")
    assert shown["image"]["blobId"] == picture.blob_id and shown["image"]["base64"]

    rows = list(csv.reader(io.StringIO(as_csv.text)))
    assert rows[0][:3] == ["id", "recorded_at", "mood_type"]
    assert len(rows) == PAGE + 4
    assert any(r[5] == "note-canary" and "tag-canary" in r[9] for r in rows)

    assert nobody.status_code == 401 and wrong.status_code == 401
    assert nobody.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert xml.status_code == 400
    assert xml.json()["errors"][0]["extensions"]["field"] == "format"
