"""Follows the region's log from this edge and drops what a new event makes stale — a cached
profile, relationship or warmed view of anyone the event names — before it can be served
again; forgets sessions that ended, and an erased person's usage pattern."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from hugmood.edge.sessions import VerifiedSessions
from hugmood.edge.tagged import TaggedCache
from hugmood.eventstore.envelope import RecordedEvent
from hugmood.eventstore.store import EventStore
from hugmood.eventstore.subscription import catch_up
from hugmood.services import Loop, Service
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)

RETRY_S = 0.5

UNRELATED_PREFIXES = (
    "Hug",
    "Session",
    "Board",
    "Totp",
    "Passkey",
    "RecoveryCode",
    "SocialSignIn",
    "SocialIdentity",
    "Insight",
    "Email",
    "PasswordReset",
    "Reminder",
    "PushSubscription",
    "Device",
    "NotesKeyring",
    "NoteSealed",
    "SealingKey",
    "SealedMood",
)
"""Events that change nothing a public profile, a relationship, a history or a feed shows
(hugs, sign-ins, boards, second factors …). Anything else drops the entries of everyone it
names: a new kind of event is treated as relevant until listed here."""

EVERYONE = ("RegionPolicyChanged",)
"""Events that may change what is public about anyone: every entry goes."""

ERASED = ("UserErased", "AccountDeletionScheduled")


def people_named(event: RecordedEvent) -> Iterator[str]:
    """The event's user and every id its data names (`ownerId`, `otherId`, …): a superset of
    the people whose views it can change (ids of entries and hugs drop nothing)."""
    if event.user_id:
        yield event.user_id
    yield from _ids(event.data)


def _ids(data: Any) -> Iterator[str]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key.endswith(("Id", "Ids")):
                if isinstance(value, str):
                    yield value
                elif isinstance(value, list):
                    yield from (v for v in value if isinstance(v, str))
            elif isinstance(value, Mapping | list):
                yield from _ids(value)
    elif isinstance(data, list):
        for item in data:
            yield from _ids(item)


class CacheInvalidator(Service):
    """The `edge cache` follower: from the log's end at start, every event in order. While
    the log cannot be read it drops everything (the edge can no longer tell what changed)."""

    name = "edge cache"

    def __init__(
        self,
        store: EventStore,
        sessions: VerifiedSessions,
    ) -> None:
        super().__init__()
        self._store = store
        self.caches: tuple[TaggedCache[Any, Any], ...] = ()
        """What it keeps fresh (set once, before it starts)."""
        self._sessions = sessions
        self.erased: Callable[[str], None] = lambda _: None
        """Told (synchronously) of each person erased, to forget what is kept about them."""
        self.position = 0
        """Every event up to here has been applied to the caches."""

    async def starting(self) -> None:
        try:
            self.position = await self._store.last_position()
        except BackendUnavailable:
            self.position = 0  # found when the store returns; nothing is cached till then

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("follow the log", self._follow)]

    async def _follow(self) -> None:
        while True:
            try:
                if self.position == 0:
                    self.position = await self._store.last_position()
                async for batch in catch_up(self._store, self.position):
                    for event in batch:
                        self.apply(event)
                        self.position = event.position
            except BackendUnavailable as e:
                log.warning("edge cache: the log cannot be read (%s); dropping every entry", e)
                for cache in self.caches:
                    cache.clear(self.position)
                await asyncio.sleep(RETRY_S)

    def apply(self, event: RecordedEvent) -> None:
        kind = event.event_type
        if kind == "SessionStarted":
            d = event.data
            digest, expires = d.get("tokenHash"), d.get("expiresAtMs")
            if isinstance(digest, str) and isinstance(expires, int) and event.user_id:
                self._sessions.started(digest, event.user_id, str(d.get("sessionId", "")), expires)
        if kind == "SessionEnded":
            self._sessions.ended(str(event.data.get("sessionId", "")))
        if kind in ERASED and event.user_id:
            self._sessions.forget_person(event.user_id)
            self.erased(event.user_id)
        if kind in EVERYONE:
            for cache in self.caches:
                cache.clear(event.position)
            return
        if kind.startswith(UNRELATED_PREFIXES):
            return
        people = set(people_named(event))
        for cache in self.caches:
            for person in people:
                cache.changed(person, event.position)
