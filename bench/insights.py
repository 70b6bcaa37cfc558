"""Personal insights (issue 14): recomputing one person's insights from two years of daily
check-ins (read from the read models, days summarised, every factor tested same-day and
next-day, weekday, time-of-day and trend) against the same Welch tests run directly with
SciPy on arrays already in memory, in the same run. Target: under 50 ms.

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
from hugmood.insights.statistics import CheckIn, factor_labels, findings
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
    """The consumer's path: read the person's check-ins, analyse them."""
    started = time.perf_counter()
    entries = await entries_for_analysis(db, OWNER)
    checkins = [
        CheckIn(
            e.recorded_at,
            e.mood,
            e.intensity,
            factor_labels(
                e.context.location, e.context.weather, e.context.social_context, e.context.tags
            ),
            e.sentiment,
        )
        for e in entries
    ]
    findings(checkins)
    return time.perf_counter() - started


def direct(groups: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """The baseline: the same Welch tests (with their intervals) on arrays in memory."""
    started = time.perf_counter()
    for with_, without in groups:
        stats.ttest_ind(with_, without, equal_var=False).confidence_interval(0.99)
    return time.perf_counter() - started


async def main(quick: bool) -> None:
    days, rounds = (365, 30) if quick else (730, 100)
    with tempfile.TemporaryDirectory() as folder:
        db = SqliteDatabase(Path(folder) / "readmodels.sqlite3", synchronous="NORMAL")
        await prepare_read_models(db, all_projections())
        await diary(db, days)
        # The baseline's arrays: one pair per test the analysis runs (factor x measure x lag).
        entries = await entries_for_analysis(db, OWNER)
        rng = np.random.default_rng(1)
        tests = 2 * 2 * 8  # measures x lags x factor labels of this diary
        groups = [
            (rng.normal(0, 0.3, size=len(entries) // 3), rng.normal(0, 0.3, size=len(entries) // 2))
            for _ in range(tests)
        ]
        await ours(db)
        direct(groups)
        ours_s = [await ours(db) for _ in range(rounds)]
        base_s = [direct(groups) for _ in range(rounds)]
        await db.close()
    emit_latencies(
        BENCH,
        ours_s,
        f"the same {tests} Welch tests with intervals, SciPy on arrays in memory",
        base_s,
        {"days": days, "checkins": len(entries), "rounds": rounds, **machine_params()},
        target_p99_ms=50,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one year, 30 rounds")
    run(main(parser.parse_args().quick))
