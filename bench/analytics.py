"""Community mood and similar minds (issue 14).

Community mood: the release's aggregation (`columnstore.COHORT_SQL`: each pseudonym once, with
its week's means and most frequent quadrant) over de-identified check-in rows in HugMood's
DuckDB column store, for one cohort (a region in a finished week; a region in the current
week) and for every cohort at once (a whole-table scan); the baseline is the same aggregation
in SQLite on the same rows in the same order, given a covering index. Rows are generated
inside DuckDB in arrival order (week after week, as the consumer appends them), every week but
the last is compacted as the product does once a week is over (`ColumnStore.compact`), and
the rows are copied to SQLite.

Similar minds: HugMood's `MindIndex` (usearch HNSW) on 100,000 mood-pattern vectors built
from generated check-in counts and factor effects by `mood_vector`; recall@5 and query latency against the exact
NumPy search over the same vectors (the baseline), with held-out people as queries.

Run: `.venv/bin/python bench/analytics.py [--quick] [--rows N]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from _common import emit, emit_latencies, machine_params
from hugmood.analytics.columnstore import COHORT_SQL, QUADRANTS, ColumnStore
from hugmood.analytics.vectors import DIMENSIONS, FACTORS, WORDS, MindIndex, mood_vector, recall
from hugmood.application.queries.minds import MoodCounts
from hugmood.domain.vocabulary import MOODS, REGIONS

WEEKS = 52
CURRENT_WEEK = f"2026-W{WEEKS:02d}"
PEOPLE_PER_WEEK = 20_000
REGION_LIST = sorted(REGIONS)

SQLITE_COHORT = (
    "WITH per AS (SELECT pseudonym, quadrant, count(*) AS n, sum(energy) AS e,"
    " sum(pleasantness) AS p, sum(intensity) AS i FROM checkins"
    " WHERE region = ? AND week = ? GROUP BY pseudonym, quadrant),"
    " ranked AS (SELECT quadrant, row_number() OVER w AS r, sum(n) OVER w AS total,"
    " sum(e) OVER w AS e, sum(p) OVER w AS p, sum(i) OVER w AS i FROM per"
    " WINDOW w AS (PARTITION BY pseudonym ORDER BY n DESC, quadrant"
    " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))"
    " SELECT count(*), coalesce(sum(e / total), 0), coalesce(sum(p / total), 0),"
    " coalesce(sum(i / total), 0), "
    + ", ".join(f"coalesce(sum(quadrant = '{q}'), 0)" for q in QUADRANTS)
    + " FROM ranked WHERE r = 1"
)
DUCKDB_ALL = (
    "WITH people AS (SELECT region, week, pseudonym, avg(energy) AS energy,"
    " avg(pleasantness) AS pleasantness FROM checkins GROUP BY region, week, pseudonym)"
    " SELECT region, week, count(*), sum(energy), sum(pleasantness) FROM people"
    " GROUP BY region, week"
)
SQLITE_ALL = DUCKDB_ALL


def generate(store_path: Path, rows: int) -> float:
    """`rows` check-ins straight into the column store's table, by DuckDB itself."""
    columns = ColumnStore(store_path)
    columns.close()
    import duckdb

    conn = duckdb.connect(str(store_path))
    words = list(MOODS.values())
    mood_list = "[" + ", ".join(f"'{w.word}'" for w in words) + "]"
    quad_list = "[" + ", ".join(f"'{w.quadrant.value}'" for w in words) + "]"
    energy_list = "[" + ", ".join(str(w.energy) for w in words) + "]"
    pleasant_list = "[" + ", ".join(str(w.pleasantness) for w in words) + "]"
    region_list = "[" + ", ".join(f"'{r}'" for r in REGION_LIST) + "]"
    started = time.perf_counter()
    conn.execute("SELECT setseed(0.42)")
    conn.execute(
        f"""INSERT INTO checkins
        SELECT md5(i::VARCHAR), 'p' || (hash(i * 7) % {PEOPLE_PER_WEEK})::VARCHAR || '-' || w,
          {region_list}[1 + (hash(i * 7) % {len(REGION_LIST)})::INTEGER], w,
          DATE '2026-01-05' + ((i * {WEEKS} * 7) // {rows})::INTEGER, {mood_list}[m], {quad_list}[m],
          {energy_list}[m], {pleasant_list}[m], round(random(), 2)
        FROM (SELECT i, '2026-W' || lpad((1 + (i * {WEEKS}) // {rows})::VARCHAR, 2, '0') AS w,
              1 + (hash(i * 13) % {len(words)})::INTEGER AS m FROM range({rows}) t(i))"""
    )
    conn.close()
    return time.perf_counter() - started


