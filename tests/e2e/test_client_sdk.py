"""The SDK's blocking façade as a notebook would use it: sign in, check in, hugs and presence
arriving live over graphql-transport-ws, a board's snapshot."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from hugmood.client import ApiError, HugMoodClient
from tests.e2e.client import PASSWORD, befriend, sign_up
from tests.e2e.conftest import StartServer

pytestmark = pytest.mark.e2e


def test_the_blocking_sdk_records_moods_and_hears_hugs_and_presence_live(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, bob = sign_up(server, "ann"), sign_up(server, "bob")
    befriend(ann, bob)
    with HugMoodClient(server.url) as ann_sdk, HugMoodClient(server.url) as bob_sdk:
        ann_sdk.login(ann.handle, PASSWORD)
        bob_sdk.login(bob.handle, PASSWORD)
        entry = ann_sdk.record_mood("calm", 0.6, insights={"sentiment": 0.4, "emotions": ["joy"]})
        assert entry["insights"] == {"sentiment": 0.4, "emotions": ["joy"], "suggestedMood": None}
        assert [f["profile"]["handle"] for f in bob_sdk.friends()] == [ann.handle]

        received: list[dict[str, Any]] = []
        listening = threading.Thread(target=lambda: received.extend(bob_sdk.hugs(limit=1)))
        listening.start()
        ann_sdk.send_hug(bob.handle, "celebration", "well done")
        listening.join(timeout=30)
        assert not listening.is_alive(), "the hug never arrived"
        assert received[0]["sender"]["handle"] == ann.handle
        assert received[0]["hugType"] == "CELEBRATION" and received[0]["message"] == "well done"

        (presence,) = list(ann_sdk.presence(limit=1))
        assert presence["profile"]["handle"] == bob.handle

        board_id = ann.api('mutation { createBoard(input: {title: "Our week"}) { id } }')[
            "createBoard"
        ]["id"]
        assert [b["title"] for b in ann_sdk.boards()] == ["Our week"]
        assert ann_sdk.board_snapshot(board_id) == {"items": [], "itemCount": 0, "invalid": 0}
        with pytest.raises(ApiError) as not_a_member:
            bob_sdk.board_snapshot(board_id)
        assert not_a_member.value.code == "NOT_FOUND"

        with pytest.raises(ApiError) as refused:
            ann_sdk.record_mood("calm", 2.0)
        assert refused.value.code == "VALIDATION" and refused.value.field == "intensity"
