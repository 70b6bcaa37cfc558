"""Mood entries read model: one row per live entry, indexed by owner and time."""

from __future__ import annotations

import orjson

from hugmood.eventstore.envelope import RecordedEvent, to_epoch_ms
from hugmood.sql.database import Statement


class MoodEntriesProjection:
    name: str = "mood_entries"
    tables: tuple[str, ...] = ("rm_mood_entries", "rm_mood_tombstones")

    def statements(self, event: RecordedEvent) -> list[Statement]:
        d, at = event.data, to_epoch_ms(event.timestamp)
        match event.event_type:
            case "MoodRecorded":
                return [
                    (
                        "INSERT INTO rm_mood_entries (entry_id, user_id, mood_type, intensity, note,"
                        " context_factors, privacy, recorded_at_ms, created_at_ms, updated_at_ms,"
                        " insights, changed_position)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11)"
                        " ON CONFLICT (entry_id) DO NOTHING",
                        (
                            d["entryId"],
                            d["ownerId"],
                            d["moodType"],
                            float(d["intensity"]),
                            d["note"],
                            orjson.dumps(d["contextFactors"]).decode(),
                            d["privacy"],
                            d["recordedAtMs"],
                            at,
                            _json_or_none(d.get("insights")),
                            event.position,
                        ),
                    )
                ]
            case "MoodEdited":
                return [
                    (
                        "UPDATE rm_mood_entries SET mood_type = $2, intensity = $3, note = $4,"
                        " context_factors = $5, privacy = $6, recorded_at_ms = $7,"
                        " updated_at_ms = $8, changed_position = $9 WHERE entry_id = $1",
                        (
                            d["entryId"],
                            d["moodType"],
                            float(d["intensity"]),
                            d["note"],
                            orjson.dumps(d["contextFactors"]).decode(),
                            d["privacy"],
                            d["recordedAtMs"],
                            at,
                            event.position,
                        ),
                    )
                ]
            case "MoodDeleted":
                # The tombstone lets the owner's other devices learn of the delete (sync).
                return [
                    ("DELETE FROM rm_mood_entries WHERE entry_id = $1", (d["entryId"],)),
                    (
                        "INSERT INTO rm_mood_tombstones (entry_id, user_id, deleted_position)"
                        " VALUES ($1, $2, $3) ON CONFLICT (entry_id) DO NOTHING",
                        (d["entryId"], event.user_id or "", event.position),
                    ),
                ]
        return []


def _json_or_none(value: object) -> str | None:
    return None if value is None else orjson.dumps(value).decode()
