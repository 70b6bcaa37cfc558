"""Server rules behind issue 15's defects: new accounts share nothing by default, display
names cannot be spoofed, errors never echo long inputs, and a stranger's failed logins cannot
lock the owner out (per account and source; a device that signed in before still gets in)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unique
from tests.e2e.client import (
    ME,
    PASSWORD,
    REGISTER,
    GraphQLClient,
    GraphQLFailure,
    befriend,
    data_or_raise,
    history_ids,
    record_mood,
    sign_up,
)
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer, hugmood_env, run_cli, running_server

pytestmark = pytest.mark.e2e

MAX_FAILURES = 3
SPREAD_FACTOR = 10  # hugmood.security.throttle.SPREAD_FACTOR, as a user meets it
LOG_IN = """
mutation($handle: String!, $password: String!, $proof: String) {
  logIn(handle: $handle, password: $password, deviceProof: $proof) { token deviceProof }
}"""
UPDATE_PROFILE = """
mutation($input: UpdateProfileInput!) { updateProfile(input: $input) { displayName } }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HugMoodServer]:
    root: Path = tmp_path_factory.mktemp("daily")
    settings = {"HUGMOOD_LOGIN_MAX_FAILURES": str(MAX_FAILURES), "HUGMOOD_LOGIN_LOCKOUT_S": "600"}
    with running_server(root / "data", root / "logs", settings) as running:
        yield running


def register(server: HugMoodServer, handle: str, **extra: Any) -> dict[str, Any]:
    return GraphQLClient(server)(
        REGISTER,
        input={"handle": handle, "displayName": "Ann", "password": PASSWORD, **extra},
    )


def log_in_from(
    server: HugMoodServer, address: str, handle: str, password: str, proof: str | None = None
) -> dict[str, Any] | GraphQLFailure:
    """A login as it arrives from `address` (the server trusts its local proxy's header)."""
    response = GraphQLClient(server).post(
        {"query": LOG_IN, "variables": {"handle": handle, "password": password, "proof": proof}},
        headers={"x-forwarded-for": address},
    )
    try:
        payload: dict[str, Any] = data_or_raise(response)["logIn"]
    except GraphQLFailure as e:
        return e
    return payload


def code(outcome: dict[str, Any] | GraphQLFailure) -> str:
    return outcome.code or "" if isinstance(outcome, GraphQLFailure) else "OK"


# --- 11: health data is shared with no one until its person chooses ---------------------------


def test_a_new_account_shares_its_check_ins_with_no_one(server: HugMoodServer) -> None:
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    befriend(ann, ben)
    assert ann.api(ME)["me"]["defaultVisibility"] == "PRIVATE"

    entry = record_mood(ann, moodType="calm", intensity=0.5)

    assert entry["privacy"] == "PRIVATE"
    assert entry["id"] not in history_ids(ben, ann.handle)


def test_sharing_with_friends_can_be_chosen_at_sign_up(server: HugMoodServer) -> None:
    handle = unique("cat")
    register(server, handle, defaultVisibility="FRIENDS_ONLY")
    token = log_in_from(server, "192.0.2.10", handle, PASSWORD)
    assert not isinstance(token, GraphQLFailure)
    me = GraphQLClient(server, token["token"])(ME)["me"]
    assert me["defaultVisibility"] == "FRIENDS_ONLY"


# --- 12: names that pass for others, and inputs echoed back ------------------------------------


@pytest.mark.parametrize(
    "name",
    ["adm\u202eni", "Ann\u200b", "\u3164", "Ann\u2066Bob\u2069", "\u200fAnn", "Ann\u00a0Lee"],
)
def test_display_names_with_invisible_or_direction_characters_are_refused(
    server: HugMoodServer, name: str
) -> None:
    refused = GraphQLClient(server).failure(
        REGISTER, input={"handle": unique("eve"), "displayName": name, "password": PASSWORD}
    )
    assert (refused.code, refused.extensions["field"]) == ("VALIDATION", "displayName")
    assert "invisible or text-direction" in refused.message

    ann = sign_up(server, "ann")
    refused = ann.api.failure(UPDATE_PROFILE, input={"displayName": name})
    assert (refused.code, refused.extensions["field"]) == ("VALIDATION", "displayName")


