"""With HUGMOOD_AGE_REQUIRED on, every path to an age-gated feature refuses a person with no
verified age, and says what is needed: GraphQL over HTTP, GraphQL over the socket, the
batch upload the device's sync uses, and the community paths over HTTP. (A verified person
passing the gates is in `test_age_verification`, which makes a real proof.)"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest

from tests.e2e.client import RECORD_MOOD, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.ws import init, open_socket, receive, subscribe

pytestmark = pytest.mark.e2e
NEEDED = "verified age of 16"
PUBLIC = {"moodType": "calm", "intensity": 0.5, "privacy": "PUBLIC"}


async def test_every_path_to_a_gated_feature_refuses_an_unverified_person(
    start_server: StartServer,
) -> None:
    server = start_server({"HUGMOOD_AGE_REQUIRED": "16"})
    ann = sign_up(server, "ann")

    # GraphQL over HTTP: public check-ins, a batch as the device's sync sends it, an edit to
    # public, a public profile.
    assert NEEDED in ann.api.failure(RECORD_MOOD, input=PUBLIC).message
    entry = {**PUBLIC, "id": str(uuid.uuid4()), "recordedAt": datetime.now(UTC).isoformat()}
    (batch,) = ann.api(
        "mutation($e: [RecordMoodInput!]!) { recordMoods(entries: $e) { status code message } }",
        e=[entry],
    )["recordMoods"]
    assert batch["code"] == "FORBIDDEN" and NEEDED in batch["message"]
    mine = ann.api(RECORD_MOOD, input={**PUBLIC, "privacy": "FRIENDS_ONLY"})["recordMood"]
    edit = "mutation($i: EditMoodInput!) { editMood(input: $i) { id } }"
    assert NEEDED in ann.api.failure(edit, i={"id": mine["id"], "privacy": "PUBLIC"}).message
    profile = "mutation { updateProfile(input: {defaultVisibility: PUBLIC}) { handle } }"
    assert NEEDED in ann.api.failure(profile).message

    # GraphQL over the socket.
    async with open_socket(server) as ws:
        assert (await init(ws, ann.api.token))["type"] == "connection_ack"
        query = 'mutation { recordMood(input: {moodType: "calm", intensity: 0.5, privacy: PUBLIC}) { id } }'
        await subscribe(ws, "m", query)
        answer = await receive(ws)
        errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "FORBIDDEN", json.dumps(answer)
        assert NEEDED in errors[0]["message"]

    # The community paths over HTTP (checked before anything else, even without a service).
    headers = {"authorization": f"Bearer {ann.api.token}"}
    async with httpx.AsyncClient(
        base_url=f"{server.url}/privacy/community", headers=headers
    ) as http:
        for response in (
            await http.get(""),
            await http.post("/contributions", json={"cohort": "x", "ciphertext": {}}),
            await http.get("/averages"),
        ):
            assert response.status_code == 403, response.text
            refusal = response.json()["errors"][0]
            assert refusal["extensions"] == {
                "code": "FORBIDDEN",
                "field": "age",
                "rule": "operator.age_required",
            }
            assert NEEDED in refusal["message"] and "hugmood verify-age" in refusal["message"]

    # Nothing public was written on the way.
    me = ann.api("{ me { defaultVisibility } }")["me"]
    assert me["defaultVisibility"] != "PUBLIC"


def test_similar_minds_and_community_mood_need_a_verified_age(start_server: StartServer) -> None:
    server = start_server({"HUGMOOD_AGE_REQUIRED": "16"})
    ann = sign_up(server, "ann")
    for query in (
        "mutation { setDiscoverable(discoverable: true) }",
        "{ similarMinds { checkInsNeeded } }",
        "{ similarMindsHelped { enoughPeople } }",
        '{ communityMood(region: "eu-west", week: "2026-W40") { released } }',
    ):
        refused = ann.api.failure(query)
        assert refused.code == "FORBIDDEN" and NEEDED in refused.message, (query, refused)
    # Turning it off needs nothing.
    assert ann.api("mutation { setDiscoverable(discoverable: false) }") == {
        "setDiscoverable": False
    }
