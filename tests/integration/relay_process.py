"""A relay in a process of its own, for tests that kill it: `python -m
tests.integration.relay_process <nats url> <stream prefix> <data dir> <holder>`. It publishes
the SQLite log in `<data dir>` until it is killed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from hugmood.eventstore.sqlite import SqliteEventStore
from hugmood.messaging.bus import StreamSettings
from hugmood.messaging.jetstream import JetStreamBus, NatsKvLease
from hugmood.messaging.relay import EventRelay
from hugmood.sql.sqlite import SqliteDatabase

LEASE_TTL_S = 2.0


def stream_settings(prefix: str) -> StreamSettings:
    return StreamSettings(
        name=prefix.upper(), subjects=(f"{prefix}.eu-west.events.>",), duplicate_window_s=60
    )


async def open_relay(url: str, prefix: str, data_dir: Path, holder: str) -> EventRelay:
    """A relay over the SQLite log and checkpoint in `data_dir`, as a server process has."""
    store = await SqliteEventStore.open(data_dir / "events.sqlite3")
    db = SqliteDatabase(data_dir / "readmodels.sqlite3")
    bus = await JetStreamBus.connect(url, stream_settings(prefix))
    lease = NatsKvLease(bus.jetstream, f"{prefix.upper()}_leases", "relay", holder, LEASE_TTL_S)
    return EventRelay(
        store,
        db,
        bus,
        lease,
        region="eu-west",
        subject_prefix=prefix,
        batch_size=20,
        safety_poll_s=0.2,
    )


async def main(url: str, prefix: str, data_dir: Path, holder: str) -> None:
    async with await open_relay(url, prefix, data_dir, holder):
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]))
