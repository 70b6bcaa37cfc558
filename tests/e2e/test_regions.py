"""Two regions (EU and US) hosted by one server (`HUGMOOD_REGIONS`): each person's data is
written only to their home region's stores, and the edge routes every request and socket
there — by the session token, by the handle at sign-in, by the country at sign-up — and
refuses what names a region it does not serve."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from hugmood.domain import identity
from tests.conftest import POSTGRES_URL, unique
from tests.e2e.client import (
    LOG_IN,
    PASSWORD,
    REGISTER,
    GraphQLClient,
    GraphQLFailure,
    User,
    befriend,
    record_mood,
)
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_erasure import files_holding
from tests.e2e.test_signing_in import (
    CONFIRM_SETUP,
    START_SETUP,
    code_at,
    complete,
    held_at_second_step,
)
from tests.e2e.ws import init, next_data, open_socket, subscribe

pytestmark = pytest.mark.e2e

REGIONS = {"HUGMOOD_REGIONS": "eu-west,us-east", "HUGMOOD_REGION": "eu-west"}
HUG_RECEIVED = "subscription { hugReceived { id message sender { handle } } }"
SEND_HUG = "mutation($i: SendHugInput!) { sendHug(input: $i) { id } }"


def person(server: HugMoodServer, prefix: str, country: str, handle: str | None = None) -> User:
    handle = handle or unique(prefix)
    GraphQLClient(server)(
        REGISTER,
        input={
            "handle": handle,
            "displayName": prefix.title(),
            "password": PASSWORD,
            "country": country,
        },
    )
    token = GraphQLClient(server)(LOG_IN, handle=handle, password=PASSWORD)["logIn"]["token"]
    return User(handle, GraphQLClient(server, token))


def region_dir(server: HugMoodServer, region: str) -> Path:
    return server.data_dir / "regions" / region


def lives_in(server: HugMoodServer, user: User) -> list[str]:
    """The regions whose files mention the person's id (ids are kept in clear)."""
    user_id = identity.user_id_for(user.handle)
    return [r for r in ("eu-west", "us-east") if files_holding(region_dir(server, r), user_id)]


async def test_people_live_in_their_home_region_only_and_the_edge_routes_them_there(
    start_server: StartServer,
) -> None:
    server = start_server(REGIONS)
    greta, hans = person(server, "greta", "DE"), person(server, "hans", "NL")
    sam, ava = person(server, "sam", "US"), person(server, "ava", "US")
    assert greta.api.token is not None and greta.api.token.startswith("hm_eu-west.")
    assert sam.api.token is not None and sam.api.token.startswith("hm_us-east.")

    befriend(greta, hans)
    befriend(sam, ava)
    record_mood(greta, moodType="calm", intensity=0.5, note="a walk by the Spree")
    record_mood(sam, moodType="hopeful", intensity=0.7, note="a run by the Hudson")
    friends = greta.api("{ friendsPresence { profile { handle } } }")["friendsPresence"]
    assert [f["profile"]["handle"] for f in friends] == [hans.handle]

    # A hug within the US, live over a socket: the edge reads the socket's first message
    # to know where it goes.
    async with open_socket(server) as ws:
        assert (await init(ws, ava.api.token))["type"] == "connection_ack"
        await subscribe(ws, "h", HUG_RECEIVED)
        sam.api(SEND_HUG, i={"to": ava.handle, "hugType": "WARM", "message": "from NY"})
        hug = (await next_data(ws, "h"))["hugReceived"]
        assert (hug["message"], hug["sender"]["handle"]) == ("from NY", sam.handle)

    # Each person's data is in their home region's files and nowhere else.
    for user, home in ((greta, "eu-west"), (hans, "eu-west"), (sam, "us-east"), (ava, "us-east")):
        assert lives_in(server, user) == [home], user.handle

    # Sign-in is routed by the handle (the directory), as a variable or written in the query.
    inline = GraphQLClient(server)(
        f'mutation {{ logIn(handle: "{sam.handle}", password: "{PASSWORD}") {{ token }} }}'
    )
    assert inline["logIn"]["token"].startswith("hm_us-east.")

    # And its second step by the handle its pending token names.
    setup = sam.api(START_SETUP)["startAuthenticatorSetup"]
    sam.api(CONFIRM_SETUP, code=code_at(setup["secret"]))
    held = held_at_second_step(server, sam.handle)
    signed_in = complete(server, held.extensions["mfaToken"], code=code_at(setup["secret"], 30))
    assert isinstance(signed_in, dict)
    assert signed_in["completeLogIn"]["token"].startswith("hm_us-east.")


