"""The two commands the edge may hold while the home region is away (a check-in, a hug), to
and from JSON, with the context they were sent in (never the client's address)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hugmood.application.eventmapping import CommandContext
from hugmood.domain.hugs import SendHug
from hugmood.domain.moods import ContextFactors, MoodInsights, RecordMood

Queueable = RecordMood | SendHug
CHECK_IN = "check-in"
HUG = "hug"


@dataclass(frozen=True, slots=True)
class HeldCommand:
    """A command accepted by the edge, with who sent it and from which device."""

    command: Queueable
    context: CommandContext

    @property
    def kind(self) -> str:
        return CHECK_IN if isinstance(self.command, RecordMood) else HUG

    @property
    def item_id(self) -> str:
        c = self.command
        return c.entry_id if isinstance(c, RecordMood) else c.hug_id

    @property
    def owner_id(self) -> str:
        c = self.command
        return c.user_id if isinstance(c, RecordMood) else c.sender_id


def to_json(held: HeldCommand) -> dict[str, Any]:
    c, ctx = held.command, held.context
    context = {
        "correlationId": ctx.correlation_id,
        "deviceId": ctx.device_id,
        "appVersion": ctx.app_version,
        "traceparent": ctx.traceparent,
        "region": ctx.region,
    }
    if isinstance(c, SendHug):
        command: dict[str, Any] = {
            "hugId": c.hug_id,
            "senderId": c.sender_id,
            "recipientId": c.recipient_id,
            "hugType": c.hug_type,
            "message": c.message,
        }
    else:
        command = {
            "entryId": c.entry_id,
            "userId": c.user_id,
            "moodType": c.mood_type,
            "intensity": c.intensity,
            "note": c.note,
            "context": {
                "location": c.context.location,
                "weather": c.context.weather,
                "socialContext": c.context.social_context,
                "tags": list(c.context.tags),
            },
            "privacy": c.privacy,
            "recordedAt": c.recorded_at.isoformat() if c.recorded_at else None,
            "insights": {
                "sentiment": c.insights.sentiment,
                "emotions": list(c.insights.emotions),
                "suggestedMood": c.insights.suggested_mood,
            }
            if c.insights
            else None,
        }
    return {"kind": held.kind, "command": command, "context": context}


def from_json(data: dict[str, Any]) -> HeldCommand:
    c, ctx = data["command"], data["context"]
    context = CommandContext(
        correlation_id=ctx["correlationId"],
        device_id=ctx["deviceId"],
        app_version=ctx["appVersion"],
        traceparent=ctx["traceparent"],
        region=ctx["region"],
    )
    command: Queueable
    if data["kind"] == HUG:
        command = SendHug(c["hugId"], c["senderId"], c["recipientId"], c["hugType"], c["message"])
    else:
        factors, insights = c["context"], c["insights"]
        command = RecordMood(
            entry_id=c["entryId"],
            user_id=c["userId"],
            mood_type=c["moodType"],
            intensity=c["intensity"],
            note=c["note"],
            context=ContextFactors(
                factors["location"],
                factors["weather"],
                factors["socialContext"],
                tuple(factors["tags"]),
            ),
            privacy=c["privacy"],
            recorded_at=datetime.fromisoformat(c["recordedAt"]) if c["recordedAt"] else None,
            insights=MoodInsights(
                insights["sentiment"], tuple(insights["emotions"]), insights["suggestedMood"]
            )
            if insights
            else None,
        )
    return HeldCommand(command, context)
