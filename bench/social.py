"""People you may know (issue 14): friends of friends at depth two, by HugMood's recursive
query through its read-model database, on 100,000 people with about 50 friends each (SQLite,
the embedded default), against the same answer from raw `sqlite3` with a plain two-join query
on the same file, in the same run.

Run: `.venv/bin/python bench/social.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from _common import emit_latencies, machine_params, run
from hugmood.application.queries.social import people_you_may_know
from hugmood.projections.catalog import all_projections
from hugmood.projections.schema import prepare_read_models
from hugmood.sql.sqlite import SqliteDatabase

BENCH = "social.people_you_may_know"
LIMIT = 10
RAW = """
SELECT f2.other_id, COUNT(*) AS mutual
FROM rm_friendships f1
JOIN rm_friendships f2 ON f2.user_id = f1.other_id AND f2.status = 'friends'
WHERE f1.user_id = ? AND f1.status = 'friends' AND f2.other_id <> ?
  AND NOT EXISTS (SELECT 1 FROM rm_friendships o WHERE o.user_id = ? AND o.other_id = f2.other_id)
  AND NOT EXISTS (SELECT 1 FROM rm_blocks b WHERE (b.blocker_id = ? AND b.blocked_id = f2.other_id)
                  OR (b.blocker_id = f2.other_id AND b.blocked_id = ?))
GROUP BY f2.other_id ORDER BY mutual DESC, f2.other_id LIMIT ?
"""


def fill(path: Path, people: int, friends: int) -> None:
    """`people` accounts, each befriending `friends / 2` others at random (so about
    `friends` each), both sides of each friendship stored as the projection stores them."""
    rng = random.Random(14)
    conn = sqlite3.connect(path)
    conn.executemany(
        "INSERT INTO rm_accounts (user_id, handle, display_name, home_region,"
        " default_visibility, registered_at_ms) VALUES (?, ?, ?, 'eu-west', 'private', 0)",
        ((f"u{n}", f"h{n}", f"Person {n}") for n in range(people)),
    )
    pairs: set[tuple[int, int]] = set()
    for n in range(people):
        for m in rng.sample(range(people), friends // 2):
            if m != n:
                pairs.add((min(n, m), max(n, m)))
    rows = [(f"u{a}", f"u{b}") for a, b in pairs]
    conn.executemany(
        "INSERT OR IGNORE INTO rm_friendships (user_id, other_id, status, since_ms)"
        " VALUES (?, ?, 'friends', 0)",
        rows + [(b, a) for a, b in rows],
    )
    conn.commit()
    conn.close()


async def main(quick: bool) -> None:
    people, friends, queries = (20_000, 50, 300) if quick else (100_000, 50, 1_000)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "readmodels.sqlite3"
        db = SqliteDatabase(path, synchronous="NORMAL")
        await prepare_read_models(db, all_projections())
        await db.close()
        started = time.perf_counter()
        fill(path, people, friends)
        filled_s = time.perf_counter() - started
        db = SqliteDatabase(path, synchronous="NORMAL")
        raw = sqlite3.connect(path)
        rng = random.Random(7)
        askers = [f"u{rng.randrange(people)}" for _ in range(queries)]
        ours: list[float] = []
        base: list[float] = []
        for asker in askers[:20]:  # warm both caches
            await people_you_may_know(db, asker, LIMIT)
            raw.execute(RAW, (asker, asker, asker, asker, asker, LIMIT)).fetchall()
        for asker in askers:
            started = time.perf_counter()
            found = await people_you_may_know(db, asker, LIMIT)
            ours.append(time.perf_counter() - started)
            started = time.perf_counter()
            expected = raw.execute(RAW, (asker, asker, asker, asker, asker, LIMIT)).fetchall()
            base.append(time.perf_counter() - started)
            assert [s.mutual_friends for s in found] == [r[1] for r in expected]
        raw.close()
        await db.close()
    emit_latencies(
        BENCH,
        ours,
        "raw sqlite3, the same answer with a plain two-join query (no accounts read)",
        base,
        {
            "people": people,
            "friends_each": friends,
            "queries": queries,
            "limit": LIMIT,
            "backend": "SQLite (read-model file, WAL)",
            "fill_s": round(filled_s, 1),
            **machine_params(),
        },
        target_p99_ms=20,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20,000 people, 300 queries")
    run(main(parser.parse_args().quick))
