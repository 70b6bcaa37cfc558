"""The global directory: which region keeps each account, by handle and by user id, so any
edge can route a person's requests to their home region. It holds nothing personal — a
handle (the account's public name, which friends type), the id derived from it, the region
and when it was claimed — and it is what makes a handle unique across regions: the first
region to claim it keeps it.

One SQL database serves every region: a SQLite file beside the regions' folders when they are
hosted in one process, a PostgreSQL database (`HUGMOOD_DIRECTORY_URL`, with a read replica in
each region at scale) when each region is a deployment of its own. An entry changes only
when its person moves (`hugmood region move`, with the servers stopped), so each process
keeps what it read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from hugmood.sql.database import Row, SqlDatabase
from hugmood.sql.migrations import Migration, apply_migrations

DIRECTORY_MIGRATIONS = (
    Migration(
        1,
        "listings",
        """
CREATE TABLE IF NOT EXISTS hm_directory (
    user_id TEXT PRIMARY KEY,
    handle TEXT NOT NULL UNIQUE,
    region TEXT NOT NULL,
    claimed_at_ms BIGINT NOT NULL
);
""",
    ),
)


@dataclass(frozen=True, slots=True)
class Listing:
    user_id: str
    handle: str
    region: str


class Directory:
    """Handle and user id → home region, shared by every region."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db
        self._by_handle: dict[str, Listing] = {}
        self._by_user: dict[str, Listing] = {}

    @classmethod
    async def open(cls, db: SqlDatabase) -> Directory:
        await apply_migrations(db, "directory", DIRECTORY_MIGRATIONS)
        return cls(db)

    async def close(self) -> None:
        await self._db.close()

    async def claim(self, handle: str, user_id: str, region: str) -> Listing:
        """List the account in `region` unless the handle is listed already; the listing
        that holds (another region's, when it was claimed there first)."""
        await self._db.apply(
            [
                (
                    "INSERT INTO hm_directory (user_id, handle, region, claimed_at_ms)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    (user_id, handle, region, int(time.time() * 1000)),
                )
            ]
        )
        found = await self.by_handle(handle)
        if found is None:  # the user id was listed under another handle: not a valid claim
            raise LookupError(f"user id {user_id} is listed under another handle")
        return found

    async def by_handle(self, handle: str) -> Listing | None:
        listing = self._by_handle.get(handle)
        if listing is None:
            listing = self._remember(
                await self._db.fetchrow(
                    "SELECT user_id, handle, region FROM hm_directory WHERE handle = $1", handle
                )
            )
        return listing

    async def by_user(self, user_id: str) -> Listing | None:
        listing = self._by_user.get(user_id)
        if listing is None:
            listing = self._remember(
                await self._db.fetchrow(
                    "SELECT user_id, handle, region FROM hm_directory WHERE user_id = $1",
                    user_id,
                )
            )
        return listing

    async def move(self, user_id: str, region: str) -> Listing:
        """Re-home a listing (`hugmood region move`, decision 0029). Processes keep what they
        read, so a move is made with the servers stopped; it is the one change a listing
        ever sees."""
        await self._db.apply(
            [("UPDATE hm_directory SET region = $2 WHERE user_id = $1", (user_id, region))]
        )
        old = self._by_user.pop(user_id, None)
        if old is not None:
            self._by_handle.pop(old.handle, None)
        listing = await self.by_user(user_id)
        if listing is None:
            raise LookupError(f"user id {user_id} is not listed")
        return listing

    async def listings(self) -> list[Listing]:
        """Every listing, in the order they were claimed (for operators)."""
        rows = await self._db.fetch(
            "SELECT user_id, handle, region FROM hm_directory ORDER BY claimed_at_ms, handle"
        )
        return [Listing(str(r[0]), str(r[1]), str(r[2])) for r in rows]

    def _remember(self, row: Row | None) -> Listing | None:
        if row is None:
            return None
        listing = Listing(str(row[0]), str(row[1]), str(row[2]))
        self._by_handle[listing.handle] = listing
        self._by_user[listing.user_id] = listing
        return listing
