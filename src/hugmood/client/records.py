"""What the device keeps: check-ins (with their sync status) and queued actions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from hugmood.domain.moods import MoodInsights as Insights

__all__ = ["SHARE_NOTES", "Insights", "LocalEntry", "OutboxItem"]

SHARE_NOTES = ("never", "friends", "public")
"""Which raw notes may leave the device: none (the default); those of entries shared with
friends or only with yourself; all of them, public entries too."""


@dataclass(frozen=True, slots=True)
class LocalEntry:
    """A check-in as the device holds it. Everything but the id and time is sealed at rest."""

    entry_id: str
    recorded_at_ms: int
    mood_type: str
    intensity: float
    note: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    privacy: str | None = None
    """`private`, `close-friends`, `friends-only`, `public`, or `None` for the account's
    default."""
    insights: Insights | None = None
    origin: str = "this-device"
    status: str = "pending"
    """`pending` (in the outbox), `synced`, or `refused` (kept, with `refusal`)."""
    refusal: str | None = None

    @property
    def recorded_at(self) -> datetime:
        return datetime.fromtimestamp(self.recorded_at_ms / 1000, UTC)

    def body(self) -> bytes:
        return json.dumps(
            {
                "moodType": self.mood_type,
                "intensity": self.intensity,
                "note": self.note,
                "contextFactors": self.context,
                "privacy": self.privacy,
                "insights": self.insights.to_data() if self.insights else None,
            },
            sort_keys=True,
            ensure_ascii=False,
        ).encode()

    @classmethod
    def from_body(
        cls,
        entry_id: str,
        recorded_at_ms: int,
        body: bytes,
        *,
        origin: str,
        status: str,
        refusal: str | None = None,
    ) -> LocalEntry:
        data = json.loads(body)
        return cls(
            entry_id=entry_id,
            recorded_at_ms=recorded_at_ms,
            mood_type=data["moodType"],
            intensity=float(data["intensity"]),
            note=data.get("note"),
            context=data.get("contextFactors") or {},
            privacy=data.get("privacy"),
            insights=Insights.from_data(data.get("insights")),
            origin=origin,
            status=status,
            refusal=refusal,
        )

    def merged_over(self, local: LocalEntry) -> LocalEntry:
        """This (downloaded) copy over the local one: the server wins, except that a note the
        device kept to itself stays, and local insights stay where the server has none."""
        return replace(
            self,
            note=self.note if self.note is not None else local.note,
            insights=self.insights or local.insights,
            origin=local.origin,
        )

    def note_to_upload(self, share_notes: str) -> str | None:
        """The note if `shareNotes` lets it leave the device for this entry's audience."""
        if self.note is None or share_notes == "never":
            return None
        if share_notes == "public":
            return self.note
        return self.note if self.privacy in ("private", "close-friends", "friends-only") else None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One queued action: a check-in (`entry`) or another action with a sealed `payload`."""

    seq: int
    op_id: str
    kind: str
    attempts: int
    entry: LocalEntry | None
    payload: bytes | None