def copy_to_sqlite(store_path: Path, sqlite_path: Path) -> float:
    import duckdb

    started = time.perf_counter()
    source = duckdb.connect(str(store_path), read_only=True)
    target = sqlite3.connect(sqlite_path)
    target.execute("PRAGMA journal_mode = OFF")
    target.execute("PRAGMA synchronous = OFF")
    target.execute(
        "CREATE TABLE checkins (row_key TEXT, pseudonym TEXT, region TEXT, week TEXT, day TEXT,"
        " mood TEXT, quadrant TEXT, energy REAL, pleasantness REAL, intensity REAL)"
    )
    cursor = source.execute(
        "SELECT row_key, pseudonym, region, week, day::VARCHAR, mood, quadrant, energy,"
        " pleasantness, intensity FROM checkins"
    )
    while batch := cursor.fetchmany(200_000):
        target.executemany("INSERT INTO checkins VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", batch)
    # A covering index: SQLite answers a cohort from the index alone, already in pseudonym
    # order, which is the best it can do (an index on (region, week) alone was 1.5-2x slower).
    target.execute(
        "CREATE INDEX checkins_cohort ON checkins"
        " (region, week, pseudonym, quadrant, energy, pleasantness, intensity)"
    )
    target.commit()
    target.close()
    source.close()
    return time.perf_counter() - started


def timed(run: Callable[[], Any], rounds: int) -> list[float]:
    run()  # warm: caches, plans
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return times


def community(rows: int, rounds: int, params: dict[str, Any]) -> None:
    import duckdb

    with tempfile.TemporaryDirectory() as folder:
        store_path = Path(folder) / "community.duckdb"
        sqlite_path = Path(folder) / "baseline.sqlite3"
        generated_s = generate(store_path, rows)
        # What the product does to every finished week (hourly): its rows sorted by cohort.
        # The last week stays in arrival order, as the current week is.
        started = time.perf_counter()
        columns = ColumnStore(store_path)
        asyncio.run(columns.compact(CURRENT_WEEK))
        columns.close()
        compacted_s = time.perf_counter() - started
        copied_s = copy_to_sqlite(store_path, sqlite_path)
        duck = duckdb.connect(str(store_path), read_only=True)
        lite = sqlite3.connect(sqlite_path)
        cohorts = [
            (REGION_LIST[i % len(REGION_LIST)], f"2026-W{1 + i % (WEEKS - 1):02d}")
            for i in range(rounds + 1)
        ]
        current = [(region, CURRENT_WEEK) for region in REGION_LIST]
        people = duck.execute(COHORT_SQL, list(cohorts[0])).fetchone()
        lite_people = lite.execute(SQLITE_COHORT, cohorts[0]).fetchone()
        if people is None or lite_people is None or people[0] != lite_people[0]:
            raise AssertionError(f"DuckDB and SQLite disagree: {people} vs {lite_people}")
        p = {
            **params,
            "rows": rows,
            "cohort_rows": rows // (WEEKS * len(REGION_LIST)),
            "cohort_people": int(people[0]),
            "generate_s": round(generated_s, 1),
            "copy_to_sqlite_s": round(copied_s, 1),
            "compact_s": round(compacted_s, 1),
            "sqlite": "covering index on (region, week, pseudonym, quadrant, values)",
            "order": "finished weeks sorted by region and pseudonym (compacted), as the"
            " product keeps them; SQLite holds the rows in the same order",
        }
        turn = iter(range(10**9))

        def duck_one() -> None:
            duck.execute(COHORT_SQL, list(cohorts[next(turn) % len(cohorts)])).fetchall()

        def lite_one() -> None:
            lite.execute(SQLITE_COHORT, cohorts[next(turn) % len(cohorts)]).fetchall()

        emit_latencies(
            "analytics.community_mood.one_cohort",
            timed(duck_one, rounds),
            "the same aggregation in SQLite",
            timed(lite_one, rounds),
            p,
        )

        def duck_now() -> None:
            duck.execute(COHORT_SQL, list(current[next(turn) % len(current)])).fetchall()

        def lite_now() -> None:
            lite.execute(SQLITE_COHORT, current[next(turn) % len(current)]).fetchall()

        emit_latencies(
            "analytics.community_mood.one_cohort_current_week",
            timed(duck_now, rounds),
            "the same aggregation in SQLite",
            timed(lite_now, rounds),
            {**p, "order": "the current week: rows in arrival order, regions interleaved"},
        )
        few = 3 if rows > 1_000_000 else 5  # a whole-table scan in SQLite takes seconds
        emit_latencies(
            "analytics.community_mood.every_cohort",
            timed(lambda: duck.execute(DUCKDB_ALL).fetchall(), few),
            "the same aggregation in SQLite",
            timed(lambda: lite.execute(SQLITE_ALL).fetchall(), few),
            {**p, "cohorts": WEEKS * len(REGION_LIST)},
        )
        duck.close()
        lite.close()


