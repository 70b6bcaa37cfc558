"""Personal insights (issue 14): recomputing one person's insights from two years of daily
check-ins (read from the read models, days summarised, every factor tested same-day and
next-day, weekday, time-of-day and trend) against the same tests run directly with SciPy,
one call each, on the same day arrays already in memory, in the same run. Target: under
50 ms.

Run: `.venv/bin/python bench/insights.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import orjson
from scipy import stats

from _common import emit_latencies, machine_params, run
from hugmood.application.queries.insights import entries_for_analysis
from hugmood.entrypoints.heap import settle_heap
from hugmood.insights.days import MIN_DAYS, DayTable
from hugmood.insights.service import days_of
from hugmood.insights.statistics import findings_of
from hugmood.projections.catalog import all_projections
from hugmood.projections.schema import prepare_read_models
from hugmood.sql.sqlite import SqliteDatabase

BENCH = "insights.recompute"
OWNER = "bench-owner"
FACTORS = {
    "tags": ["walk", "work", "reading"],
    "weather": ["sunny", "rainy"],
    "social": ["friends"],
}


async def diary(db: SqliteDatabase, days: int) -> None:
    rng = random.Random(14)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    statements = []
    for n in range(days):
        tags = [t for t in FACTORS["tags"] if rng.random() < 0.35]
        context = {
            "location": "home" if rng.random() < 0.5 else "office",
            "weather": rng.choice(FACTORS["weather"]),
            "socialContext": "friends" if rng.random() < 0.3 else None,
            "tags": tags,
        }
        at = start + timedelta(days=n, hours=rng.choice([8, 13, 19]))
        ms = int(at.timestamp() * 1000)
        statements.append(
            (
                "INSERT INTO rm_mood_entries (entry_id, user_id, mood_type, intensity, note,"
                " context_factors, privacy, recorded_at_ms, created_at_ms, updated_at_ms)"
                " VALUES ($1, $2, $3, $4, NULL, $5, 'private', $6, $6, $6)",
                (
                    str(uuid.uuid4()),
                    OWNER,
                    rng.choice(["happy", "calm", "tired", "anxious"]),
                    round(rng.uniform(0.2, 0.9), 2),
                    orjson.dumps(context).decode(),
                    ms,
                ),
            )
        )
    await db.apply(statements)


async def ours(db: SqliteDatabase) -> float:
    """The consumer's path: read the person's check-ins, summarise their days, analyse."""
    started = time.perf_counter()
    findings_of(days_of(await entries_for_analysis(db, OWNER)))
    return time.perf_counter() - started


def same_arrays(table: DayTable) -> list[tuple[np.ndarray, np.ndarray]]:
    """The pairs of samples the analysis compares: for each lag, factor and measure with
    enough days on each side, the days with the factor against the days without."""
    pairs = []
    for lag in (0, 1):
        later = {int(d): i for i, d in enumerate(table.days)}
        rows = [(i, later[int(d) + lag]) for i, d in enumerate(table.days) if int(d) + lag in later]
        has = table.has[[i for i, _ in rows]]
        measures = table.measures[[j for _, j in rows]]
        for column in range(len(table.labels)):
            mask = has[:, column]
            if mask.sum() >= MIN_DAYS and (~mask).sum() >= MIN_DAYS:
                for m in range(2):
                    pairs.append((measures[mask, m], measures[~mask, m]))
    return pairs


def direct(table: DayTable, pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """The baseline: the same tests, one SciPy call each, on the same day arrays already in
    memory (Welch's t-test with its interval per factor test; one-way ANOVA per pattern)."""
    started = time.perf_counter()
    for with_, without in pairs:
        stats.ttest_ind(with_, without, equal_var=False).confidence_interval(0.99)
    weekday = (table.days - 1) % 7
    for m in range(2):
        for group, values in (
            (weekday, table.measures[:, m]),
            (table.cell_parts, table.cell_measures[:, m]),
        ):
            stats.f_oneway(*(values[group == k] for k in np.unique(group)))
    return time.perf_counter() - started


async def main(quick: bool) -> None:
    days, rounds = (365, 30) if quick else (730, 100)
    with tempfile.TemporaryDirectory() as folder:
        db = SqliteDatabase(Path(folder) / "readmodels.sqlite3", synchronous="NORMAL")
        await prepare_read_models(db, all_projections())
        await diary(db, days)
        # The baseline's arrays: the very day summaries the analysis tests.
        entries = await entries_for_analysis(db, OWNER)
        table = days_of(entries)
        pairs = same_arrays(table)
        await ours(db)
        direct(table, pairs)
        # As a server or worker process runs once started (both are measured alike).
        settle_heap()
        ours_s = [await ours(db) for _ in range(rounds)]
        base_s = [direct(table, pairs) for _ in range(rounds)]
        await db.close()
    emit_latencies(
        BENCH,
        ours_s,
        f"the same {len(pairs)} Welch tests with intervals and 4 ANOVAs, one SciPy call each,"
        " on the same day arrays in memory",
        base_s,
        {"days": days, "checkins": len(entries), "rounds": rounds, **machine_params()},
        target_p99_ms=50,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one year, 30 rounds")
    run(main(parser.parse_args().quick))
