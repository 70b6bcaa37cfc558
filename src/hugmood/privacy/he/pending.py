"""Community contributions waiting for their cohort to close, and the releases made from them,
in the read-model database every server process shares (a SQLite file, or PostgreSQL).

Any process may accept a contribution (one a member a cohort: the primary key says so) and
any may release a closed cohort: a process first claims it (a row in the releases table, taken
by a compare-and-set, with a lease so that a claimer that died is taken over), and the
release is published and the cohort's contributions deleted in one transaction, guarded by
that claim. So a cohort's contributions through every process count together, survive a
restart, and are released (or dropped) once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson

from hugmood.privacy.he.community import MAX_CONTRIBUTIONS
from hugmood.privacy.he.errors import SlotOverflow, ValueOutOfRange
from hugmood.sql.database import SqlDatabase
from hugmood.sql.migrations import Migration, apply_migrations

COMPONENT = "privacy:community-cohorts"
MIGRATIONS = (
    Migration(
        1,
        "pending contributions and releases",
        "CREATE TABLE IF NOT EXISTS he_pending_contributions ("
        " cohort TEXT NOT NULL, member TEXT NOT NULL, ciphertext TEXT NOT NULL,"
        " accepted_at_ms BIGINT NOT NULL, PRIMARY KEY (cohort, member));"
        "CREATE TABLE IF NOT EXISTS he_cohort_releases ("
        " cohort TEXT PRIMARY KEY, region TEXT NOT NULL, day TEXT NOT NULL,"
        " outcome TEXT NOT NULL, claimed_by TEXT NOT NULL, claimed_at_ms BIGINT NOT NULL,"
        " answer TEXT)",
    ),
)

CLAIMED, RELEASED, NOT_RELEASED = "claimed", "released", "not released"
LEASE_MS = 15 * 60 * 1000
"""A claim older than this is taken over (a release of 20,000 contributions takes minutes)."""


@dataclass(frozen=True, slots=True)
class PendingCohort:
    cohort: str
    size: int
    settled: bool
    """Already released or given up: contributions still here came late and are dropped."""


class SharedCohorts:
    """The pending contributions and published releases of every cohort, shared by processes."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    async def prepare(self) -> None:
        await apply_migrations(self._db, COMPONENT, MIGRATIONS)

    async def add(self, cohort: str, member: str, ciphertext: int, now_ms: int) -> None:
        """Keep one checked contribution; `ValueOutOfRange` for a member's second one."""
        row = await self._db.fetchrow(
            "SELECT count(*) FROM he_pending_contributions WHERE cohort = $1", cohort
        )
        if row is not None and int(row[0]) >= MAX_CONTRIBUTIONS:
            raise SlotOverflow(f"cohort {cohort!r} is full")
        stored = await self._db.apply(
            [],
            guard=(
                "INSERT INTO he_pending_contributions (cohort, member, ciphertext, accepted_at_ms)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (cohort, member) DO NOTHING",
                (cohort, member, format(ciphertext, "x"), now_ms),
            ),
        )
        if not stored:
            raise ValueOutOfRange(f"you already contributed to cohort {cohort!r}")

    async def pending(self, region: str) -> list[PendingCohort]:
        """The region's cohorts that hold contributions, with their sizes."""
        rows = await self._db.fetch(
            "SELECT p.cohort, count(*), max(CASE WHEN r.outcome IN ($2, $3) THEN 1 ELSE 0 END)"
            " FROM he_pending_contributions p"
            " LEFT JOIN he_cohort_releases r ON r.cohort = p.cohort"
            " WHERE p.cohort LIKE $1 GROUP BY p.cohort ORDER BY p.cohort",
            f"{region}/%",
            RELEASED,
            NOT_RELEASED,
        )
        return [PendingCohort(str(r[0]), int(r[1]), bool(r[2])) for r in rows]

    async def contributions(self, cohort: str) -> list[int]:
        rows = await self._db.fetch(
            "SELECT ciphertext FROM he_pending_contributions WHERE cohort = $1"
            " ORDER BY accepted_at_ms LIMIT $2",
            cohort,
            MAX_CONTRIBUTIONS,
        )
        return [int(r[0], 16) for r in rows]

    async def claim(self, cohort: str, region: str, day: date, process: str, now_ms: int) -> bool:
        """Take the right to release `cohort` (True), unless another process holds a live
        claim or the cohort is settled."""
        return await self._db.apply(
            [],
            guard=(
                "INSERT INTO he_cohort_releases"
                " (cohort, region, day, outcome, claimed_by, claimed_at_ms, answer)"
                " VALUES ($1, $2, $3, $4, $5, $6, NULL)"
                " ON CONFLICT (cohort) DO UPDATE SET claimed_by = excluded.claimed_by,"
                " claimed_at_ms = excluded.claimed_at_ms"
                " WHERE he_cohort_releases.outcome = $4"
                " AND he_cohort_releases.claimed_at_ms < $7",
                (cohort, region, day.isoformat(), CLAIMED, process, now_ms, now_ms - LEASE_MS),
            ),
        )

    async def settle(
        self, cohort: str, process: str, answer: dict[str, Any] | None, now_ms: int
    ) -> bool:
        """Publish the release (`answer`) or give the cohort up (None), and delete its
        contributions, all at once; False if the claim was lost to another process."""
        return await self._db.apply(
            [("DELETE FROM he_pending_contributions WHERE cohort = $1", (cohort,))],
            guard=(
                "UPDATE he_cohort_releases SET outcome = $1, answer = $2, claimed_at_ms = $3"
                " WHERE cohort = $4 AND claimed_by = $5 AND outcome = $6",
                (
                    NOT_RELEASED if answer is None else RELEASED,
                    None if answer is None else orjson.dumps(answer).decode(),
                    now_ms,
                    cohort,
                    process,
                    CLAIMED,
                ),
            ),
        )

    async def unclaim(self, cohort: str, process: str) -> None:
        """Let another process try at once (the decryption service was away)."""
        await self._db.apply(
            [
                (
                    "UPDATE he_cohort_releases SET claimed_at_ms = 0"
                    " WHERE cohort = $1 AND claimed_by = $2 AND outcome = $3",
                    (cohort, process, CLAIMED),
                )
            ]
        )

    async def drop(self, cohort: str) -> None:
        """Delete a cohort's contributions without any release (below k, or came late)."""
        await self._db.apply(
            [("DELETE FROM he_pending_contributions WHERE cohort = $1", (cohort,))]
        )

    async def releases(self, region: str, start: date, end: date) -> list[dict[str, Any]]:
        """The region's published releases from `start` to `end`, oldest first."""
        rows = await self._db.fetch(
            "SELECT day, answer FROM he_cohort_releases"
            " WHERE region = $1 AND outcome = $2 AND day >= $3 AND day <= $4 ORDER BY day",
            region,
            RELEASED,
            start.isoformat(),
            end.isoformat(),
        )
        return [{**orjson.loads(r[1]), "day": str(r[0])} for r in rows]
