"""What people see of friends in another region, read from that region each time it is shown
and never kept here (`application.federation` says what crosses and why): a hug's message and
the recipient's hug settings, a friend's check-ins and profile, the boards they share. A
region that cannot be reached shows nothing of its people (a hug to one of them is refused
as `UNAVAILABLE`); everything else still shows."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from hugmood.application.dependencies import Dependencies
from hugmood.application.federation import abroad, federation
from hugmood.application.queries.boards import BoardView
from hugmood.application.queries.identity import AccountView
from hugmood.application.queries.moods import MoodEntryView
from hugmood.domain import hugs as hug_rules
from hugmood.domain.boards import BoardRole
from hugmood.domain.moods import ContextFactors
from hugmood.domain.privacy import Privacy
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)


async def hug_settings_abroad(
    deps: Dependencies, recipient_id: str, sender_id: str, region: str
) -> hug_rules.HugSettings:
    """What the recipient abroad accepts from this sender (not whom else they muted)."""
    answer = await federation(deps).call(
        region, "hugAccepts", {"recipientId": recipient_id, "senderId": sender_id}
    )
    known = {t.value: t for t in hug_rules.HugType}
    types = answer.get("acceptedTypes", ())
    accepted = frozenset(known[t] for t in types if isinstance(t, str) and t in known)
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


MAX_OWNERS = 100
"""Friends of one viewer asked about in one call."""
MAX_FRIENDS_TOLD = 1000
"""Friends abroad told of one check-in in one call."""


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


async def mood_abroad(
    deps: Dependencies, viewer_id: str, owner_id: str, entry_id: str
) -> MoodEntryView | None:
    """One check-in of a friend abroad, as their region shows it to `viewer_id` (None: not
    theirs to see, gone, or their region is away)."""
    region = await abroad(deps, owner_id)
    if region is None:
        return None
    try:
        answer = await federation(deps).call(
            region, "moodEntry", {"viewerId": viewer_id, "entryId": entry_id}
        )
        wired = answer.get("entry")
        entry = entry_from_wire(wired) if wired is not None else None
    except BackendUnavailable:
        return None
    except (KeyError, TypeError, ValueError):
        log.warning("region %s answered a malformed check-in", region)
        return None
    return entry if entry is not None and entry.user_id == owner_id else None


async def names_abroad(
    deps: Dependencies, viewer_id: str, people: dict[str, AccountView]
) -> dict[str, AccountView]:
    """`people` with the names friends abroad chose, read from their regions for this view
    (known here by their handle alone); a region that cannot be reached leaves the handle."""
    if deps.federation is None:
        return people
    by_region: dict[str, list[str]] = {}
    for user_id in people:
        region = await abroad(deps, user_id)
        if region is not None:
            by_region.setdefault(region, []).append(user_id)
    named = dict(people)
    for region, ids in by_region.items():
        try:
            answer = await federation(deps).call(
                region, "names", {"viewerId": viewer_id, "ownerIds": ids[:MAX_OWNERS]}
            )
        except BackendUnavailable:
            continue
        names = answer.get("names", {})
        for user_id in ids:
            name = names.get(user_id) if isinstance(names, dict) else None
            if isinstance(name, str):
                named[user_id] = replace(named[user_id], display_name=name)
    return named


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
