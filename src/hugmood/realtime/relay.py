"""Turns new events in the log into live notifications for this process's connections.

Every server process follows the log itself (PostgreSQL's NOTIFY wakes it at once) and
notifies only its own subscribers, so a hug reaches its recipient on whichever process they
are connected to, with or without Redis, and no process sends a notification twice.
Notifications carry ids only; subscribers read the read models, which is where privacy is
enforced. The relay waits for the read models to reach an event before announcing it.
"""

from __future__ import annotations

from hugmood.application.consumers import LIVE_RELAY, consumer
from hugmood.application.ports import ReadModelsProgress
from hugmood.application.queries.social import close_friend_ids, friend_ids
from hugmood.eventstore.envelope import RecordedEvent
from hugmood.eventstore.store import EventStore
from hugmood.eventstore.subscription import LogConsumer
from hugmood.observability.delivery import HUG_DELIVERY, seconds_since
from hugmood.observability.tracing import live_push_span, with_trace
from hugmood.realtime.hub import RealtimeHub
from hugmood.sql.database import SqlDatabase


def hugs_in(user_id: str) -> str:
    """Hugs arriving for a user."""
    return f"hugs-in:{user_id}"


def hugs_out(user_id: str) -> str:
    """Status changes of the hugs a user sent."""
    return f"hugs-out:{user_id}"


SESSIONS_ENDED = "sessions-ended"
"""Sessions logged out (`{"sessionId": …}`): their sockets close."""


def friend_moods(user_id: str) -> str:
    """Check-ins by a user's friends (each subscriber still checks it may see the entry)."""
    return f"friend-moods:{user_id}"


def friend_moods_abroad(user_id: str) -> str:
    """Check-ins by a user's friends in other regions, announced by those regions to one
    process here: on the hub every process shares (`entryId`, `ownerId`)."""
    return f"friend-moods-abroad:{user_id}"


class LiveRelay(LogConsumer):
    """The `live relay` consumer (`application.consumers`): from now on, since what happened
    before a device connected reaches it from the inbox when it subscribes; an event whose
    announcement fails is logged and skipped, a courtesy on top of the durable inbox."""

    name = LIVE_RELAY

    def __init__(
        self,
        store: EventStore,
        readmodels: SqlDatabase,
        progress: ReadModelsProgress,
        local: RealtimeHub,
    ) -> None:
        super().__init__(store, consumer(LIVE_RELAY).handles)
        self._readmodels = readmodels
        self._progress = progress
        self._local = local

    async def handle(self, event: RecordedEvent) -> None:
        with live_push_span(event.event_type, event.metadata):
            await self._announce(event)

    async def _publish(self, channel: str, message: dict[str, str]) -> None:
        # Ids only, and the trace: the socket's push continues it (`entrypoints.ws`).
        await self._local.publish(channel, with_trace(message))

    async def _announce(self, event: RecordedEvent) -> None:
        d = event.data
        match event.event_type:
            case "HugSent" if not d.get("muted"):
                await self._progress.wait_for(event.position)
                await self._publish(hugs_in(d["recipientId"]), {"hugId": d["hugId"]})
                HUG_DELIVERY.observe(seconds_since(event.timestamp))
            case "HugDelivered" | "HugSeen" | "HugWithdrawn":
                await self._progress.wait_for(event.position)
                await self._publish(hugs_out(d["senderId"]), {"hugId": d["hugId"]})
                if event.event_type == "HugWithdrawn":
                    # The recipient's devices take it off the screen.
                    await self._publish(hugs_in(d["recipientId"]), {"hugId": d["hugId"]})
            case "SessionEnded":
                await self._publish(SESSIONS_ENDED, {"sessionId": d["sessionId"]})
            case "MoodRecorded" if d.get("privacy") != "private":
                await self._progress.wait_for(event.position)
                # Close-friends entries are announced to close friends only (each feed checks
                # again what its subscriber may see, as every query does).
                audience = close_friend_ids if d.get("privacy") == "close-friends" else friend_ids
                for friend_id in await audience(self._readmodels, d["ownerId"]):
                    await self._publish(friend_moods(friend_id), {"entryId": d["entryId"]})