def test_what_names_the_wrong_region_is_refused_never_served_from_another(
    start_server: StartServer,
) -> None:
    server = start_server(REGIONS)
    greta, sam = person(server, "greta", "DE"), person(server, "sam", "US")
    assert greta.api.token is not None

    # Greta's token, altered to name the US: the US region has no such session.
    moved = "hm_us-east." + greta.api.token.split(".", 1)[1]
    refused = GraphQLClient(server, moved).attempt("{ me { handle } }")
    assert isinstance(refused, GraphQLFailure)
    assert refused.errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    # A region this edge does not serve at all.
    elsewhere = httpx.post(
        f"{server.url}/graphql",
        json={"query": "{ me { handle } }"},
        headers={"Authorization": "Bearer hm_ap-south.abc"},
        timeout=10,
    )
    assert elsewhere.status_code == 421
    assert elsewhere.json()["errors"][0]["extensions"]["code"] == "WRONG_REGION"

    # A handle is unique across regions: Sam's cannot be taken in the EU.
    again = GraphQLClient(server).attempt(
        REGISTER,
        input={"handle": sam.handle, "displayName": "Other", "password": PASSWORD, "country": "FR"},
    )
    assert isinstance(again, GraphQLFailure)
    assert again.errors[0]["extensions"]["code"] == "CONFLICT"
    # A region that is not the country's is refused, naming where the data would live.
    wrong = GraphQLClient(server).attempt(
        REGISTER,
        input={
            "handle": unique("x"),
            "displayName": "X",
            "password": PASSWORD,
            "country": "DE",
            "homeRegion": "us-east",
        },
    )
    assert isinstance(wrong, GraphQLFailure)
    assert wrong.errors[0]["extensions"]["code"] == "VALIDATION"

    assert lives_in(server, greta) == ["eu-west"] and lives_in(server, sam) == ["us-east"]
    assert str(uuid.UUID(identity.user_id_for(sam.handle)))  # ids stay derived from handles


@pytest.mark.postgres
async def test_an_edge_reaches_a_region_that_is_a_deployment_of_its_own(
    start_server: StartServer, pg_schema: str
) -> None:
    # The US region: its own server and PostgreSQL schema; the EU edge hosts the EU region
    # (its own files) and passes US people's requests and sockets on to the US server.
    directory = {"HUGMOOD_DIRECTORY_URL": POSTGRES_URL}
    us = start_server(
        {
            "HUGMOOD_REGION": "us-east",
            "HUGMOOD_DATABASE_URL": POSTGRES_URL,
            "HUGMOOD_POSTGRES_SCHEMA": pg_schema,
        }
        | directory
    )
    edge = start_server(
        {
            "HUGMOOD_REGIONS": "eu-west",
            "HUGMOOD_REGION": "eu-west",
            "HUGMOOD_REGION_URLS": f"us-east={us.url}",
        }
        | directory
    )
    greta = person(edge, "greta", "DE")
    sam, ava = person(edge, "sam", "US"), person(edge, "ava", "US")
    assert sam.api.token is not None and sam.api.token.startswith("hm_us-east.")
    befriend(sam, ava)
    record_mood(sam, moodType="hopeful", intensity=0.7, note="a run by the Hudson")
    async with open_socket(edge) as ws:
        assert (await init(ws, ava.api.token))["type"] == "connection_ack"
        await subscribe(ws, "h", HUG_RECEIVED)
        sam.api(SEND_HUG, i={"to": ava.handle, "hugType": "WARM", "message": "via the edge"})
        hug = (await next_data(ws, "h"))["hugReceived"]
        assert (hug["message"], hug["sender"]["handle"]) == ("via the edge", sam.handle)
    # The US people are in the US region's database, not in the EU edge's files.
    assert lives_in(edge, sam) == [] and lives_in(edge, greta) == ["eu-west"]
    assert log_in_directly(us, sam.handle).startswith("hm_us-east.")

    # The US region goes away: its people get a clear "unavailable", the EU carries on.
    us.kill()
    async with httpx.AsyncClient(timeout=30) as client:
        gone = await client.post(
            f"{edge.url}/graphql",
            json={"query": "{ me { handle } }"},
            headers={"Authorization": f"Bearer {sam.api.token}"},
        )
    assert gone.status_code == 503
    assert gone.json()["errors"][0]["extensions"]["code"] == "UNAVAILABLE"
    assert greta.api("{ me { handle } }")["me"]["handle"] == greta.handle


def log_in_directly(server: HugMoodServer, handle: str) -> str:
    token: str = GraphQLClient(server)(LOG_IN, handle=handle, password=PASSWORD)["logIn"]["token"]
    return token
