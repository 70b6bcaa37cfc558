"""The similar-minds index of this process: every discoverable person's mood-pattern vector,
loaded from the read models at start and kept current by following the log."""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from hugmood.analytics.vectors import MindIndex, factor_effects, mood_counts, mood_vector
from hugmood.application.queries import minds as queries
from hugmood.eventstore.envelope import RecordedEvent
from hugmood.eventstore.store import EventStore
from hugmood.eventstore.subscription import LogConsumer
from hugmood.sql.database import SqlDatabase

log = logging.getLogger(__name__)


class SimilarMinds(LogConsumer):
    """Vectors by key (`rm_discoverable.mind_key`). A check-in or a change of the setting
    marks its person; their vector is recomputed from the read models before the next
    search, once the read models reflect that event. The index holds only keys and vectors:
    who may see whom is decided by the query (`queries.minds.similar_minds`)."""

    name = "similar minds"

    def __init__(
        self,
        store: EventStore,
        db: SqlDatabase,
        types: frozenset[str] | None,
    ) -> None:
        super().__init__(store, types)
        self._db = db
        self._index = MindIndex()
        self._stale: dict[str, int] = {}
        """People whose vector may be out of date, with the position of the latest event
        that says so."""
        self._key_of: dict[str, int] = {}
        """Whose vector each key is: what an erasure needs to forget a person's vector."""
        self._loaded = False

    @property
    def index(self) -> MindIndex:
        return self._index

    async def starting(self) -> None:
        await super().starting()
        await self.load()

    async def load(self) -> None:
        """Every discoverable person's vector, from the read models."""
        people = await queries.discoverable_people(self._db)
        counts = await mood_counts(self._db, [user for user, _ in people])
        keys: list[int] = []
        vectors: list[queries.Vector] = []
        for user, key in people:
            found = counts.get(user)
            vector = None if found is None else mood_vector(found)
            if vector is not None:
                keys.append(key)
                vectors.append(vector)
                self._key_of[user] = key
        if keys:
            # Building the graph takes a while for many people (~0.3 ms each): off the loop.
            await asyncio.to_thread(
                self._index.add_many, np.array(keys, dtype=np.uint64), np.stack(vectors)
            )
        self._loaded = True
        log.info("similar minds: %s vectors loaded", len(self._index))

    async def handle(self, event: RecordedEvent) -> None:
        if event.event_type == "UserErased":
            # Forgotten at once, not at the next search: the read models no longer say whose
            # key it was by then.
            erased = str(event.data["userId"])
            key = self._key_of.pop(erased, None)
            if key is not None:
                self._index.remove(key)
            self._stale.pop(erased, None)
            return
        user = event.user_id
        if user:
            self._stale[user] = event.position

    async def refresh(self, read_models_at: int, *, also: tuple[str, ...] = ()) -> None:
        """Recompute the vectors of people marked by events the read models reflect, and of
        `also` (the person asking, whose own latest check-ins should count at once)."""
        if not self._loaded:
            await self.load()
        due = [u for u, at in self._stale.items() if at <= read_models_at]
        due += [u for u in also if u not in due]
        if not due:
            return
        counts = await mood_counts(self._db, due)
        for user in due:
            setting = await queries.mind_key(self._db, user)
            if setting is not None:
                key, discoverable = setting
                self._index.remove(key)
                found = counts.get(user)
                vector = None if found is None or not discoverable else mood_vector(found)
                if vector is not None:
                    self._index.put(key, vector)
                    self._key_of[user] = key
                else:
                    self._key_of.pop(user, None)
            if self._stale.get(user, 0) <= read_models_at:
                self._stale.pop(user, None)

    def vector_of(self, key: int) -> queries.Vector | None:
        return self._index.vector(key)

    def nearest(self, query: queries.Vector, count: int) -> list[int]:
        return [n.key for n in self._index.search(query, count)]

    def size(self) -> int:
        return len(self._index)

    def factor_effects(self, key: int) -> dict[str, float] | None:
        vector = self._index.vector(key)
        return None if vector is None else factor_effects(vector)