def test_names_with_emoji_and_accents_are_kept(server: HugMoodServer) -> None:
    ann = sign_up(server, "ann")
    for name in ("Zoë 🌻", "👩\u200d💻 Ann", "Ἀθηνᾶ"):
        assert ann.api(UPDATE_PROFILE, input={"displayName": name}) == {
            "updateProfile": {"displayName": name}
        }


def test_an_error_never_echoes_a_long_input_back(server: HugMoodServer) -> None:
    ann = sign_up(server, "ann")
    huge = "x" * 10_000
    refusals = [
        ann.api.failure(
            "mutation($i: RecordMoodInput!) { recordMood(input: $i) { id } }",
            i={"moodType": "calm", "intensity": 0.5, "contextFactors": {"tags": [huge + "!"]}},
        ),
        ann.api.failure(
            "mutation($i: RecordMoodInput!) { recordMood(input: $i) { id } }",
            i={"moodType": huge, "intensity": 0.5},
        ),
        ann.api.failure(
            "mutation($i: RecordMoodInput!) { recordMood(input: $i) { id } }",
            i={"moodType": "calm", "intensity": huge},
        ),
    ]
    for refused in refusals:
        assert refused.code == "VALIDATION"
        assert len(refused.message) < 500, refused.message[:100]
        assert "x" * 100 not in refused.message


# --- 7: throttling that cannot be turned against the owner -------------------------------------


def test_a_strangers_failed_logins_do_not_lock_the_owner_out(server: HugMoodServer) -> None:
    handle = unique("ann")
    register(server, handle)

    for _ in range(MAX_FAILURES):
        assert code(log_in_from(server, "203.0.113.9", handle, "guessing wrong")) == (
            "UNAUTHENTICATED"
        )
    # The stranger's address is throttled, even with the right password ...
    assert code(log_in_from(server, "203.0.113.9", handle, PASSWORD)) == "RATE_LIMITED"
    # ... and the owner, anywhere else, is not.
    assert code(log_in_from(server, "198.51.100.4", handle, PASSWORD)) == "OK"


def test_a_device_that_signed_in_before_gets_in_during_a_spread_out_attack(
    server: HugMoodServer,
) -> None:
    handle = unique("ann")
    register(server, handle)
    first = log_in_from(server, "198.51.100.4", handle, PASSWORD)
    assert not isinstance(first, GraphQLFailure)
    proof = first["deviceProof"]

    # Guesses from many addresses, each under its own allowance, add up for the account.
    for n in range(MAX_FAILURES * SPREAD_FACTOR):
        attacker = f"203.0.113.{n}"
        assert code(log_in_from(server, attacker, handle, "guessing wrong")) == "UNAUTHENTICATED"

    # Unknown devices are shut out for now; the owner's phone, even on a new network, is not.
    assert code(log_in_from(server, "192.0.2.77", handle, PASSWORD)) == "RATE_LIMITED"
    again = log_in_from(server, "192.0.2.77", handle, PASSWORD, proof)
    assert not isinstance(again, GraphQLFailure)
    assert again["deviceProof"] == proof
    # A proof is no master key: made up, or another account's, it counts for nothing.
    assert code(log_in_from(server, "192.0.2.77", handle, PASSWORD, "made.up")) == "RATE_LIMITED"


# --- features: password change ---------------------------------------------------------------

CHANGE_PASSWORD = """
mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new)
}"""


