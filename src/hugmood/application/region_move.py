"""Moving a person to another region (`hugmood region move`, decision 0029): the one way a
home region changes.

An operator runs it with the servers of both regions stopped. Their data is copied from the
source region's log into the target's with the same stream and event ids, sealed again under a
new data key there; the directory then names the new region; and the source region forgets
the person as it forgets anyone erased (`UserErased` with `movedTo`: their key destroyed, the
boards they owned and their images gone), except what their friends there keep — friendships,
hugs and the person's place on their boards, now those of a friend abroad.

Every step looks at what is already done, so a run stopped anywhere is finished by running it
again, and a finished move run again changes nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from hugmood.application.dependencies import Dependencies
from hugmood.application.federation import crosses, note_foreign, parties
from hugmood.application.streams import load
from hugmood.domain import identity
from hugmood.domain.boards import board_doc_stream, board_stream
from hugmood.domain.errors import Conflict, NotFound, ValidationFailed
from hugmood.domain.identity_mfa import challenge_stream
from hugmood.domain.identity_oidc import attempt_stream
from hugmood.domain.password_reset import reset_stream
from hugmood.domain.regions import foreign_account_stream
from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.eventstore.store import NO_STREAM
from hugmood.ids import UserId

log = logging.getLogger(__name__)

TRANSIENT = tuple(
    make("") for make in (identity.session_stream, reset_stream, challenge_stream, attempt_stream)
)
"""Streams that do not move: sessions end, and resets and sign-in steps are short-lived."""
BOARD_STREAMS = (board_stream(""), board_doc_stream(""))


class Listings(Protocol):
    """What the move needs of the global directory."""

    async def by_handle(self, handle: str) -> Any: ...

    async def move(self, user_id: str, region: str) -> Any: ...


@runtime_checkable
class Blobs(Protocol):
    """A blob store that can keep a blob moved from another region under the id it had."""

    async def get(self, blob_id: str) -> bytes | None: ...

    async def put_moved(self, blob_id: str, data: bytes, *, owner: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Region:
    """One side of a move: a region's name and what runs on its stores."""

    name: str
    deps: Dependencies


@dataclass(slots=True)
class MoveReport:
    user_id: str
    handle: str
    source: str
    target: str
    streams: int = 0
    events: int = 0
    blobs: int = 0
    boards: int = 0
    already_moved: bool = False
    friends_abroad: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Selection:
    """What of the source's log goes: streams in the order of their first event."""

    streams: dict[str, list[RecordedEvent]] = field(default_factory=dict)
    boards: set[str] = field(default_factory=set)
    blobs: dict[str, str] = field(default_factory=dict)
    """Blob id → whose key it is sealed under."""


async def move_person(
    handle: str,
    source: Region,
    target: Region,
    directory: Listings,
    *,
    country: str,
) -> MoveReport:
    """Move the account `handle` from `source` to `target`, whose country is then `country`."""
    listing = await directory.by_handle(handle)
    if listing is None:
        raise NotFound(f"nobody is listed as @{handle}")
    user_id = UserId(listing.user_id)
    report = MoveReport(user_id, handle, source.name, target.name)
    moved = await moved_to(source.deps, user_id)
    if moved == target.name:
        report.already_moved = True
    elif listing.region not in (source.name, target.name):
        raise ValidationFailed(f"@{handle} lives in {listing.region}, not in {source.name}")
    elif moved is not None or not await has_account(source.deps, user_id):
        raise NotFound(f"@{handle} has no account in {source.name}")

    chosen = await _select(source, user_id)
    if not report.already_moved:
        await _copy(chosen, source, target, user_id, report)
        await _home_here(source, target, user_id, country)
        # The person's home is the target from now on: had the run stopped after this, the
        # source still has everything, and running again forgets it there.
        await directory.move(user_id, target.name)
        await _record_move(source, target.name, user_id, chosen)
    else:
        await directory.move(user_id, target.name)
    await _forget_in_source(chosen, source, user_id)
    await note_foreign(source.deps, user_id)
    return report


async def has_account(deps: Dependencies, user_id: str) -> bool:
    """Whether the region keeps the person's account (neither erased nor moved away)."""
    return await _account(deps, UserId(user_id)) is not None


async def _account(deps: Dependencies, user_id: UserId) -> identity.Account | None:
    stream_id = identity.user_stream(user_id)
    return (await load(deps.store, stream_id, None, identity.evolve_account)).state