def people_vectors(n: int, seed: int) -> np.ndarray:
    """Vectors of `n` generated people: a few favourite moods each, 20–200 check-ins, and
    effects (mostly within ±0.3) for the 40% of the vocabulary's factors each has enough
    days with and without."""
    rng = np.random.default_rng(seed)
    vectors = np.zeros((n, DIMENSIONS), dtype=np.float32)
    for i in range(n):
        share = rng.dirichlet(np.full(len(WORDS), 0.15))
        counts = rng.multinomial(int(rng.integers(20, 200)), share)
        known = rng.random(len(FACTORS)) < 0.4
        effects = rng.normal(0.0, 0.15, size=len(FACTORS))
        vector = mood_vector(
            MoodCounts(
                {w: int(c) for w, c in zip(WORDS, counts, strict=True) if c},
                float(rng.random()),
                {f: float(e) for f, e, k in zip(FACTORS, effects, known, strict=True) if k},
            )
        )
        if vector is None:
            raise AssertionError("every generated person has enough check-ins")
        vectors[i] = vector
    return vectors


def similar_minds(n: int, queries: int, params: dict[str, Any]) -> None:
    started = time.perf_counter()
    vectors = people_vectors(n, seed=1)
    asked = people_vectors(queries, seed=2)
    built_vectors_s = time.perf_counter() - started
    index = MindIndex()
    started = time.perf_counter()
    index.add_many(np.arange(n, dtype=np.uint64), vectors)
    build_s = time.perf_counter() - started
    # Each search in a loop of its own: BLAS threads left spinning after an exact search
    # would otherwise land on the next HNSW query's timing.
    ours, exact_s, approximate, exact = [], [], [], []
    for query in asked:
        started = time.perf_counter()
        approximate.append(index.search(query, 5))
        ours.append(time.perf_counter() - started)
    for query in asked:
        started = time.perf_counter()
        exact.append(index.exact(query, 5))
        exact_s.append(time.perf_counter() - started)
    recalls = [recall(a, e) for a, e in zip(approximate, exact, strict=True)]
    p = {
        **params,
        "vectors": n,
        "dimensions": vectors.shape[1],
        "queries": queries,
        "build_s": round(build_s, 2),
        "vectors_s": round(built_vectors_s, 1),
    }
    emit(
        "analytics.similar_minds",
        "recall_at_5",
        float(np.mean(recalls)),
        "ratio",
        "exact NumPy search",
        1.0,
        {**p, "target": "recall@5 >= 0.95", "meets_target": float(np.mean(recalls)) >= 0.95},
        digits=4,
    )
    emit_latencies(
        "analytics.similar_minds.query",
        ours,
        "exact NumPy search (matrix @ query, argpartition)",
        exact_s,
        p,
        target_p99_ms=5.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="500,000 rows, 10,000 vectors")
    parser.add_argument("--rows", type=int, default=None, help="check-in rows (default 10 M)")
    parser.add_argument("--part", choices=("all", "minds", "community"), default="all")
    args = parser.parse_args()
    params = {**machine_params(), "quick": args.quick}
    rows = args.rows or (500_000 if args.quick else 10_000_000)
    if args.part in ("all", "minds"):
        similar_minds(10_000 if args.quick else 100_000, 200 if args.quick else 1000, params)
    if args.part in ("all", "community"):
        community(rows, 20 if args.quick else 100, params)


if __name__ == "__main__":
    main()
