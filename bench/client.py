"""The local-first client: check-in latency on the device and sync throughput to the server.

- check-in: on-device analysis + AES-256-GCM sealing + a durable SQLite commit (WAL,
  synchronous=FULL) with the vault unlocked; baseline: the same entry inserted in plain text by
  raw sqlite3 with the same durability (no analysis, no encryption).
- sync: 10,000 check-ins queued offline (2,000 with --quick) uploaded to the embedded server
  (`hugmood serve`, SQLite) and the change feed read back, each stored exactly once; baseline
  in the same run: the same events posted by plain HTTP (a bare keep-alive connection, the same
  `recordMoods` batches, no vault) to the same server as another user.

Run: `.venv/bin/python bench/client.py [--quick]`; one JSON object a line.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from _common import (
    HttpConnection,
    HttpError,
    emit,
    emit_latencies,
    graphql_headers,
    hugmood_server,
    machine_params,
    register_and_log_in,
    servers,
)
from hugmood.client.device import Device, prepare_entry
from hugmood.client.records import LocalEntry
from hugmood.client.sync import upload_payload
from hugmood.client.vault import Vault

PASSPHRASE = "bench passphrase"  # noqa: S105  (a throwaway vault)
PASSWORD = "bench-password-1"  # noqa: S105  (a throwaway account on a throwaway server)
TARGET_CHECK_IN_P99_MS = 20.0
TARGET_SYNC_RATE = 2000.0
TARGET_SYNC_RATIO = 0.5
BATCH = 200
NOTES = [
    "Long day at work but the walk home in the rain was oddly calming",
    "Worried about the exam tomorrow, could not focus at all",
    "Had dinner with my sister, we laughed so much",
    "Tired and a bit lonely tonight, missing home",
    "Finally finished the project! Proud and relieved",
    "Angry at the landlord again, the heating is still broken",
    "Quiet morning with tea, feeling grateful",
]
RECORD_MOODS = (
    "mutation($entries: [RecordMoodInput!]!) { recordMoods(entries: $entries) { id status } }"
)
RAW_SCHEMA = """CREATE TABLE moods (entry_id TEXT PRIMARY KEY, recorded_at_ms INTEGER,
    mood_type TEXT, intensity REAL, note TEXT, context TEXT, privacy TEXT)"""


def check_in_latency(workdir: Path, count: int) -> tuple[list[float], list[float]]:
    """Seconds per check-in through the device, and per raw plain-text insert."""
    vault = Vault.create(workdir / "latency.sqlite", PASSPHRASE)  # the real KDF, unlocked once
    device = Device(vault)
    rng = random.Random(7)
    ours = []
    for i in range(count):
        note = rng.choice(NOTES)
        start = time.perf_counter()
        device.check_in(intensity=rng.random(), note=f"{note} ({i})", context={"tags": ["bench"]})
        ours.append(time.perf_counter() - start)
    vault.close()

    raw = sqlite3.connect(workdir / "raw.sqlite", isolation_level=None)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=FULL")
    raw.execute(RAW_SCHEMA)
    base = []
    for i in range(count):
        note = rng.choice(NOTES)
        start = time.perf_counter()
        raw.execute("BEGIN")
        raw.execute(
            "INSERT INTO moods VALUES (?, ?, ?, ?, ?, ?, ?)",
            (str(uuid.uuid4()), int(time.time() * 1000), "calm", rng.random(), f"{note} ({i})",
             '{"tags": ["bench"]}', "private"),
        )  # fmt: skip
        raw.execute("COMMIT")
        base.append(time.perf_counter() - start)
    raw.close()
    return ours, base


def queued_entries(count: int) -> list[LocalEntry]:
    rng = random.Random(count)
    start = datetime.now(UTC) - timedelta(days=30)
    now = datetime.now(UTC)
    return [
        prepare_entry(
            intensity=round(rng.random(), 2),
            mood_type=None,
            note=rng.choice(NOTES),
            context={"location": "home", "tags": ["bench"]},
            privacy="friends-only",
            recorded_at=start + timedelta(seconds=i * 60),
            entry_id=None,
            now=now,
        )
        for i in range(count)
    ]


async def plain_http_upload(port: int, token: str, entries: list[LocalEntry]) -> float:
    """Seconds to post the same events in the same batches, with no vault and no SDK."""
    payloads = [upload_payload(e, "never") for e in entries]
    conn = await HttpConnection.open(port)
    head = conn.head("POST", "/graphql", graphql_headers(token))
    start = time.perf_counter()
    try:
        for i in range(0, len(payloads), BATCH):
            body = orjson.dumps(
                {"query": RECORD_MOODS, "variables": {"entries": payloads[i : i + BATCH]}}
            )
            response = await conn.send(head, body)
            data = response.json()
            if response.status != 200 or data.get("errors"):
                raise HttpError(f"baseline upload failed: {response.body[:300]!r}")
    finally:
        conn.close()
    return time.perf_counter() - start


async def device_sync(workdir: Path, url: str, token: str, entries: list[LocalEntry]) -> float:
    """Seconds for a device whose vault holds `entries` queued offline to sync them all."""
    vault = Vault.create(workdir / f"sync-{uuid.uuid4().hex}.sqlite", PASSPHRASE)
    try:
        vault.add_entries(entries)
        device = Device(vault)
        device.remember_session(url, "bench", token)
        start = time.perf_counter()
        report = await device.sync(batch_size=BATCH)
        elapsed = time.perf_counter() - start
        counts = vault.counts()
    finally:
        vault.close()
    if report.uploaded != len(entries) or counts["pending"] or report.refused:
        raise RuntimeError(f"sync did not store every entry once: {report}, {counts}")
    return elapsed


async def sync_throughput(workdir: Path, count: int, rounds: int) -> tuple[float, float]:
    """Best seconds of `rounds` alternating runs each: the device's sync, plain HTTP posting.

    Each run is a fresh user with fresh entries on the same warmed-up server, so neither side
    profits from the other's work; alternating spreads the noise of a shared machine.
    """
    server = hugmood_server(workdir / "server", workdir / "server.log")
    with servers(server):
        await server.wait_ready()
        url = f"http://127.0.0.1:{server.port}"
        conn = await HttpConnection.open(server.port)
        try:
            tokens = [
                await register_and_log_in(conn, f"bench_{i}", PASSWORD)
                for i in range(2 * rounds + 1)
            ]
        finally:
            conn.close()
        await plain_http_upload(server.port, tokens.pop(), queued_entries(2 * BATCH))  # warm-up
        ours, plain = [], []
        for _ in range(rounds):
            ours.append(await device_sync(workdir, url, tokens.pop(), queued_entries(count)))
            plain.append(await plain_http_upload(server.port, tokens.pop(), queued_entries(count)))
        print(f"client bench: sync runs {ours}, plain runs {plain}", file=sys.stderr)
    return min(ours), min(plain)


async def main(quick: bool) -> None:
    check_ins = 300 if quick else 2000
    queued = 2000 if quick else 10_000
    with tempfile.TemporaryDirectory(prefix="hugmood-bench-client-") as tmp:
        workdir = Path(tmp)
        ours, base = check_in_latency(workdir, check_ins)
        synced_s, plain_s = await sync_throughput(workdir, queued, rounds=2)
    common = {"durability": "SQLite WAL synchronous=FULL", **machine_params()}
    emit_latencies(
        "client.check_in",
        ours,
        "raw sqlite3 INSERT+COMMIT of the plain-text entry (same durability)",
        base,
        {**common, "check_ins": check_ins, "includes": "VADER + emotion lexicon, AES-256-GCM"},
        target_p99_ms=TARGET_CHECK_IN_P99_MS,
    )
    rate = queued / synced_s
    plain_rate = queued / plain_s
    emit(
        "client.sync",
        "events_per_s",
        rate,
        "1/s",
        f"plain HTTP recordMoods in batches of {BATCH}, no vault",
        plain_rate,
        {
            **common,
            "events": queued,
            "batch": BATCH,
            "runs": "best of 2 each, alternating, fresh users",
            "includes": "unseal, upload, settle outbox, download the change feed",
            "target": f">= {TARGET_SYNC_RATE:g}/s and >= {TARGET_SYNC_RATIO:.0%} of baseline",
            "meets_target": rate >= TARGET_SYNC_RATE and rate >= TARGET_SYNC_RATIO * plain_rate,
        },
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 check-ins, 2,000 synced")
    args = parser.parse_args()
    asyncio.run(main(args.quick))