async def moved_to(deps: Dependencies, user_id: str) -> str | None:
    """Where the person moved, if this region recorded their move."""
    events = await deps.store.read_stream(identity.user_stream(UserId(user_id)))
    if events and events[-1].event_type == identity.UserErased.EVENT_TYPE:
        moved = events[-1].data.get("movedTo")
        return moved if isinstance(moved, str) else None
    return None


# --- what goes --------------------------------------------------------------------------------


async def _select(source: Region, user_id: UserId) -> _Selection:
    """The person's own streams, the boards they own (with every generation of their content
    and their images) and the friendships and hugs they are a party to. The log is read once
    keeping a few facts per stream, then the chosen streams are read: a region's whole log is
    never held in memory, only the person's part of it."""
    seen: dict[str, _Stream] = {}
    boards: set[str] = set()
    position = 0
    while batch := await source.deps.store.read_all(position, limit=1000):
        for event in batch:
            stream = seen.get(event.stream_id)
            if stream is None:
                stream = seen[event.stream_id] = _Stream(event.position, event.user_id)
                if event.event_type == "BoardCreated" and event.data.get("ownerId") == user_id:
                    boards.add(str(event.data["boardId"]))
            stream.others |= event.user_id not in (None, user_id)
            stream.party |= user_id in parties(event.stream_id, [event])
        position = batch[-1].position
    chosen = _Selection(boards=boards)
    for stream_id, stream in sorted(seen.items(), key=lambda s: s[1].first_position):
        if _belongs(stream_id, stream, user_id, boards):
            chosen.streams[stream_id] = await source.deps.store.read_stream(stream_id)
    for events in chosen.streams.values():
        for event in events:
            data = event.data
            if event.event_type == "MoodPhotoAttached" and data.get("ownerId") == user_id:
                chosen.blobs[str(data["blobId"])] = user_id
            elif event.event_type == "BoardImageUploaded" and data.get("boardId") in boards:
                chosen.blobs[str(data["blobId"])] = str(data["uploadedBy"])
    return chosen


@dataclass(slots=True)
class _Stream:
    """What the selection keeps of each stream of the source's log."""

    first_position: int
    first_user: str | None
    others: bool = False
    """Someone else wrote to it."""
    party: bool = False
    """A friendship or hug of the person's (their id in the pair, or sender or recipient)."""


def _belongs(stream_id: str, stream: _Stream, user_id: str, boards: set[str]) -> bool:
    if stream_id.startswith(TRANSIENT) or stream_id.startswith(foreign_account_stream("")):
        return False
    if crosses(stream_id):
        return stream.party
    if stream_id.startswith(BOARD_STREAMS):
        board_id = stream_id.removeprefix(board_stream("")).removeprefix(board_doc_stream(""))
        return board_id.split("~")[0] in boards
    if user_id in stream_id:
        return True
    # A stream the person started and nobody else wrote to (a check-in and its changes).
    return stream.first_user == user_id and not stream.others


# --- into the target --------------------------------------------------------------------------


async def _copy(
    chosen: _Selection, source: Region, target: Region, user_id: str, report: MoveReport
) -> None:
    store = target.deps.store
    plan = await _plan(chosen, source.name, target)
    # Friends who stay behind become people of another region in the target, before the
    # friendships and hugs that name them arrive there.
    for stream_id, events in chosen.streams.items():
        if crosses(stream_id):
            for person in sorted(parties(stream_id, events) - {user_id}):
                if await _home_of(target, person) == source.name:
                    await note_foreign(target.deps, person)
                    if person not in report.friends_abroad:
                        report.friends_abroad.append(person)
    for stream_id, already in plan.items():
        new = [_moved(e, source.name, user_id) for e in chosen.streams[stream_id][already:]]
        await store.append(stream_id, new, expected_version=already or NO_STREAM)
        report.streams += 1
        report.events += len(new)
    blobs = target.deps.blobs
    if not isinstance(blobs, Blobs):
        raise TypeError("the target's blob store cannot keep a blob under its id")
    for blob_id, owner in sorted(chosen.blobs.items()):
        data = await source.deps.blobs.get(blob_id)
        if data is None:
            continue  # sealed under a key already destroyed: gone for everyone
        await blobs.put_moved(blob_id, data, owner=owner)
        report.blobs += 1
    report.boards = len(chosen.boards)


