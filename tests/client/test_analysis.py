"""On-device analysis and data portability: pure functions, no network."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from hugmood.client import portability
from hugmood.client.analysis import analyse
from hugmood.client.emotion_lexicon import MOOD_WORDS
from hugmood.client.errors import InvalidInput
from hugmood.client.records import LocalEntry

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)


def test_a_sad_note_reads_negative_with_sadness_and_a_low_unpleasant_mood() -> None:
    insights = analyse("I miss her so much, I cried all evening and feel so alone")
    assert insights.sentiment < -0.3
    assert "sadness" in insights.emotions
    assert insights.suggested_mood in MOOD_WORDS["sadness"]


def test_good_news_reads_positive_with_joy() -> None:
    insights = analyse("Got the new job!! So excited and proud of myself")
    assert insights.sentiment > 0.5
    assert "joy" in insights.emotions
    assert insights.suggested_mood == "excited"


def test_a_negated_mood_word_is_not_suggested() -> None:
    insights = analyse("Not happy at all. Furious at my landlord")
    assert insights.suggested_mood != "happy"
    assert insights.emotions[0] == "anger"


DAYLIO = """full_date,date,weekday,time,mood,activities,note_title,note
2026-11-20,November 20,Thursday,8:30 PM,rad,friends | movies & popcorn,Great night,"Laughed so much"
2026-11-21,November 21,Friday,07:15,awful,work,,
2026-11-22,November 22,Saturday,10:00 AM,tired,sleep,,Long week
"""


def test_a_daylio_export_becomes_entries_with_mapped_moods_and_tags() -> None:
    entries = portability.import_daylio_csv(DAYLIO, NOW, UTC)
    assert [e.mood_type for e in entries] == ["joyful", "hopeless", "tired"]
    assert entries[0].note == "Great night\nLaughed so much"
    assert entries[0].context["tags"] == ["friends", "movies  popcorn"]
    assert entries[0].recorded_at == datetime(2026, 11, 20, 20, 30, tzinfo=UTC)
    again = portability.import_daylio_csv(DAYLIO, NOW, UTC)
    assert [e.entry_id for e in again] == [e.entry_id for e in entries]  # stable ids


def test_a_bad_daylio_row_names_its_line_and_nothing_is_returned() -> None:
    bad = DAYLIO + "2026-11-23,November 23,Sunday,25:99,good,,,\n"
    with pytest.raises(InvalidInput, match="line 5"):
        portability.import_daylio_csv(bad, NOW, UTC)
    with pytest.raises(InvalidInput, match="not a Daylio CSV"):
        portability.import_daylio_csv("a,b\n1,2\n", NOW, UTC)


def test_a_hugmood_json_export_imports_back_as_the_same_entries() -> None:
    entries = portability.import_daylio_csv(DAYLIO, NOW, UTC)
    text = portability.export_json("alice", entries, [])
    back = portability.import_hugmood_json(text, NOW)
    fields = ("entry_id", "recorded_at_ms", "mood_type", "intensity", "note", "context")

    def key(e: LocalEntry) -> tuple[object, ...]:
        return tuple(getattr(e, f) for f in fields)

    assert [key(e) for e in back] == [key(e) for e in entries]
    with pytest.raises(InvalidInput, match="not a HugMood export"):
        portability.import_hugmood_json('{"entries": []}', NOW)


def test_csv_export_has_a_row_per_entry_with_insights() -> None:
    entries = portability.import_daylio_csv(DAYLIO, NOW, UTC)
    rows = list(csv.DictReader(io.StringIO(portability.export_csv(entries))))
    assert [r["mood_type"] for r in rows] == ["joyful", "hopeless", "tired"]
    assert rows[0]["note"] == "Great night\nLaughed so much"
    assert rows[0]["tags"] == "friends|movies  popcorn"
