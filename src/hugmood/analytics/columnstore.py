"""The analytics column store: de-identified check-ins in an embedded DuckDB file.

A row is one check-in: the person's weekly pseudonym, their home region, the week and day,
the mood word with its quadrant, energy and pleasantness, and the intensity; never a user
id, a handle, a note or a place. The consumer's checkpoint lives in the same file and moves
in the same transaction as the rows. DuckDB is synchronous and lets one process write its
file, so calls run in a worker thread, one at a time.

Rows arrive in time order, so a week's rows lie together but its regions are interleaved.
Once a week is over its rows are rewritten sorted by region and pseudonym (`compact`): a
cohort's rows then lie together too, and DuckDB's zone maps skip the rest of the week.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from hugmood.domain.vocabulary import Quadrant
from hugmood.private_files import PRIVATE_FILE, private_dir

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS checkins ("
    " row_key VARCHAR, pseudonym VARCHAR NOT NULL, region VARCHAR NOT NULL,"
    " week VARCHAR NOT NULL, day DATE NOT NULL, mood VARCHAR NOT NULL,"
    " quadrant VARCHAR NOT NULL, energy DOUBLE NOT NULL, pleasantness DOUBLE NOT NULL,"
    " intensity DOUBLE NOT NULL)",
    "CREATE TABLE IF NOT EXISTS checkpoint (name VARCHAR PRIMARY KEY, position BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS compacted (week VARCHAR PRIMARY KEY)",
)
QUADRANTS = tuple(q.value for q in Quadrant)


@dataclass(frozen=True, slots=True)
class CheckInRow:
    row_key: str
    pseudonym: str
    region: str
    week: str
    day: date
    mood: str
    quadrant: str
    energy: float
    pleasantness: float
    intensity: float


@dataclass(frozen=True, slots=True)
class CohortSums:
    """One cohort's exact sums with each person counted once: a person contributes their
    week's mean energy, pleasantness and intensity, and their most frequent quadrant."""

    people: int
    energy: float
    pleasantness: float
    intensity: float
    quadrants: dict[str, int]


COHORT_SQL = (
    "WITH per AS ("
    " SELECT pseudonym, quadrant, count(*) AS n, sum(energy) AS energy,"
    " sum(pleasantness) AS pleasantness, sum(intensity) AS intensity"
    " FROM checkins WHERE region = ? AND week = ? GROUP BY pseudonym, quadrant),"
    " people AS ("
    " SELECT sum(energy) / sum(n) AS energy, sum(pleasantness) / sum(n) AS pleasantness,"
    " sum(intensity) / sum(n) AS intensity, arg_max(quadrant, n) AS quadrant"
    " FROM per GROUP BY pseudonym)"
    " SELECT count(*), coalesce(sum(energy), 0), coalesce(sum(pleasantness), 0),"
    " coalesce(sum(intensity), 0),"
    + ", ".join(f"count(*) FILTER (WHERE quadrant = '{q}')" for q in QUADRANTS)
    + " FROM people"
)
"""Also what the benchmark times (with SQLite's equivalent as the baseline). Per person and
quadrant first, then per person: DuckDB plans `mode()` beside `avg()` as a second pass and
a join, which took 1.5-2x as long."""