async def _plan(chosen: _Selection, source: str, target: Region) -> dict[str, int]:
    """Each stream still to copy, with how many of its events the target has (a copy from
    an interrupted run of this move, or the target's copy of a friendship or hug): checked
    for every stream before anything is written, so a move that cannot be made writes
    nothing. A stream of the same name that is not such a copy (ids are chosen by devices,
    so another person's may collide) stops the move: nothing of the person's is dropped."""
    plan: dict[str, int] = {}
    for stream_id, events in chosen.streams.items():
        there = await target.deps.store.read_stream(stream_id)
        ids = [e.event_id for e in events]
        have = [e.event_id for e in there]
        ours = crosses(stream_id) or all(e.metadata.get("movedFrom") == source for e in there)
        if ids[: len(have)] == have[: len(ids)] and ours:
            if len(have) < len(ids):
                plan[stream_id] = len(have)
            continue
        log.error("%s already has a stream %s that is not this person's", target.name, stream_id)
        raise Conflict(
            f"{target.name} already has a stream named {stream_id} holding other events: "
            "nothing was moved (an operator must look at it first)"
        )
    return plan


async def _home_of(region: Region, user_id: str) -> str | None:
    """Where the directory places someone, as `region` reads it (None: there, or nobody)."""
    fed = region.deps.federation
    return None if fed is None else await fed.home_of(user_id)


def _moved(event: RecordedEvent, source: str, user_id: str) -> NewEvent:
    data = dict(event.data)
    metadata: dict[str, Any] = {**event.metadata, "movedFrom": source}
    if crosses(event.stream_id):
        metadata.setdefault("copiedFrom", source)  # the source has it: nothing to copy back
        theirs = event.event_type == "HugSent" and data.get("senderId") != user_id
        # A hug from someone who stays behind: its message stays with its sender.
        if theirs and data.pop("message", None):
            metadata["messageHeldIn"] = source
    return NewEvent(
        event_id=event.event_id,
        event_type=event.event_type,
        version=event.version,
        timestamp=event.timestamp,
        user_id=event.user_id,
        data=data,
        metadata=metadata,
    )


async def _home_here(source: Region, target: Region, user_id: UserId, country: str) -> None:
    stream_id = identity.user_stream(user_id)
    events = await target.deps.store.read_stream(stream_id)
    if events and events[-1].event_type == identity.HomeRegionChanged.EVENT_TYPE:
        return  # recorded by an earlier run
    marker = uuid.uuid5(uuid.NAMESPACE_URL, f"hugmood:moved:{user_id}:{source.name}:{len(events)}")
    change = identity.HomeRegionChanged(user_id, source.name, target.name, country)
    await target.deps.store.append(
        stream_id,
        [
            NewEvent(
                event_id=marker,
                event_type=change.EVENT_TYPE,
                version=1,
                timestamp=target.deps.clock.now(),
                user_id=user_id,
                data=change.to_data(),
                metadata={"movedFrom": source.name},
            )
        ],
        expected_version=len(events),
    )


# --- out of the source ------------------------------------------------------------------------


async def _record_move(source: Region, target: str, user_id: UserId, chosen: _Selection) -> None:
    """The source's `UserErased` with `movedTo`: every consumer there forgets the person."""
    deps = source.deps
    account = await _account(deps, user_id)
    if account is None:
        raise NotFound("the account went from the source region while it was moved")
    owned = tuple(sorted(chosen.boards))
    erased = identity.UserErased(user_id, account.handle, owned, (), moved_to=target)
    events = await deps.store.read_stream(identity.user_stream(user_id))
    await deps.store.append(
        identity.user_stream(user_id),
        [
            NewEvent(
                event_id=uuid.uuid4(),
                event_type=erased.EVENT_TYPE,
                version=1,
                timestamp=deps.clock.now(),
                user_id=user_id,
                data=erased.to_data(),
                metadata={"movedTo": target},
            )
        ],
        expected_version=len(events),
    )


async def _forget_in_source(chosen: _Selection, source: Region, user_id: UserId) -> None:
    """The person's key, the content of the boards they owned and their blobs, destroyed in
    the source (each step again on a second run: destroying twice changes nothing)."""
    deps = source.deps
    if deps.data_keys is not None:
        await deps.data_keys.destroy(user_id)
    if deps.boards is not None:
        for board_id in sorted(chosen.boards):
            await deps.boards.forget_board(board_id)
    for blob_id in sorted(chosen.blobs):
        await deps.blobs.delete(blob_id)
    log.info("a person moved away: %d boards, %d blobs", len(chosen.boards), len(chosen.blobs))
