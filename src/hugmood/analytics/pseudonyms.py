"""Pseudonyms for the analytics store, and the salts they come from, kept in one table of the
read-model database and nowhere else.

A person's pseudonym in a week is a keyed hash (HMAC-SHA256) of their user id under that
week's random salt, so the column store holds no user id, and pseudonyms of different weeks
cannot be linked to each other. Rows are keyed by a hash of the entry id under one more salt
(`ENTRY_PERIOD`), so an edit or a delete finds its row without the store knowing the entry.
Whoever holds the salts can recompute a person's pseudonyms, which is what an erasure needs
to forget them (`pseudonyms_of`); dropping a salt makes that week's rows unlinkable for good.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, date, datetime

from hugmood.sql.database import SqlDatabase
from hugmood.sql.migrations import Migration, apply_migrations

COMPONENT = "analytics:pseudonyms"
MIGRATIONS = (
    Migration(
        1,
        "salts",
        "CREATE TABLE IF NOT EXISTS an_pseudonym_salts ("
        " period TEXT PRIMARY KEY, salt TEXT NOT NULL, created_at_ms BIGINT NOT NULL)",
    ),
)
ENTRY_PERIOD = "entries"
"""The salt of row keys (hashes of entry ids), which never rotates."""


def iso_week(day: date) -> str:
    """`2026-W49`: the ISO week a day falls in, the period a salt and a cohort cover."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def keyed_hash(salt: bytes, value: str) -> str:
    return hmac.new(salt, value.encode(), hashlib.sha256).hexdigest()[:32]


class Salts:
    """Each period's salt, made on first use. Several processes may ask at once: the first
    insert wins and everyone reads the winner's salt back."""

    def __init__(self, db: SqlDatabase) -> None:
        self._db = db
        self._known: dict[str, bytes] = {}

    async def prepare(self) -> None:
        await apply_migrations(self._db, COMPONENT, MIGRATIONS)

    async def salt(self, period: str) -> bytes:
        known = self._known.get(period)
        if known is not None:
            return known
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        await self._db.apply(
            [
                (
                    "INSERT INTO an_pseudonym_salts (period, salt, created_at_ms)"
                    " VALUES ($1, $2, $3) ON CONFLICT (period) DO NOTHING",
                    (period, secrets.token_hex(32), now_ms),
                )
            ]
        )
        row = await self._db.fetchrow(
            "SELECT salt FROM an_pseudonym_salts WHERE period = $1", period
        )
        if row is None:
            raise LookupError(f"the salt of {period} was not stored")
        self._known[period] = bytes.fromhex(str(row[0]))
        return self._known[period]

    async def pseudonym(self, user_id: str, day: date) -> tuple[str, str]:
        """The person's pseudonym in the week of `day`, and that week."""
        week = iso_week(day)
        return keyed_hash(await self.salt(week), user_id), week

    async def row_key(self, entry_id: str) -> str:
        return keyed_hash(await self.salt(ENTRY_PERIOD), entry_id)

    async def pseudonyms_of(self, user_id: str) -> list[str]:
        """Every pseudonym the person has had, in every week whose salt is still kept."""
        rows = await self._db.fetch(
            "SELECT period, salt FROM an_pseudonym_salts WHERE period <> $1", ENTRY_PERIOD
        )
        return [keyed_hash(bytes.fromhex(str(salt)), user_id) for _, salt in rows]
