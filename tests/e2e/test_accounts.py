"""Sessions, login failures and lockout, and the profile's default visibility."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import unique
from tests.e2e.client import (
    LOG_IN,
    ME,
    PASSWORD,
    GraphQLClient,
    GraphQLFailure,
    history_ids,
    log_in,
    record_mood,
    register,
    sign_up,
)
from tests.e2e.server import HugMoodServer, running_server

pytestmark = pytest.mark.e2e

MAX_FAILURES = 3
LOCKOUT_S = 60
LOG_OUT = "mutation { logOut }"
UPDATE_PROFILE = """
mutation($input: UpdateProfileInput!) {
  updateProfile(input: $input) { handle displayName bio defaultVisibility }
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HugMoodServer]:
    """One server for the module: every test uses handles of its own."""
    root: Path = tmp_path_factory.mktemp("accounts")
    settings = {
        "HUGMOOD_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "HUGMOOD_LOGIN_LOCKOUT_S": str(LOCKOUT_S),
    }
    with running_server(root / "data", root / "logs", settings) as running:
        yield running


def log_in_failure(server: HugMoodServer, handle: str, password: str) -> GraphQLFailure:
    return GraphQLClient(server).failure(LOG_IN, handle=handle, password=password)


def test_logging_out_ends_that_session_at_once_and_only_that_one(server: HugMoodServer) -> None:
    ann = sign_up(server, "ann")
    phone = GraphQLClient(server, log_in(server, ann.handle))

    assert ann.api(LOG_OUT) == {"logOut": True}

    assert ann.api.failure(ME).code == "UNAUTHENTICATED"
    assert ann.api.failure(LOG_OUT).code == "UNAUTHENTICATED"
    assert phone(ME)["me"]["handle"] == ann.handle


def test_unknown_handle_and_wrong_password_get_the_same_answer(server: HugMoodServer) -> None:
    handle = unique("ann")
    register(server, handle)

    wrong_password = log_in_failure(server, handle, "not the password at all")
    unknown_handle = log_in_failure(server, unique("nobody"), "not the password at all")

    assert wrong_password.code == unknown_handle.code == "UNAUTHENTICATED"
    assert wrong_password.message == unknown_handle.message
    assert wrong_password.extensions == unknown_handle.extensions


def test_repeated_failed_logins_lock_the_handle_even_for_the_right_password(
    server: HugMoodServer,
) -> None:
    handle, bystander = unique("ann"), unique("ben")
    register(server, handle)
    register(server, bystander)

    for _ in range(MAX_FAILURES):
        assert log_in_failure(server, handle, "guessing wrong").code == "UNAUTHENTICATED"
    locked = log_in_failure(server, handle, PASSWORD)

    assert locked.code == "RATE_LIMITED"
    assert 0 < locked.extensions["retryAfterSeconds"] <= LOCKOUT_S
    assert "try again" in locked.message
    assert log_in(server, bystander), "another account must not be locked"


def test_unknown_handles_lock_out_like_real_ones(server: HugMoodServer) -> None:
    nobody = unique("nobody")
    for _ in range(MAX_FAILURES):
        assert log_in_failure(server, nobody, "guessing wrong").code == "UNAUTHENTICATED"
    assert log_in_failure(server, nobody, "guessing wrong").code == "RATE_LIMITED"


def test_default_visibility_applies_to_check_ins_without_a_privacy_choice(
    server: HugMoodServer,
) -> None:
    ann, stranger = sign_up(server, "ann"), sign_up(server, "cat")
    assert ann.api(ME)["me"]["defaultVisibility"] == "PRIVATE"

    updated = ann.api(UPDATE_PROFILE, input={"defaultVisibility": "PUBLIC", "bio": "hi"})
    assert updated["updateProfile"]["defaultVisibility"] == "PUBLIC"
    assert updated["updateProfile"]["bio"] == "hi"
    public = record_mood(ann, moodType="calm", intensity=0.3)
    assert public["privacy"] == "PUBLIC"

    ann.api(UPDATE_PROFILE, input={"defaultVisibility": "PRIVATE"})
    private = record_mood(ann, moodType="calm", intensity=0.6)
    explicit = record_mood(ann, moodType="calm", intensity=0.6, privacy="PUBLIC")

    assert private["privacy"] == "PRIVATE"
    assert explicit["privacy"] == "PUBLIC"
    assert ann.api(ME)["me"]["defaultVisibility"] == "PRIVATE"
    assert history_ids(stranger, ann.handle) == {public["id"], explicit["id"]}
