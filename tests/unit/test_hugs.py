"""Hug rules: friends only, accepted types, mute, withdraw until seen, delivery and seen."""

from __future__ import annotations

import pytest

from hugmood.domain import hugs as hg
from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed
from hugmood.entrypoints.graphql import hugs as api
from hugmood.security.ratelimit import SlidingWindowLimiter

ANYTHING_GOES = hg.HugSettings()
SEND = hg.SendHug("h1", sender_id="ann", recipient_id="ben", hug_type="Warm", message=" hi ")


def sent(command: hg.SendHug = SEND, settings: hg.HugSettings = ANYTHING_GOES) -> hg.Hug | None:
    state = None
    for event in hg.decide_send(None, command, are_friends=True, recipient_settings=settings):
        state = hg.evolve_hug(state, event)
    return state


def apply(state: hg.Hug | None, events: list[DomainEvent]) -> hg.Hug | None:
    for event in events:
        state = hg.evolve_hug(state, event)
    return state


def test_a_hug_to_a_friend_is_sent_with_a_clean_message() -> None:
    (event,) = hg.decide_send(None, SEND, are_friends=True, recipient_settings=hg.HugSettings())
    assert isinstance(event, hg.HugSent)
    assert (event.hug_type, event.message, event.muted) == ("warm", "hi", False)


def test_only_friends_get_hugs_and_nobody_hugs_themselves() -> None:
    with pytest.raises(Forbidden, match="friends"):
        hg.decide_send(None, SEND, are_friends=False, recipient_settings=hg.HugSettings())
    selfie = hg.SendHug("h2", "ann", "ann", "warm")
    with pytest.raises(ValidationFailed):
        hg.decide_send(None, selfie, are_friends=True, recipient_settings=hg.HugSettings())


def test_messages_and_types_are_checked() -> None:
    long = hg.SendHug("h3", "ann", "ben", "warm", message="x" * 281)
    with pytest.raises(ValidationFailed, match="280"):
        hg.decide_send(None, long, are_friends=True, recipient_settings=hg.HugSettings())
    odd = hg.SendHug("h4", "ann", "ben", "bear-hug")
    with pytest.raises(ValidationFailed, match="hugType"):
        hg.decide_send(None, odd, are_friends=True, recipient_settings=hg.HugSettings())


def test_recipients_choose_types_and_mute_friends() -> None:
    picky = hg.HugSettings(accepted_types=frozenset({hg.HugType.CALM}))
    with pytest.raises(Forbidden, match="warm"):
        hg.decide_send(None, SEND, are_friends=True, recipient_settings=picky)
    muted = hg.HugSettings(muted_ids=frozenset({"ann"}))
    (event,) = hg.decide_send(None, SEND, are_friends=True, recipient_settings=muted)
    assert isinstance(event, hg.HugSent)
    assert event.muted


def test_a_retried_send_changes_nothing_but_a_stolen_id_conflicts() -> None:
    state = sent()
    assert hg.decide_send(state, SEND, are_friends=True, recipient_settings=hg.HugSettings()) == []
    thief = hg.SendHug("h1", "cat", "ben", "warm")
    with pytest.raises(Conflict):
        hg.decide_send(state, thief, are_friends=True, recipient_settings=hg.HugSettings())


def test_delivery_then_seen_and_no_withdrawal_after_seen() -> None:
    state = apply(sent(), hg.decide_delivered(sent(), hg.MarkHugDelivered("h1", "ben", "phone")))
    assert state is not None
    assert state.status is hg.HugStatus.DELIVERED
    assert hg.decide_delivered(state, hg.MarkHugDelivered("h1", "ben")) == []
    with pytest.raises(NotFound):
        hg.decide_seen(state, hg.MarkHugSeen("h1", "ann"))
    state = apply(state, hg.decide_seen(state, hg.MarkHugSeen("h1", "ben")))
    assert state is not None
    assert state.status is hg.HugStatus.SEEN
    with pytest.raises(Conflict, match="seen"):
        hg.decide_withdraw(state, hg.WithdrawHug("h1", "ann"))


def test_the_sender_may_withdraw_until_seen_and_then_it_is_gone() -> None:
    state = apply(sent(), hg.decide_withdraw(sent(), hg.WithdrawHug("h1", "ann")))
    assert state is not None
    assert state.status is hg.HugStatus.WITHDRAWN
    assert hg.decide_withdraw(state, hg.WithdrawHug("h1", "ann")) == []
    with pytest.raises(NotFound):
        hg.decide_withdraw(sent(), hg.WithdrawHug("h1", "ben"))
    with pytest.raises(NotFound):
        hg.decide_seen(state, hg.MarkHugSeen("h1", "ben"))


def test_settings_keep_whole_state_and_refuse_accepting_nothing() -> None:
    (event,) = hg.decide_settings(
        hg.HugSettings(),
        hg.ChangeHugSettings("ben", accepted_types=("calm", "warm"), mute=("ann",)),
    )
    settings = hg.evolve_settings(hg.HugSettings(), event)
    assert settings.accepted_types == {hg.HugType.CALM, hg.HugType.WARM}
    assert settings.muted_ids == {"ann"}
    unmuted = hg.decide_settings(settings, hg.ChangeHugSettings("ben", unmute=("ann",)))
    assert hg.evolve_settings(settings, unmuted[0]).muted_ids == frozenset()
    assert hg.decide_settings(settings, hg.ChangeHugSettings("ben", mute=("ann",))) == []
    with pytest.raises(ValidationFailed, match="at least one"):
        hg.decide_settings(settings, hg.ChangeHugSettings("ben", accepted_types=()))


def test_the_api_offers_exactly_the_domain_vocabulary() -> None:
    assert {h.value for h in api.HugType} == {h.value for h in hg.HugType}
    assert {s.value for s in api.HugStatus} == {s.value for s in hg.HugStatus}
    assert set(hg.HUG_TYPE_MEANINGS) == set(hg.HugType)


def test_senders_are_limited_per_window() -> None:
    now = [0.0]
    limiter = SlidingWindowLimiter(limit=3, window_s=60, what="hugs", clock=lambda: now[0])
    for _ in range(3):
        limiter.hit("ann")
    with pytest.raises(RateLimited) as caught:
        limiter.hit("ann")
    assert 59 < caught.value.retry_after_s <= 60
    limiter.hit("ben")
    now[0] = 60.5
    limiter.hit("ann")
