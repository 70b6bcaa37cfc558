"""Friends across a border: what crosses between two regions, and when.

A person's data is written only to their home region. A friendship between people of two
regions is one pair stream kept in both; a hug to someone abroad is one hug stream kept in
both. Each such stream has one *authority*, the region whose copy decides:
- a friendship: the region of the pair's first id (the order of `social.pair_stream`);
- a hug: the sender's region.
A command about the stream made in the other region is forwarded to the authority, and what
the authority appends is copied to the other region (`share`: at once, and again by the
federation outbox until the region has it), as the other region may keep it:
- friendship events whole (two ids and what happened: nothing personal);
- a hug's events without the message, which stays in the sender's region and is read from
  there when the recipient's app shows it (`messages_abroad`), never stored abroad.
A person of another region becomes known by what the directory says (their handle and
region: `ForeignAccountListed`); their profile is read from their region when it is opened.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from typing import Any

from hugmood.application.dependencies import Dependencies
from hugmood.application.ports import Federation
from hugmood.application.queries.boards import BoardView
from hugmood.application.queries.moods import MoodEntryView
from hugmood.application.streams import load
from hugmood.domain import hugs as hug_rules
from hugmood.domain import social
from hugmood.domain.boards import BoardRole
from hugmood.domain.common import DomainEvent
from hugmood.domain.errors import Conflict, Forbidden, ValidationFailed
from hugmood.domain.moods import ContextFactors
from hugmood.domain.privacy import Privacy
from hugmood.domain.regions import ForeignAccountListed, foreign_account_stream
from hugmood.eventstore.envelope import NewEvent, RecordedEvent, from_epoch_ms, to_epoch_ms
from hugmood.eventstore.store import NO_STREAM, ConcurrencyError, DuplicateEventError
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)

_COPIED: tuple[type[DomainEvent], ...] = (
    *social.SOCIAL_EVENTS,
    hug_rules.HugSent,
    hug_rules.HugDelivered,
    hug_rules.HugSeen,
    hug_rules.HugWithdrawn,
)
COPIED = frozenset(e.EVENT_TYPE for e in _COPIED)
"""The only events a region takes from another: friendships and hugs."""


FRIENDSHIP_COMMANDS: dict[str, Any] = {
    "request": social.RequestFriendship,
    "accept": social.AcceptFriendship,
    "decline": social.DeclineFriendship,
    "remove": social.RemoveFriend,
    "block": social.BlockUser,
    "unblock": social.UnblockUser,
}
FRIENDSHIP_KINDS = {cls: kind for kind, cls in FRIENDSHIP_COMMANDS.items()}


COPY_ATTEMPTS = 5


def crosses(stream_id: str) -> bool:
    """Whether a stream may be kept in two regions: a pair's friendship, or one hug."""
    if stream_id.startswith("friendship-"):
        return True
    return stream_id.startswith("hug-") and not stream_id.startswith("hug-settings-")


def federation(deps: Dependencies) -> Federation:
    if deps.federation is None:
        raise Forbidden("this server keeps one region: nobody lives abroad")
    return deps.federation


async def abroad(deps: Dependencies, user_id: str) -> str | None:
    """The region keeping `user_id` when it is another one (None: here, or nobody)."""
    return None if deps.federation is None else await deps.federation.home_of(user_id)


def leaves(deps: Dependencies, data_kind: str) -> bool:
    """Whether this region's rules let `data_kind` leave it at all (`[egress]` of its policy
    file: a kind ruled `never` stays, whoever asks)."""
    if deps.rules is None or deps.federation is None:
        return True
    form, _ = deps.rules.egress(deps.federation.region, data_kind)
    return form != "never"


def must_leave(deps: Dependencies, data_kind: str, what: str) -> None:
    """Refuse, naming the rule, what this region's rules keep in it."""
    if deps.rules is not None and deps.federation is not None:
        form, rule = deps.rules.egress(deps.federation.region, data_kind)
        if form == "never":
            raise Forbidden(f"{what} may not leave {deps.federation.region}", rule=rule)


def pair_authority(a: str, b: str) -> str:
    """The person whose region decides for the pair's friendship."""
    return min(a, b)


