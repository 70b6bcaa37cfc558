"""Mood check-in rules: validation, defaults, editing and deleting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hugmood.domain import moods as md
from hugmood.domain.errors import Forbidden, NotFound, ValidationFailed
from hugmood.domain.privacy import Privacy

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def record(**overrides: object) -> md.RecordMood:
    fields: dict[str, object] = {
        "entry_id": "e1",
        "user_id": "u1",
        "mood_type": "calm",
        "intensity": 0.5,
    }
    fields.update(overrides)
    return md.RecordMood(**fields)  # type: ignore[arg-type]


def recorded(command: md.RecordMood) -> md.EntryState:
    state = None
    for event in md.decide_record(command, now=NOW, default_privacy=Privacy.FRIENDS_ONLY):
        state = md.evolve_entry(state, event)
    assert state is not None
    return state


def test_a_check_in_uses_the_default_privacy_when_none_is_given() -> None:
    entry = recorded(record())
    assert entry.privacy is Privacy.FRIENDS_ONLY
    assert entry.owner_id == "u1"
    assert entry.recorded_at_ms == int(NOW.timestamp() * 1000)


def test_mood_words_are_case_insensitive_and_must_be_in_the_vocabulary() -> None:
    assert recorded(record(mood_type="  Calm ")).mood_type == "calm"
    with pytest.raises(ValidationFailed, match="mood vocabulary"):
        recorded(record(mood_type="blissed"))


@pytest.mark.parametrize("bad", [-0.01, 1.01, float("nan"), float("inf")])
def test_intensity_must_be_a_finite_number_from_zero_to_one(bad: float) -> None:
    with pytest.raises(ValidationFailed, match="intensity") as caught:
        recorded(record(intensity=bad))
    assert caught.value.field == "intensity"


def test_notes_are_trimmed_and_limited() -> None:
    assert recorded(record(note="  good day \n")).note == "good day"
    assert recorded(record(note="   ")).note is None
    with pytest.raises(ValidationFailed, match="at most 2000"):
        recorded(record(note="x" * 2001))
    with pytest.raises(ValidationFailed, match="control characters"):
        recorded(record(note="bad\x00note"))


def test_context_factors_are_normalised_and_checked() -> None:
    context = md.ContextFactors(
        location=" Home ", weather="Sunny", social_context="friends", tags=("Work", "work", "gym")
    )
    entry = recorded(record(context=context))
    assert entry.context == md.ContextFactors("Home", "sunny", "friends", ("work", "gym"))
    with pytest.raises(ValidationFailed, match="weather"):
        recorded(record(context=md.ContextFactors(weather="volcanic")))
    with pytest.raises(ValidationFailed, match="at most 10 tags"):
        recorded(record(context=md.ContextFactors(tags=tuple(f"t{i}" for i in range(11)))))
    with pytest.raises(ValidationFailed, match="tag"):
        recorded(record(context=md.ContextFactors(tags=("no/slashes",))))


def test_recorded_at_may_be_in_the_past_but_not_the_future() -> None:
    past = NOW - timedelta(days=3)
    assert recorded(record(recorded_at=past)).recorded_at_ms == int(past.timestamp() * 1000)
    with pytest.raises(ValidationFailed, match="future"):
        recorded(record(recorded_at=NOW + timedelta(hours=1)))
    with pytest.raises(ValidationFailed, match="time zone"):
        recorded(record(recorded_at=datetime(2026, 1, 1)))


def test_only_the_owner_may_edit_and_an_edit_carries_the_full_new_entry() -> None:
    entry = recorded(record(note="first"))
    with pytest.raises(Forbidden):
        md.decide_edit(entry, md.EditMood(entry_id="e1", user_id="intruder", intensity=1), now=NOW)
    (edited,) = md.decide_edit(
        entry, md.EditMood(entry_id="e1", user_id="u1", privacy="public"), now=NOW
    )
    assert isinstance(edited, md.MoodEdited)
    assert (edited.privacy, edited.note, edited.mood_type) == ("public", "first", "calm")


def test_an_edit_that_changes_nothing_records_nothing() -> None:
    entry = recorded(record())
    assert md.decide_edit(entry, md.EditMood("e1", "u1", mood_type="calm"), now=NOW) == []


def test_clearing_a_note_and_setting_one_at_once_is_refused() -> None:
    entry = recorded(record(note="x"))
    with pytest.raises(ValidationFailed):
        md.decide_edit(entry, md.EditMood("e1", "u1", note="y", clear_note=True), now=NOW)
    (edited,) = md.decide_edit(entry, md.EditMood("e1", "u1", clear_note=True), now=NOW)
    assert isinstance(edited, md.MoodEdited) and edited.note is None


def test_a_deleted_entry_is_gone_for_edits_and_deletes() -> None:
    entry = recorded(record())
    (deleted,) = md.decide_delete(entry, md.DeleteMood("e1", "u1"))
    gone = md.evolve_entry(entry, deleted)
    with pytest.raises(NotFound):
        md.decide_delete(gone, md.DeleteMood("e1", "u1"))
    with pytest.raises(NotFound):
        md.decide_edit(gone, md.EditMood("e1", "u1", intensity=0.1), now=NOW)


def test_events_round_trip_through_their_stored_data() -> None:
    (event,) = md.decide_record(record(note="n"), now=NOW, default_privacy=Privacy.PUBLIC)
    data = event.to_data()
    assert {"entryId", "ownerId", "moodType", "contextFactors", "recordedAtMs"} <= data.keys()
    assert md.MoodRecorded.from_data(data) == event
