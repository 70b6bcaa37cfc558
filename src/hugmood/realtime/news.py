"""Another region's news for this region's connected people (`application.ports.LiveNews`):
handed to their subscriptions on the hub every process shares, as ids and presence only."""

from __future__ import annotations

from hugmood.realtime.hub import PresenceStatus, RealtimeHub
from hugmood.realtime.presence import PresenceService, presence_channel
from hugmood.realtime.relay import friend_moods_abroad


class HubNews:
    def __init__(self, hub: RealtimeHub, presence: PresenceService) -> None:
        self._hub = hub
        self._presence = presence

    async def friend_checked_in(self, friend_id: str, owner_id: str, entry_id: str) -> None:
        await self._hub.publish(
            friend_moods_abroad(friend_id), {"entryId": entry_id, "ownerId": owner_id}
        )

    async def presence_changed(self, user_id: str, status: str, view: str | None) -> None:
        # The channel friends here already listen on for everyone they know.
        await self._hub.publish(
            presence_channel(user_id), {"status": PresenceStatus(status).value, "view": view}
        )

    async def presence_of(self, user_ids: list[str]) -> dict[str, tuple[str, str | None]]:
        shown = await self._presence.visible(user_ids)
        return {u: (p.status.value, p.view) for u, p in shown.items()}