def parties(stream_id: str, events: Iterable[RecordedEvent | dict[str, Any]]) -> set[str]:
    """The people a copied stream is about."""
    if stream_id.startswith("friendship-"):
        ids = stream_id.removeprefix("friendship-")
        # Ids are UUIDs (36 characters): `friendship-<low>-<high>`.
        return {ids[:36], ids[37:]}
    found: set[str] = set()
    for e in events:
        data = e.data if isinstance(e, RecordedEvent) else e.get("data", {})
        for key in ("senderId", "recipientId"):
            if isinstance(data.get(key), str):
                found.add(data[key])
    return found


# --- copies ---------------------------------------------------------------------------------


def wire(event: RecordedEvent, region: str) -> dict[str, Any]:
    """One event as another region may keep it: no hug message, no device, nothing else."""
    data = dict(event.data)
    metadata: dict[str, Any] = {
        "copiedFrom": event.metadata.get("copiedFrom", region),
        "correlationId": event.metadata.get("correlationId"),
    }
    if event.event_type == hug_rules.HugSent.EVENT_TYPE and data.pop("message", None):
        metadata["messageHeldIn"] = region
    return {
        "eventId": str(event.event_id),
        "type": event.event_type,
        "version": event.version,
        "at": to_epoch_ms(event.timestamp),
        "userId": event.user_id,
        "data": data,
        "metadata": metadata,
    }


async def share(deps: Dependencies, stream_id: str, region: str, *, strict: bool = False) -> None:
    """Copy the stream to `region` now; if it cannot be reached, the outbox does it later
    (`strict`: raise `BackendUnavailable` instead, for the outbox itself)."""
    fed = federation(deps)
    events = await deps.store.read_stream(stream_id)
    payload = {"streamId": stream_id, "events": [wire(e, fed.region) for e in events]}
    try:
        await fed.call(region, "copy", payload)
    except BackendUnavailable:
        if strict:
            raise
        log.warning("region %s is away: %s follows through the outbox", region, stream_id)


async def take_copy(deps: Dependencies, stream_id: str, wired: list[Any]) -> int:
    """Append what this region's copy of the stream lacks; the position of the copy's last
    event here, written now or before (for the caller to read it back). The copy here must be
    the start of the authority's, or it is refused."""
    if not crosses(stream_id) or not isinstance(wired, list):
        raise ValidationFailed("only friendships and hugs are copied between regions")
    events = [_unwire(w) for w in wired]
    position = 0
    for person in parties(stream_id, wired):
        if await abroad(deps, person) is not None:
            position = max(position, await note_foreign(deps, person))
    for _ in range(COPY_ATTEMPTS):
        local = await deps.store.read_stream(stream_id)
        if [e.event_id for e in local] != [e.event_id for e in events[: len(local)]]:
            if len(local) > len(events) and [e.event_id for e in local[: len(events)]] == [
                e.event_id for e in events
            ]:
                # An older copy, overtaken by a newer one already here.
                return max(position, local[len(events) - 1].position if events else 0)
            log.error("the copy of %s here differs from its authority's", stream_id)
            raise Conflict(f"this region's copy of {stream_id} differs from the authority's")
        new = events[len(local) :]
        if not new:
            # Already here (the other region's outbox may have copied it a moment ago): its
            # position still, so that whoever asked reads it back once the read models have it.
            return max(position, local[-1].position if local else 0)
        try:
            result = await deps.store.append(stream_id, new, expected_version=len(local))
        except (ConcurrencyError, DuplicateEventError):
            continue  # another copy of the same stream landed first: look again
        return max(position, result.last_position)
    raise Conflict(f"{stream_id} kept changing while it was copied; try again")


