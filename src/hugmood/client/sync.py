"""Exactly-once sync: upload the outbox with device-chosen ids, then download one's changes.

Every queued item carries its id from the moment it was made, so a batch retried after a
timeout, a crash or a kill is recognised by the server and stored once. An item leaves the
outbox only after the server has answered for it; one it refuses stays, marked, with the
server's reason, and is reported — never dropped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from hugmood.client.api import AsyncHugMoodClient, mood_input
from hugmood.client.errors import ApiError
from hugmood.client.records import Insights, LocalEntry, OutboxItem
from hugmood.client.vault import Vault

PRIVACY_VALUE = {
    "PRIVATE": "private",
    "CLOSE_FRIENDS": "close-friends",
    "FRIENDS_ONLY": "friends-only",
    "PUBLIC": "public",
}
RETRY_LATER = frozenset({"UNAVAILABLE", "READ_ONLY", "RATE_LIMITED"})
HELD_BY_THE_EDGE = "QUEUED"
"""An edge accepted it while the home region was away: it is delivered when the region returns
(decision 0025), so the device is done with it."""
DOWNLOAD_PAGE = 500
MAX_UPLOAD_BYTES = 80_000
"""Below the server's default request limit (HUGMOOD_MAX_REQUEST_BYTES, 100,000)."""


@dataclass(slots=True)
class SyncReport:
    uploaded: int = 0
    already_there: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)
    """(id, the server's reason) of each item refused in this run; they stay in the vault."""
    downloaded: int = 0
    deleted: int = 0
    hugs_sent: int = 0
    notes_sealed: int = 0
    """Notes of this device sent end to end to its linked devices (`client.devices`)."""
    notes_opened: int = 0
    notes_unreadable: int = 0


def upload_payload(entry: LocalEntry, share_notes: str) -> dict[str, object]:
    """What leaves the device for this entry: the note only if `shareNotes` allows it."""
    return mood_input(
        entry.entry_id,
        entry.mood_type,
        entry.intensity,
        note=entry.note_to_upload(share_notes),
        context=entry.context,
        privacy=entry.privacy,
        recorded_at=entry.recorded_at,
        insights=entry.insights.to_data() if entry.insights else None,
    )


async def sync(
    vault: Vault,
    api: AsyncHugMoodClient,
    *,
    share_notes: str,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = 200,
    in_flight: int = 2,
) -> SyncReport:
    """Upload the outbox in order, then download the change feed.

    Check-ins go up in batches, `in_flight` at a time, so the device prepares the next batch
    while the server stores the last one; each batch is settled in the vault only once the
    server has answered for it. Any other action (a hug) waits until every check-in queued
    before it is answered, so the order across kinds is kept.
    """
    report = SyncReport()
    total = vault.counts()["pending"]
    done = 0
    running: set[asyncio.Task[int]] = set()
    after = 0
    try:
        while items := vault.pending(batch_size, after_seq=after):
            moods, payloads = _within_size(_leading(items, "mood"), share_notes)
            if moods:
                after = moods[-1].seq
                if len(running) >= in_flight:
                    done += await _first_done(running)
                    _progress(progress, done, total)
                running.add(asyncio.create_task(_upload_moods(vault, api, payloads, report)))
                continue
            while running:
                done += await _first_done(running)
            after = items[0].seq
            await _send_hug(vault, api, items[0], report)
            done += 1
            _progress(progress, done, total)
        while running:
            done += await _first_done(running)
            _progress(progress, done, total)
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    await _download(vault, api, report)
    return report


async def _first_done(running: set[asyncio.Task[int]]) -> int:
    finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
    running.difference_update(finished)
    # Every finished task's outcome is looked at, so that when two fail at once (the server
    # went away) the second's error is not left "never retrieved"; the first is raised.
    errors = [e for task in finished if (e := task.exception()) is not None]
    if errors:
        raise errors[0]
    return sum(task.result() for task in finished)


def _progress(progress: Callable[[int, int], None] | None, done: int, total: int) -> None:
    if progress is not None:
        progress(done, max(total, done))


def _within_size(
    items: list[OutboxItem], share_notes: str
) -> tuple[list[OutboxItem], list[dict[str, object]]]:
    """The head of `items` whose upload stays under the server's request size limit (long
    shared notes make big entries; always at least one item), and their payloads."""
    size = 0
    payloads: list[dict[str, object]] = []
    for item in items:
        if item.entry is None:
            break
        payload = upload_payload(item.entry, share_notes)
        size += len(orjson.dumps(payload))
        if size > MAX_UPLOAD_BYTES and payloads:
            break
        payloads.append(payload)
    return items[: len(payloads)], payloads


def _leading(items: list[OutboxItem], kind: str) -> list[OutboxItem]:
    """The run of `kind` items at the head of the queue (order across kinds is kept)."""
    run = []
    for item in items:
        if item.kind != kind:
            break
        run.append(item)
    return run


async def _upload_moods(
    vault: Vault, api: AsyncHugMoodClient, payloads: list[dict[str, object]], report: SyncReport
) -> int:
    results = await api.record_moods(payloads)
    done, refused = [], {}
    for result in results:
        if result.status == "refused":
            reason = f"{result.message} ({result.code})"
            refused[result.entry_id] = reason
            report.refused.append((result.entry_id, reason))
        else:
            done.append(result.entry_id)
            if result.status == "stored":
                report.uploaded += 1
            else:
                report.already_there += 1
    vault.settle(done, refused)
    return len(payloads)


async def _send_hug(
    vault: Vault, api: AsyncHugMoodClient, item: OutboxItem, report: SyncReport
) -> None:
    hug = json.loads(item.payload or b"{}")
    vault.mark_attempted([item.op_id])
    try:
        await api.send_hug(hug["to"], hug["hugType"], hug.get("message"), hug_id=item.op_id)
    except ApiError as e:
        if e.code in RETRY_LATER:
            raise
        if e.code != HELD_BY_THE_EDGE:
            reason = f"{e.message} ({e.code})"
            vault.settle([], {item.op_id: reason})
            report.refused.append((item.op_id, reason))
            return
    vault.settle([item.op_id], {})
    report.hugs_sent += 1


async def _download(vault: Vault, api: AsyncHugMoodClient, report: SyncReport) -> None:
    cursor = vault.setting("cursor")
    while True:
        changes = await api.mood_changes(cursor, DOWNLOAD_PAGE)
        entries = [from_server(e) for e in changes.entries]
        report.downloaded += vault.merge_downloaded(entries, changes.deleted_ids)
        report.deleted += len(changes.deleted_ids)
        cursor = changes.cursor
        vault.set_settings({"cursor": cursor})
        if not changes.has_more:
            return


def from_server(entry: dict[str, Any]) -> LocalEntry:
    """A `MoodEntry` from the API as the device keeps it."""
    context: dict[str, Any] = entry.get("contextFactors") or {}
    recorded = datetime.fromisoformat(str(entry["recordedAt"]))
    return LocalEntry(
        entry_id=str(entry["id"]),
        recorded_at_ms=int(recorded.timestamp() * 1000),
        mood_type=str(entry["moodType"]),
        intensity=float(entry["intensity"]),
        note=entry.get("note"),
        context={k: v for k, v in context.items() if v},
        privacy=PRIVACY_VALUE.get(str(entry.get("privacy"))),
        insights=Insights.from_data(entry.get("insights")),
        origin="other-device",
        status="synced",
    )
