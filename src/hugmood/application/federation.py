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
  there when the recipient's app shows it (`federation_reads`), never stored abroad.
A person of another region becomes known by what the directory says (their handle and
region: `ForeignAccountListed`); their profile is read from their region when it is opened.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import EVENT_CLASSES
from hugmood.application.ports import Federation
from hugmood.application.streams import load
from hugmood.domain import hugs as hug_rules
from hugmood.domain import social
from hugmood.domain.common import DomainEvent, camel
from hugmood.domain.errors import Conflict, Forbidden, ValidationFailed
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


_SHAPES = {"str": str, "UserId": str, "HugId": str, "bool": bool}
"""What each field of a copied event must hold (the events above use nothing else)."""


def _well_formed(event_type: str, data: dict[str, Any]) -> bool:
    """Every field of the event's class there with its type (a missing message is a hug's
    copy): what the read models then take from it cannot fail on another region's bytes."""
    for f in fields(EVENT_CLASSES[event_type]):
        key = camel(f.name)
        optional = "None" in str(f.type)
        value = data.get(key)
        if value is None and (optional or key == "message"):
            continue
        wanted = _SHAPES.get(str(f.type).replace(" | None", ""))
        if wanted is None or type(value) is not wanted:
            return False
    # A hug type this version does not know would fail where the inbox reads it.
    return event_type != "HugSent" or data["hugType"] in {t.value for t in hug_rules.HugType}


def _unwire(w: Any) -> NewEvent:
    try:
        if w["type"] not in COPIED or not isinstance(w["data"], dict):
            raise ValidationFailed(f"a region does not take {w['type']!r} from another")
        if not _well_formed(w["type"], w["data"]):
            raise ValidationFailed(f"a malformed {w['type']} from another region")
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


async def hug_of(deps: Dependencies, hug_id: str) -> hug_rules.Hug | None:
    loaded = await load(deps.store, hug_rules.hug_stream(hug_id), None, hug_rules.evolve_hug)
    return loaded.state
