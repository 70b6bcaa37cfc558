"""Presence as friends see it: per user over all their devices, announced when it changes.

Devices refresh themselves with heartbeats; one that vanishes without closing expires after
two heartbeat intervals, and a sweeper in every process turns expiries into announcements
(the hub reports each expiry to exactly one process). "Appear offline" is applied here, so
no path shows such a user online. Friends in other regions hear of each change too
(`also_tell`, from a queue of its own: a slow region never holds up a heartbeat).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from hugmood.application.queries.identity import appearing_offline
from hugmood.realtime.hub import DeviceRefresh, Presence, PresenceStatus, RealtimeHub
from hugmood.services import Loop, Service
from hugmood.sql.database import SqlDatabase

log = logging.getLogger(__name__)


AlsoTell = Callable[[str, str, str | None], Awaitable[None]]
"""Someone else to tell of a person's visible presence: (user id, status, view)."""
TO_TELL_MAX = 10_000


def presence_channel(user_id: str) -> str:
    return f"presence:{user_id}"


class PresenceService(Service):
    name = "presence"

    def __init__(
        self,
        hub: RealtimeHub,
        readmodels: SqlDatabase,
        *,
        heartbeat_s: float,
        also_tell: AlsoTell | None = None,
    ) -> None:
        super().__init__()
        self.hub = hub
        self.heartbeat_s = heartbeat_s
        self._readmodels = readmodels
        self._also_tell = also_tell
        self._to_tell: asyncio.Queue[Presence] = asyncio.Queue(maxsize=TO_TELL_MAX)

    @property
    def ttl_s(self) -> float:
        """A device is gone once two heartbeats are missed."""
        return 2 * self.heartbeat_s

    def loops(self) -> Sequence[tuple[str, Loop]]:
        loops: list[tuple[str, Loop]] = [("expiry sweeper", self._sweep)]
        if self._also_tell is not None:
            loops.append(("tell friends abroad", self._tell_abroad))
        return loops

    async def heartbeat(
        self, user_id: str, device_id: str, status: PresenceStatus, view: str | None
    ) -> Presence:
        before = await self._raw(user_id)
        after = await self.hub.heartbeat(user_id, device_id, status, view, self.ttl_s)
        if after != before:
            await self.announce(user_id)
        return after

    async def refresh(self, devices: Sequence[DeviceRefresh]) -> None:
        """Keep open connections' devices present, in one batch that changes no aggregate;
        a device that had expired meanwhile (a stalled process) comes back with a real
        heartbeat, so its friends hear of it."""
        for i in await self.hub.refresh(devices, self.ttl_s):
            d = devices[i]
            await self.heartbeat(d.user_id, d.device_id, d.status, d.view)

    async def disconnected(self, user_id: str, device_id: str) -> None:
        before = await self._raw(user_id)
        if await self.hub.disconnect(user_id, device_id) != before:
            await self.announce(user_id)

    async def visible(self, user_ids: Sequence[str]) -> dict[str, Presence]:
        """Presence as others may see it: users who appear offline are offline."""
        if not user_ids:
            return {}
        raw = await self.hub.presence(user_ids)
        hidden = await appearing_offline(self._readmodels, user_ids)
        return {
            user_id: Presence(user_id, PresenceStatus.OFFLINE, None) if user_id in hidden else p
            for user_id, p in raw.items()
        }

    async def announce(self, user_id: str) -> None:
        """Tell every process (and so every friend's socket) the user's visible presence."""
        presence = (await self.visible([user_id]))[user_id]
        await self.hub.publish(
            presence_channel(user_id), {"status": presence.status.value, "view": presence.view}
        )
        if self._also_tell is not None:
            try:
                self._to_tell.put_nowait(presence)
            except asyncio.QueueFull:
                log.warning("friends abroad are behind on presence: a change was not told")

    async def _tell_abroad(self) -> None:
        assert self._also_tell is not None
        while True:
            presence = await self._to_tell.get()
            try:
                await self._also_tell(presence.user_id, presence.status.value, presence.view)
            except Exception:
                log.exception("friends abroad were not told of a presence change")

    async def _raw(self, user_id: str) -> Presence:
        return (await self.hub.presence([user_id]))[user_id]

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s / 2)
            try:
                for changed in await self.hub.expire():
                    await self.announce(changed.user_id)
            except Exception:
                log.exception("presence sweep failed; retrying at the next interval")