def _unwire(w: Any) -> NewEvent:
    try:
        if w["type"] not in COPIED or not isinstance(w["data"], dict):
            raise ValidationFailed(f"a region does not take {w['type']!r} from another")
        metadata = w["metadata"] if isinstance(w["metadata"], dict) else {}
        return NewEvent(
            event_id=uuid.UUID(str(w["eventId"])),
            event_type=str(w["type"]),
            version=int(w["version"]),
            timestamp=from_epoch_ms(int(w["at"])),
            user_id=w["userId"] if isinstance(w["userId"], str) else None,
            data=w["data"],
            metadata=metadata,
        )
    except (KeyError, TypeError, ValueError) as e:
        raise ValidationFailed(f"a malformed event from another region: {e}") from None


async def note_foreign(deps: Dependencies, user_id: str) -> int:
    """Make a person of another region known here by their handle (once); the position."""
    fed = federation(deps)
    region = await fed.home_of(user_id)
    handle = await fed.handle_of(user_id)
    if region is None or handle is None:
        return 0
    event = NewEvent(
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"hugmood:foreign:{fed.region}:{user_id}"),
        event_type=ForeignAccountListed.EVENT_TYPE,
        version=1,
        timestamp=deps.clock.now(),
        user_id=None,
        data=ForeignAccountListed(user_id=user_id, handle=handle, region=region).to_data(),
    )
    try:
        result = await deps.store.append(
            foreign_account_stream(user_id), [event], expected_version=NO_STREAM
        )
    except ConcurrencyError:
        return 0
    return result.last_position


# --- reads from another region ----------------------------------------------------------------


async def hug_settings_abroad(
    deps: Dependencies, recipient_id: str, sender_id: str, region: str
) -> hug_rules.HugSettings:
    """What the recipient abroad accepts from this sender (not whom else they muted)."""
    answer = await federation(deps).call(
        region, "hugAccepts", {"recipientId": recipient_id, "senderId": sender_id}
    )
    accepted = frozenset(hug_rules.HugType(t) for t in answer.get("acceptedTypes", ()))
    muted = frozenset({sender_id}) if answer.get("muted") else frozenset()
    return hug_rules.HugSettings(accepted_types=accepted, muted_ids=muted)


async def messages_abroad(
    deps: Dependencies, viewer_id: str, hugs: Iterable[tuple[str, str]]
) -> dict[str, str]:
    """The messages of hugs `viewer_id` received from people abroad (`(hug id, sender id)`),
    read from each sender's region; a region that cannot be reached shows none."""
    by_region: dict[str, list[str]] = {}
    for hug_id, sender_id in hugs:
        region = await abroad(deps, sender_id)
        if region is not None:
            by_region.setdefault(region, []).append(hug_id)
    found: dict[str, str] = {}
    for region, ids in by_region.items():
        try:
            answer = await federation(deps).call(
                region, "hugMessages", {"viewerId": viewer_id, "hugIds": ids[:200]}
            )
        except BackendUnavailable:
            continue
        messages = answer.get("messages", {})
        if isinstance(messages, dict):
            found.update({k: v for k, v in messages.items() if isinstance(v, str) and k in ids})
    return found


async def hug_of(deps: Dependencies, hug_id: str) -> hug_rules.Hug | None:
    loaded = await load(deps.store, hug_rules.hug_stream(hug_id), None, hug_rules.evolve_hug)
    return loaded.state


MAX_OWNERS = 100
"""Friends of one viewer asked about in one call."""


def entry_to_wire(v: MoodEntryView) -> dict[str, Any]:
    """An entry as the viewer's region shows it, then forgets it (no insights, no photo)."""
    return {
        "entryId": v.entry_id,
        "userId": v.user_id,
        "moodType": v.mood_type,
        "intensity": v.intensity,
        "note": v.note,
        "context": v.context.to_data(),
        "privacy": v.privacy.value,
        "recordedAtMs": v.recorded_at_ms,
        "createdAtMs": v.created_at_ms,
        "updatedAtMs": v.updated_at_ms,
    }


def entry_from_wire(d: Any) -> MoodEntryView:
    return MoodEntryView(
        entry_id=str(d["entryId"]),
        user_id=str(d["userId"]),
        mood_type=str(d["moodType"]),
        intensity=float(d["intensity"]),
        note=d["note"] if isinstance(d["note"], str) else None,
        context=ContextFactors.from_data(d["context"]),
        privacy=Privacy(d["privacy"]),
        recorded_at_ms=int(d["recordedAtMs"]),
        created_at_ms=int(d["createdAtMs"]),
        updated_at_ms=int(d["updatedAtMs"]),
    )


