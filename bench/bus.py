"""The distributed log. Relay throughput: the event relay publishing the store's log to NATS
JetStream (read a batch, encode, publish with acks, move the checkpoint) against raw nats-py
JetStream publishing of the same payloads with acks, in the same run and on the same server.
Then the durable consumers (`_bus_consumers.py`): end-to-end lag at 1,000 events/s against
the embedded path, a CPU-bound consumer in two workers against one, and recovery after a
worker is SIGKILLed (PostgreSQL and Redis needed for the last two).

Run: `.venv/bin/python bench/bus.py [--quick] [--nats-url URL]`; one JSON object a line. Each
measurement publishes into a fresh file-backed stream of its own, deleted afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from datetime import UTC, datetime

import nats
from nats.js.api import StorageType

from _bus_consumers import measure_lag, measure_recovery, measure_scaling
from _common import emit, machine_params, run
from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.messaging.bus import MSG_ID_HEADER, OutgoingMessage, StreamSettings
from hugmood.messaging.jetstream import JetStreamBus, NatsKvLease
from hugmood.messaging.relay import EventRelay, event_message
from hugmood.sql.sqlite import SqliteDatabase

BENCH = "bus"
REGION = "eu-west"
BATCH = 500
TARGET_RATIO = 0.7


def new_event(n: int) -> NewEvent:
    return NewEvent(
        event_id=uuid.uuid4(),
        event_type="MoodRecorded",
        version=1,
        timestamp=datetime.now(UTC),
        user_id=f"user-{n % 100}",
        data={"mood": "calm", "intensity": n % 10, "note": None, "tags": ["work", "sleep"]},
        metadata={
            "deviceId": "bench",
            "appVersion": "0.1.0",
            "privacySetting": "friends",
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "region": REGION,
        },
    )


async def filled_store(count: int) -> InMemoryEventStore:
    store = InMemoryEventStore()
    for start in range(0, count, 100):
        events = [new_event(n) for n in range(start, min(count, start + 100))]
        await store.append(f"mood-{uuid.uuid4().hex[:12]}", events)
    return store


def stream_settings(prefix: str) -> StreamSettings:
    return StreamSettings(
        name=prefix.upper(), subjects=(f"{prefix}.>",), storage="file", duplicate_window_s=120
    )


async def relay_rate(url: str, store: InMemoryEventStore, last: int) -> float:
    """Events a second from the relay's start until its checkpoint reaches `last`."""
    prefix = f"benchrelay{uuid.uuid4().hex[:8]}"
    bus = await JetStreamBus.connect(url, stream_settings(prefix))
    await bus.start()
    db = SqliteDatabase(None)
    lease = NatsKvLease(bus.jetstream, f"{prefix.upper()}_leases", "relay", "bench", 5.0)
    relay = EventRelay(
        store, db, bus, lease, region=REGION, subject_prefix=prefix, batch_size=BATCH
    )
    try:
        started = time.perf_counter()
        async with relay:
            if not await relay.wait_for(last, timeout_s=120):
                raise RuntimeError(f"the relay stopped at {relay.position} of {last}")
            elapsed = time.perf_counter() - started
    finally:
        await bus.jetstream.delete_stream(prefix.upper())
        await bus.jetstream.delete_key_value(f"{prefix.upper()}_leases")
        await bus.close()
        await db.close()
    return last / elapsed


async def raw_rate(url: str, events: list[RecordedEvent], *, pipelined: bool) -> float:
    """Raw nats-py: the same subjects, payloads and headers, each acknowledged by JetStream;
    in windows of BATCH publishes awaited together (`pipelined`), or one ack at a time."""
    prefix = f"benchraw{uuid.uuid4().hex[:8]}"
    messages: list[OutgoingMessage] = [event_message(prefix, REGION, e) for e in events]
    nc = await nats.connect(url)
    js = nc.jetstream(timeout=10)
    await js.add_stream(
        name=prefix.upper(),
        subjects=[f"{prefix}.>"],
        storage=StorageType.FILE,
        duplicate_window=120,
    )
    try:
        started = time.perf_counter()
        for start in range(0, len(messages), BATCH):
            window = messages[start : start + BATCH]
            if pipelined:
                futures = [
                    await js.publish_async(
                        m.subject, m.data, headers={**m.headers, MSG_ID_HEADER: m.msg_id}
                    )
                    for m in window
                ]
                await asyncio.gather(*futures)
            else:
                for m in window:
                    await js.publish(
                        m.subject, m.data, headers={**m.headers, MSG_ID_HEADER: m.msg_id}
                    )
        elapsed = time.perf_counter() - started
    finally:
        await js.delete_stream(prefix.upper())
        await nc.close()
    return len(messages) / elapsed


async def main(quick: bool, url: str) -> None:
    count = 10_000 if quick else 50_000
    rounds = 1 if quick else 3
    store = await filled_store(count)
    events = await store.read_all(0, count)
    last = events[-1].position
    await raw_rate(url, events[:BATCH], pipelined=True)  # warm up the server and the client
    ours, pipelined, sequential = [], [], []
    for _ in range(rounds):
        pipelined.append(await raw_rate(url, events, pipelined=True))
        ours.append(await relay_rate(url, store, last))
        sequential.append(await raw_rate(url, events[: count // 5], pipelined=False))
    params = {
        "events": count,
        "batch": BATCH,
        "rounds": rounds,
        "payload_bytes": len(event_message("p", REGION, events[0]).data),
        "storage": "file",
        "store": "in-memory event store, in-memory SQLite checkpoint",
        "relay_time_includes": "its start: checkpoint table, lease, stream check",
        "target": f"ratio >= {TARGET_RATIO}",
        "meets_target": max(ours) / max(pipelined) >= TARGET_RATIO,
        **machine_params(),
    }
    emit(
        BENCH,
        "relay_events_per_s",
        max(ours),
        "1/s",
        f"raw nats-py js.publish_async, {BATCH} acks awaited together",
        max(pipelined),
        params,
    )
    emit(
        BENCH,
        "relay_events_per_s_vs_sequential",
        max(ours),
        "1/s",
        "raw nats-py js.publish, one ack awaited at a time",
        max(sequential),
        {**params, "baseline_events": count // 5},
    )
    await measure_lag(url, quick)
    await measure_scaling(url, quick)
    await asyncio.to_thread(measure_recovery, url, quick)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 events, one round")
    parser.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    args = parser.parse_args()
    try:
        run(main(args.quick, args.nats_url))
    except (OSError, nats.errors.Error) as e:
        print(f"bench/bus.py: NATS at {args.nats_url} is not usable: {e}", file=sys.stderr)
        sys.exit(1)