def test_changing_the_password_ends_my_other_sessions_and_keeps_this_one(
    server: HugMoodServer,
) -> None:
    ann = sign_up(server, "ann")
    phone = GraphQLClient(server, log_in_token(server, ann.handle, PASSWORD))
    new_password = "a brand new passphrase"

    wrong = ann.api.failure(CHANGE_PASSWORD, current="not it at all", new=new_password)
    assert (wrong.code, wrong.extensions["field"]) == ("VALIDATION", "currentPassword")
    short = ann.api.failure(CHANGE_PASSWORD, current=PASSWORD, new="short")
    assert (short.code, short.extensions["field"]) == ("VALIDATION", "newPassword")

    assert ann.api(CHANGE_PASSWORD, current=PASSWORD, new=new_password) == {"changePassword": 1}

    assert ann.api(ME)["me"]["handle"] == ann.handle  # this session goes on
    assert phone.failure(ME).code == "UNAUTHENTICATED"
    assert code(log_in_from(server, "192.0.2.30", ann.handle, PASSWORD)) == "UNAUTHENTICATED"
    assert code(log_in_from(server, "192.0.2.30", ann.handle, new_password)) == "OK"


def log_in_token(server: HugMoodServer, handle: str, password: str) -> str:
    outcome = log_in_from(server, "192.0.2.31", handle, password)
    assert not isinstance(outcome, GraphQLFailure), outcome
    token: str = outcome["token"]
    return token


# --- features: crisis resources chosen by the operator ----------------------------------------

CRISIS = "query($c: String) { crisisResource(country: $c) }"


def test_the_operator_chooses_the_helpline_page_per_country(
    start_server: StartServer,
) -> None:
    default = start_server()
    assert GraphQLClient(default)(CRISIS, c="GB") == {
        "crisisResource": "https://findahelpline.com/"
    }
    configured = start_server(
        {"HUGMOOD_CRISIS_RESOURCES": "GB=https://www.samaritans.org/; *=https://example.org/help"}
    )
    ask = GraphQLClient(configured)
    assert ask(CRISIS, c="gb") == {"crisisResource": "https://www.samaritans.org/"}
    assert ask(CRISIS, c="FR") == {"crisisResource": "https://example.org/help"}
    assert ask(CRISIS, c=None) == {"crisisResource": "https://example.org/help"}


def test_a_malformed_helpline_setting_stops_the_server_with_a_clear_message(
    tmp_path: Path,
) -> None:
    env = hugmood_env(tmp_path / "data", {"HUGMOOD_CRISIS_RESOURCES": "Britain=http://x"})
    done = run_cli("serve", "--port", "1", env=env)
    assert done.returncode == 2
    assert "HUGMOOD_CRISIS_RESOURCES" in done.stderr and "two-letter" in " ".join(
        done.stderr.split()
    )


# --- features: my sessions, and signing one device out ----------------------------------------

MY_SESSIONS = "{ mySessions { id device startedAt current } }"
LOG_OUT_SESSION = "mutation($id: ID!) { logOutSession(id: $id) }"
LOG_IN_ON = """
mutation($handle: String!, $password: String!, $device: String) {
  logIn(handle: $handle, password: $password, device: $device) { token }
}"""


def test_i_see_my_signed_in_devices_and_sign_one_out(server: HugMoodServer) -> None:
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    phone_token = GraphQLClient(server)(
        LOG_IN_ON, handle=ann.handle, password=PASSWORD, device="phone browser"
    )["logIn"]["token"]
    phone = GraphQLClient(server, phone_token)

    sessions = ann.api(MY_SESSIONS)["mySessions"]
    assert len(sessions) == 2
    (this,) = [s for s in sessions if s["current"]]
    (other,) = [s for s in sessions if not s["current"]]
    assert other["device"] == "phone browser"
    assert sessions[0]["startedAt"] >= sessions[1]["startedAt"]

    refused = ben.api.failure(LOG_OUT_SESSION, id=other["id"])
    assert refused.code == "NOT_FOUND"
    assert phone(ME)["me"]["handle"] == ann.handle

    assert ann.api(LOG_OUT_SESSION, id=other["id"]) == {"logOutSession": True}
    assert phone.failure(ME).code == "UNAUTHENTICATED"
    assert [s["id"] for s in ann.api(MY_SESSIONS)["mySessions"]] == [this["id"]]