async def moods_abroad(
    deps: Dependencies,
    viewer_id: str,
    owner_ids: Iterable[str],
    *,
    before_ms: int | None,
    limit: int,
) -> list[MoodEntryView]:
    """What friends abroad share with `viewer_id`, read from their regions (newest first, at
    most `limit`); a region that cannot be reached shows nothing, the rest still shows."""
    by_region: dict[str, list[str]] = {}
    for owner in owner_ids:
        region = await abroad(deps, owner)
        if region is not None:
            by_region.setdefault(region, []).append(owner)
    found: list[MoodEntryView] = []
    for region, owners in by_region.items():
        try:
            answer = await federation(deps).call(
                region,
                "moods",
                {
                    "viewerId": viewer_id,
                    "ownerIds": owners[:MAX_OWNERS],
                    "beforeMs": before_ms,
                    "limit": limit,
                },
            )
            entries = [entry_from_wire(d) for d in answer.get("entries", ())]
        except BackendUnavailable:
            log.warning("region %s is away: its people's check-ins are not shown", region)
            continue
        except (KeyError, TypeError, ValueError):
            log.warning("region %s answered malformed check-ins", region)
            continue
        found += [e for e in entries if e.user_id in owners]
    found.sort(key=lambda v: v.recorded_at_ms, reverse=True)
    return found[:limit]


async def profile_abroad(deps: Dependencies, viewer_id: str, owner_id: str) -> dict[str, str]:
    """A friend abroad's name and bio, as their region shows them to `viewer_id`."""
    region = await abroad(deps, owner_id)
    if region is None:
        return {}
    answer = await federation(deps).call(
        region, "profile", {"viewerId": viewer_id, "ownerId": owner_id}
    )
    return {k: str(answer[k]) for k in ("displayName", "bio") if isinstance(answer.get(k), str)}


# --- boards of another region ---------------------------------------------------------------


def board_to_wire(v: BoardView) -> dict[str, Any]:
    return {
        "boardId": v.board_id,
        "ownerId": v.owner_id,
        "title": v.title,
        "description": v.description,
        "archived": v.archived,
        "createdAtMs": v.created_at_ms,
        "lastActivityMs": v.last_activity_ms,
        "itemCount": v.item_count,
        "updates": v.updates,
        "myRole": v.my_role.value,
    }


def board_from_wire(d: Any) -> BoardView:
    return BoardView(
        board_id=str(d["boardId"]),
        owner_id=str(d["ownerId"]),
        title=str(d["title"]),
        description=str(d["description"]),
        archived=bool(d["archived"]),
        created_at_ms=int(d["createdAtMs"]),
        last_activity_ms=int(d["lastActivityMs"]),
        item_count=int(d["itemCount"]),
        updates=int(d["updates"]),
        my_role=BoardRole(d["myRole"]),
    )


async def boards_abroad(
    deps: Dependencies, viewer_id: str, *, include_archived: bool
) -> dict[str, list[BoardView]]:
    """Boards of other regions' people that `viewer_id` is on, by region (a region that
    cannot be reached lists none)."""
    fed = deps.federation
    if fed is None:
        return {}
    found: dict[str, list[BoardView]] = {}
    for region in fed.regions():
        try:
            answer = await fed.call(
                region, "boards", {"viewerId": viewer_id, "includeArchived": include_archived}
            )
            found[region] = [board_from_wire(d) for d in answer.get("boards", ())]
        except BackendUnavailable:
            log.warning("region %s is away: its boards are not listed", region)
        except (KeyError, TypeError, ValueError):
            log.warning("region %s answered malformed boards", region)
    return found


async def board_region(deps: Dependencies, viewer_id: str, board_id: str) -> str | None:
    """The other region keeping `board_id`, if `viewer_id` is on it there."""
    for region, views in (await boards_abroad(deps, viewer_id, include_archived=True)).items():
        if any(v.board_id == board_id for v in views):
            return region
    return None
