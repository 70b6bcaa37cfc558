"""Public profiles at the edge: what any stranger sees of a person (their profile, their
public check-ins, their friend count), cached per person, and how each viewer stands to them,
cached per pair. Only a stranger's view is ever cached or served: friends, the person
themself and anyone blocked either way are answered from the read models as before."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from hugmood.application.queries import identity as identity_queries
from hugmood.application.queries import moods as mood_queries
from hugmood.application.queries import social as social_queries
from hugmood.application.queries.identity import AccountView
from hugmood.application.queries.moods import MoodEntryView
from hugmood.domain import identity as identity_rules
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.privacy import Relationship
from hugmood.edge.tagged import TaggedCache
from hugmood.sql.database import SqlDatabase

MAX_RECENT = 50
NOBODY = "00000000-0000-0000-0000-000000000000"
"""A viewer id no account has: the read models answer it exactly what a stranger may see."""
NOT_A_STRANGER = "not a stranger"


@dataclass(frozen=True, slots=True)
class PublicPage:
    """A person as every stranger sees them."""

    account: AccountView
    recent: tuple[MoodEntryView, ...]
    """Their newest public check-ins, at most `MAX_RECENT`."""
    friend_count: int


@dataclass(frozen=True, slots=True)
class StrangerView:
    page: PublicPage
    status: str | None
    """`requested`, `incoming` or None: how the viewer stands to them (never friends)."""


class PublicViews:
    """The two caches behind a stranger's `user(handle)`, and their loaders."""

    def __init__(
        self,
        db: SqlDatabase,
        *,
        read_models_at: Callable[[], Awaitable[int]],
        fresh: Callable[[], bool],
        max_entries: int,
        ttl_s: float,
    ) -> None:
        self._db = db
        self._read_models_at = read_models_at
        self._fresh = fresh
        self.pages: TaggedCache[str, PublicPage] = TaggedCache(
            "public profile", max_entries=max_entries, ttl_s=ttl_s
        )
        self.pairs: TaggedCache[tuple[str, str], str] = TaggedCache(
            "relationship", max_entries=4 * max_entries, ttl_s=ttl_s
        )

    @property
    def caches(self) -> tuple[TaggedCache[str, PublicPage], TaggedCache[tuple[str, str], str]]:
        return self.pages, self.pairs

    async def stranger_view(self, viewer_id: str, handle: str) -> StrangerView | None:
        """What `viewer_id` sees of `handle` if they are strangers (from the cache when it
        can be), else None: the caller reads the read models itself."""
        if not self._fresh():
            # The log follower is behind what the read models are known to show: a cached
            # value might predate a change, so nothing is served or kept until it catches up.
            self.pages.misses += 1
            return None
        try:
            owner_id = identity_rules.user_id_for(handle)
        except ValidationFailed:
            return None
        if owner_id == viewer_id:
            return None
        status = await self._pair(viewer_id, owner_id)
        if status == NOT_A_STRANGER:
            return None
        page = await self._page(owner_id, handle)
        if page is None:
            return None
        return StrangerView(page, status or None)

    async def _pair(self, viewer_id: str, owner_id: str) -> str:
        key = (viewer_id, owner_id)
        found = self.pairs.get(key)
        if found is not None:
            return found
        loaded_at = await self._read_models_at()
        relationship = await social_queries.relationship(self._db, viewer_id, owner_id)
        if relationship is Relationship.STRANGER:
            status = await social_queries.friendship_status(self._db, viewer_id, owner_id)
            found = status or ""
        else:
            found = NOT_A_STRANGER
        self.pairs.put(key, found, (viewer_id, owner_id), loaded_at)
        return found

    async def _page(self, owner_id: str, handle: str) -> PublicPage | None:
        found = self.pages.get(owner_id)
        if found is not None:
            return found
        loaded_at = await self._read_models_at()
        account = await identity_queries.account_by_handle(self._db, handle)
        if account is None or account.user_id != owner_id:
            return None
        recent = await mood_queries.recent_visible(
            self._db, viewer_id=NOBODY, owner_id=owner_id, limit=MAX_RECENT
        )
        count = await social_queries.friend_count(self._db, owner_id)
        page = PublicPage(account, tuple(recent), count)
        self.pages.put(owner_id, page, (owner_id,), loaded_at)
        return page
