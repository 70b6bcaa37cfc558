"""A person's insights as they read them (their owner's alone: every query takes the owner
from the signed-in caller), and the check-ins the insights consumer analyses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from hugmood.eventstore.envelope import RecordedEvent, from_epoch_ms, to_epoch_ms
from hugmood.ids import UserId
from hugmood.sql.database import SqlDatabase, Statement
from hugmood.sql.migrations import Migration
from hugmood.sql.sealed import Sealed


@dataclass(frozen=True, slots=True)
class InsightView:
    insight_id: str
    kind: str
    key: str
    sentence: str
    numbers: dict[str, Any]
    generated_at: datetime
    helpful: bool


async def insights_of(db: SqlDatabase, owner_id: UserId, *, limit: int = 50) -> list[InsightView]:
    """The owner's current insights, newest first: not dismissed, not replaced by a newer
    one about the same thing."""
    rows = await db.fetch(
        "SELECT insight_id, kind, key, sentence, numbers_json, generated_at_ms, helpful"
        " FROM rm_insights WHERE owner_id = $1 AND dismissed = 0 AND superseded = 0"
        " ORDER BY generated_at_ms DESC, insight_id LIMIT $2",
        owner_id,
        limit,
    )
    return [
        InsightView(
            str(r[0]),
            str(r[1]),
            str(r[2]),
            str(r[3]),
            orjson.loads(r[4]),
            from_epoch_ms(int(r[5])),
            bool(r[6]),
        )
        for r in rows
    ]


async def told_keys(db: SqlDatabase, owner_id: UserId) -> dict[str, str]:
    """Key → id of the owner's current insight about it (dismissed ones too: a dismissed
    finding is not told again unless it changes)."""
    rows = await db.fetch(
        "SELECT key, insight_id FROM rm_insights WHERE owner_id = $1 AND superseded = 0",
        owner_id,
    )
    return {str(r[0]): str(r[1]) for r in rows}


@dataclass(frozen=True, slots=True)
class EntryForAnalysis:
    """A check-in as the insights consumer reads it: no note text, only the device's
    sentiment of it. Kept close to the row (milliseconds, the context as stored) because a
    long diary is read on every recompute."""

    recorded_at_ms: int
    mood: str
    intensity: float
    context: dict[str, Any]
    """`ContextFactors.to_data()`: location, weather, socialContext, tags."""
    sentiment: float | None


async def days_with_check_ins(db: SqlDatabase, owner_id: UserId) -> int:
    """On how many days (UTC) the person checked in: a count of clear columns only, so
    knowing whether a diary grew costs nothing to decrypt."""
    row = await db.fetchrow(
        "SELECT COUNT(DISTINCT recorded_at_ms / 86400000) FROM rm_mood_entries WHERE user_id = $1",
        owner_id,
    )
    return int(row[0]) if row else 0


async def entries_for_analysis(db: SqlDatabase, owner_id: UserId) -> list[EntryForAnalysis]:
    rows = await db.fetch(
        "SELECT recorded_at_ms, mood_type, intensity, context_factors, insights"
        " FROM rm_mood_entries WHERE user_id = $1 ORDER BY recorded_at_ms",
        owner_id,
    )
    found = []
    for r in rows:
        device = orjson.loads(r[4]) if r[4] else None
        sentiment = device.get("sentiment") if isinstance(device, dict) else None
        found.append(
            EntryForAnalysis(
                int(r[0]),
                str(r[1]),
                float(r[2]),
                orjson.loads(r[3]) if r[3] else {},
                None if sentiment is None else float(sentiment),
            )
        )
    return found


# --- the table, and the projection that fills it from the log -----------------------------

INSIGHTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS rm_insights (
    insight_id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    sentence TEXT NOT NULL,
    numbers_json TEXT NOT NULL,
    generated_at_ms BIGINT NOT NULL,
    helpful INTEGER NOT NULL DEFAULT 0,
    dismissed INTEGER NOT NULL DEFAULT 0,
    superseded INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS rm_insights_owner ON rm_insights (owner_id, superseded, dismissed);
"""


class InsightsProjection:
    name: str = "insights"
    tables: tuple[str, ...] = ("rm_insights",)
    migrations: tuple[Migration, ...] = (Migration(1, "tables", INSIGHTS_SCHEMA),)

    def statements(self, event: RecordedEvent) -> list[Statement]:
        if event.event_type == "UserErased":
            # An erased person is forgotten here (`privacy.keys`: their data key is gone).
            u = event.data["userId"]
            return [
                ("DELETE FROM rm_insights WHERE owner_id = $1", (u,)),
            ]
        d = event.data
        match event.event_type:
            case "InsightGenerated":
                return [
                    (
                        "UPDATE rm_insights SET superseded = 1"
                        " WHERE owner_id = $1 AND key = $2 AND insight_id <> $3",
                        (d["ownerId"], d["key"], d["insightId"]),
                    ),
                    (
                        "INSERT INTO rm_insights (insight_id, owner_id, kind, key, sentence,"
                        " numbers_json, generated_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                        " ON CONFLICT (insight_id) DO NOTHING",
                        (
                            d["insightId"],
                            d["ownerId"],
                            d["kind"],
                            d["key"],
                            Sealed(d["ownerId"], d["sentence"]),
                            Sealed(d["ownerId"], d["numbersJson"]),
                            to_epoch_ms(event.timestamp),
                        ),
                    ),
                ]
            case "InsightMarkedHelpful":
                return [
                    (
                        "UPDATE rm_insights SET helpful = 1 WHERE insight_id = $1 AND owner_id = $2",
                        (d["insightId"], d["ownerId"]),
                    )
                ]
            case "InsightDismissed":
                return [
                    (
                        "UPDATE rm_insights SET dismissed = 1"
                        " WHERE insight_id = $1 AND owner_id = $2",
                        (d["insightId"], d["ownerId"]),
                    )
                ]
        return []
