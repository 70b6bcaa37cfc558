"""The complete export (issue 16): one person's archive with 10,000 check-ins, streamed piece
by piece from the read models (`application.export.export_json`), against the baseline of
the same entries read from the read model into one list and dumped as one JSON document, in
the same run: time (lower is better) and peak Python memory (tracemalloc, its own runs).

Run: `.venv/bin/python bench/export.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from _common import emit, machine_params, run
from hugmood.application.export import ExportSources, export_json
from hugmood.blobs.memory import InMemoryBlobStore
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.projections.catalog import all_projections
from hugmood.projections.schema import prepare_read_models
from hugmood.sql.sqlite import SqliteDatabase

BENCH = "export.json"
OWNER = "bench-owner"
NOTE = "Walked by the river after work, then tea with an old friend; slept well. "


class NoBoards:
    async def board_snapshot(self, *, viewer_id: str, board_id: str) -> dict[str, Any]:
        raise AssertionError("the bench person is on no board")


async def diary(db: SqliteDatabase, entries: int) -> None:
    rng = random.Random(16)
    statements: list[tuple[str, tuple[Any, ...]]] = [
        (
            "INSERT INTO rm_accounts (user_id, handle, display_name, bio, home_region,"
            " default_visibility, registered_at_ms) VALUES ($1, 'bench', 'Bench', '', 'eu',"
            " 'private', 0)",
            (OWNER,),
        )
    ]
    for n in range(entries):
        context = {"location": "home", "weather": "rainy", "tags": ["walk", "tea"]}
        insights = {"sentiment": 0.4, "emotions": ["joy"], "suggestedMood": "calm"}
        ms = 1_700_000_000_000 + n * 3_600_000
        statements.append(
            (
                "INSERT INTO rm_mood_entries (entry_id, user_id, mood_type, intensity, note,"
                " context_factors, privacy, recorded_at_ms, created_at_ms, updated_at_ms,"
                " insights) VALUES ($1, $2, $3, $4, $5, $6, 'private', $7, $7, $7, $8)",
                (
                    str(uuid.uuid4()),
                    OWNER,
                    rng.choice(["happy", "calm", "tired", "anxious"]),
                    round(rng.uniform(0.2, 0.9), 2),
                    NOTE * rng.randint(1, 3),
                    orjson.dumps(context).decode(),
                    ms,
                    orjson.dumps(insights).decode(),
                ),
            )
        )
    await db.apply(statements)


async def streamed(sources: ExportSources) -> int:
    """Ours: the archive as the HTTP endpoint sends it, each piece dropped once counted."""
    size = 0
    async for piece in export_json(sources, OWNER):
        size += len(piece)
    return size


async def in_one_list(sources: ExportSources) -> int:
    """The baseline: every entry read from the read model into one list, one JSON dump."""
    rows = await sources.readmodels.fetch(
        "SELECT entry_id, recorded_at_ms, mood_type, intensity, note, context_factors, privacy,"
        " insights FROM rm_mood_entries WHERE user_id = $1 ORDER BY recorded_at_ms",
        OWNER,
    )
    entries = [
        {
            "id": r[0],
            "recordedAt": r[1],
            "moodType": r[2],
            "intensity": r[3],
            "note": r[4],
            "contextFactors": orjson.loads(r[5]),
            "privacy": r[6],
            "insights": orjson.loads(r[7]),
        }
        for r in rows
    ]
    return len(orjson.dumps({"entries": entries}))


Job = Callable[[ExportSources], Awaitable[int]]


async def timed(job: Job, sources: ExportSources, rounds: int) -> list[float]:
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        await job(sources)
        seconds.append(time.perf_counter() - started)
    return seconds


async def peak_bytes(job: Job, sources: ExportSources) -> int:
    tracemalloc.start()
    try:
        await job(sources)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def main(quick: bool) -> None:
    sizes, rounds = ([10_000], 3) if quick else ([10_000, 50_000], 7)
    for entries in sizes:
        with tempfile.TemporaryDirectory() as folder:
            db = SqliteDatabase(Path(folder) / "readmodels.sqlite3", synchronous="NORMAL")
            await prepare_read_models(db, all_projections())
            await diary(db, entries)
            sources = ExportSources(db, InMemoryEventStore(), InMemoryBlobStore(), NoBoards())
            size = await streamed(sources)
            await in_one_list(sources)
            ours = await timed(streamed, sources, rounds)
            base = await timed(in_one_list, sources, rounds)
            ours_peak = await peak_bytes(streamed, sources)
            base_peak = await peak_bytes(in_one_list, sources)
            await db.close()
        params = {"entries": entries, "bytes": size, "rounds": rounds, **machine_params()}
        emit(
            BENCH,
            "seconds_median",
            statistics.median(ours),
            "s",
            "the same entries read from the read model into one list, one orjson dump",
            statistics.median(base),
            params,
            lower_is_better=True,
            digits=3,
        )
        emit(
            BENCH,
            "peak_python_mib",
            ours_peak / 2**20,
            "MiB",
            "the same entries read from the read model into one list, one orjson dump",
            base_peak / 2**20,
            params,
            lower_is_better=True,
            digits=2,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 entries, 3 rounds")
    run(main(parser.parse_args().quick))