class ColumnStore:
    """The DuckDB file (or an in-memory database when `path` is None)."""

    def __init__(self, path: Path | None) -> None:
        if path is not None:
            private_dir(path.parent)
        self._path = path
        self._conn = duckdb.connect(":memory:" if path is None else str(path))
        self._lock = threading.Lock()
        for statement in SCHEMA:
            self._conn.execute(statement)
        self._tighten()

    def _tighten(self) -> None:
        """DuckDB creates its files with the umask's mode: they are made 0600 (their folder
        is 0700 in any case)."""
        if self._path is None:
            return
        for file in (self._path, self._path.with_name(self._path.name + ".wal")):
            if file.exists():
                file.chmod(PRIVATE_FILE)

    async def position(self, name: str) -> int:
        def read() -> int:
            with self._lock:
                row = self._conn.execute(
                    "SELECT position FROM checkpoint WHERE name = ?", [name]
                ).fetchone()
            return 0 if row is None else int(row[0])

        return await asyncio.to_thread(read)

    async def apply(
        self,
        name: str,
        position: int,
        removed: Sequence[str],
        added: Sequence[CheckInRow],
    ) -> None:
        """Remove the rows of `removed` keys, add `added`, and move the checkpoint, together.
        An added row's key must be in `removed` if a row with it may already be there."""

        def write() -> None:
            with self._lock:
                self._conn.execute("BEGIN TRANSACTION")
                try:
                    keys = sorted(set(removed))
                    if keys:
                        self._conn.execute(
                            "DELETE FROM checkins WHERE row_key IN (SELECT unnest(?))", [keys]
                        )
                    if added:
                        self._conn.executemany(
                            "INSERT INTO checkins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [
                                [
                                    r.row_key,
                                    r.pseudonym,
                                    r.region,
                                    r.week,
                                    r.day,
                                    r.mood,
                                    r.quadrant,
                                    r.energy,
                                    r.pleasantness,
                                    r.intensity,
                                ]
                                for r in added
                            ],
                        )
                    self._conn.execute(
                        "INSERT INTO checkpoint VALUES (?, ?)"
                        " ON CONFLICT (name) DO UPDATE SET position = excluded.position",
                        [name, position],
                    )
                    self._conn.execute("COMMIT")
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
            self._tighten()

        await asyncio.to_thread(write)

    async def forget(self, pseudonyms: Sequence[str]) -> int:
        """Delete every row of these pseudonyms (a person's erasure); returns how many."""

        def delete() -> int:
            with self._lock:
                row = self._conn.execute(
                    "DELETE FROM checkins WHERE pseudonym IN (SELECT unnest(?)) RETURNING 1",
                    [list(pseudonyms)],
                ).fetchall()
            return len(row)

        return await asyncio.to_thread(delete) if pseudonyms else 0

    async def cohort(self, region: str, week: str) -> CohortSums:
        def read() -> CohortSums:
            with self._lock:
                row = self._conn.execute(COHORT_SQL, [region, week]).fetchone()
            if row is None:
                return CohortSums(0, 0.0, 0.0, 0.0, dict.fromkeys(QUADRANTS, 0))
            return CohortSums(
                int(row[0]),
                float(row[1]),
                float(row[2]),
                float(row[3]),
                {q: int(n) for q, n in zip(QUADRANTS, row[4:], strict=True)},
            )

        return await asyncio.to_thread(read)

    async def compact(self, before_week: str) -> list[str]:
        """Rewrite each week before `before_week` (ISO, so string order is time order) that
        is not compacted yet, its rows sorted by region and pseudonym; returns those weeks.
        Each week is one transaction: its rows are the same before and after."""

        def rewrite() -> list[str]:
            with self._lock:
                weeks = self._conn.execute(
                    "SELECT DISTINCT week FROM checkins WHERE week < ?"
                    " AND week NOT IN (SELECT week FROM compacted) ORDER BY week",
                    [before_week],
                ).fetchall()
            done = []
            for (week,) in weeks:
                # One week at a time, so new check-ins and queries wait for one week at most.
                with self._lock:
                    self._conn.execute("BEGIN TRANSACTION")
                    try:
                        self._conn.execute(
                            "CREATE TEMP TABLE compacting AS SELECT * FROM checkins"
                            " WHERE week = ? ORDER BY region, pseudonym",
                            [week],
                        )
                        self._conn.execute("DELETE FROM checkins WHERE week = ?", [week])
                        self._conn.execute("INSERT INTO checkins SELECT * FROM compacting")
                        self._conn.execute("DROP TABLE compacting")
                        self._conn.execute("INSERT INTO compacted VALUES (?)", [week])
                        self._conn.execute("COMMIT")
                    except BaseException:
                        self._conn.execute("ROLLBACK")
                        raise
                done.append(str(week))
            self._tighten()
            return done

        return await asyncio.to_thread(rewrite)

    async def dump(self) -> list[dict[str, object]]:
        """Every row (to inspect a small store: the tests, `hugmood` support)."""

        def read() -> list[dict[str, object]]:
            with self._lock:
                cursor = self._conn.execute("SELECT * FROM checkins ORDER BY day, mood")
                names = [d[0] for d in cursor.description or ()]
                return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

        return await asyncio.to_thread(read)

    def close(self) -> None:
        with self._lock:
            self._conn.close()
