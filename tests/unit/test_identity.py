"""Account rules: handles, passwords, profiles and sessions."""

from __future__ import annotations

import pytest

from hugmood.domain import identity as idm
from hugmood.domain.errors import Conflict, NotFound, ValidationFailed
from hugmood.domain.privacy import Privacy


def test_handles_are_case_insensitive_and_give_a_stable_user_id() -> None:
    assert idm.normalise_handle(" @Alice_1 ") == "alice_1"
    assert idm.user_id_for("ALICE") == idm.user_id_for("alice")
    assert idm.user_id_for("alice") != idm.user_id_for("bob")


@pytest.mark.parametrize("bad", ["ab", "1abc", "a" * 31, "al ice", "al-ice", "ålice", ""])
def test_malformed_handles_are_refused(bad: str) -> None:
    with pytest.raises(ValidationFailed, match="handle"):
        idm.normalise_handle(bad)


def test_password_policy() -> None:
    idm.check_password("long enough pw", "alice")
    with pytest.raises(ValidationFailed, match="at least 10"):
        idm.check_password("short", "alice")
    with pytest.raises(ValidationFailed, match="handle"):
        idm.check_password("alicealice", "alicealice")


def register(handle: str = "alice") -> idm.Account:
    (event,) = idm.decide_register(
        None, idm.RegisterUser(handle, " Alice ", "secret password", "eu-west"), "hash"
    )
    account = idm.evolve_account(None, event)
    assert account is not None
    return account


def test_registering_a_taken_handle_conflicts() -> None:
    account = register()
    assert (account.display_name, account.default_visibility) == ("Alice", Privacy.PRIVATE)
    with pytest.raises(Conflict, match="taken"):
        idm.decide_register(
            account, idm.RegisterUser("alice", "A", "secret password", "eu-west"), "h"
        )


def test_unknown_regions_are_refused() -> None:
    with pytest.raises(ValidationFailed, match="homeRegion"):
        idm.decide_register(None, idm.RegisterUser("alice", "A", "secret password", "mars"), "h")


def test_profile_updates_change_only_what_is_given() -> None:
    account = register()
    (event,) = idm.decide_update_profile(
        account, idm.UpdateProfile(account.user_id, bio="hi", default_visibility="public")
    )
    updated = idm.evolve_account(account, event)
    assert updated is not None
    assert (updated.display_name, updated.bio, updated.default_visibility) == (
        "Alice",
        "hi",
        Privacy.PUBLIC,
    )
    assert idm.decide_update_profile(updated, idm.UpdateProfile(account.user_id, bio="hi")) == []
    with pytest.raises(ValidationFailed, match="defaultVisibility"):
        idm.decide_update_profile(
            account, idm.UpdateProfile(account.user_id, default_visibility="x")
        )
    with pytest.raises(NotFound):
        idm.decide_update_profile(None, idm.UpdateProfile("nobody"))


def test_logging_out_twice_is_harmless_and_others_cannot_end_a_session() -> None:
    started = idm.SessionStarted("s1", "u1", "digest", expires_at_ms=10)
    session = idm.evolve_session(None, started)
    (ended,) = idm.decide_log_out(session, idm.LogOut("u1", "s1"))
    assert idm.decide_log_out(idm.evolve_session(session, ended), idm.LogOut("u1", "s1")) == []
    with pytest.raises(NotFound):
        idm.decide_log_out(session, idm.LogOut("u2", "s1"))


def test_a_new_account_shares_with_no_one_unless_it_chose_to() -> None:
    (chosen,) = idm.decide_register(
        None, idm.RegisterUser("bob", "Bob", "secret password", "eu-west", "friends-only"), "h"
    )
    assert isinstance(chosen, idm.UserRegistered)
    assert chosen.default_visibility == "friends-only"
    # Accounts registered before the choice existed shared with friends, and still do.
    data = chosen.to_data()
    del data["defaultVisibility"]
    old = idm.evolve_account(None, idm.UserRegistered.from_data(data))
    assert old is not None and old.default_visibility == Privacy.FRIENDS_ONLY


@pytest.mark.parametrize(
    "name", ["adm\u202eni", "a\u200bb", "\u3164", "a\u00a0b", "Ada\u200d", "x\u2066y", "\ufeffAda"]
)
def test_display_names_that_could_pass_for_another_are_refused(name: str) -> None:
    with pytest.raises(ValidationFailed, match="invisible or text-direction") as caught:
        idm.clean_display_name(name)
    assert caught.value.field == "displayName"


@pytest.mark.parametrize("name", ["Ada", "Zoë 🌻", "👩\u200d💻 Ada", "❤️ Ada", "Ἀθηνᾶ", "محمد"])
def test_display_names_in_any_script_and_with_emoji_are_kept(name: str) -> None:
    assert idm.clean_display_name(name) == name
