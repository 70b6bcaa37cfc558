"""Presence across a border: who of one's friends abroad is around.

A person's presence lives in their own region's hub (their devices' heartbeats). When it
changes there, their region tells each region where they have friends (`tell_abroad`: the
status and view their friends may see, as their own region's friends see it — one who
appears offline is offline), and that region hands it to the friends' subscriptions. A friend
abroad's presence now is read from their region (`presence_abroad`), which answers only for
friends of the asking person. Nothing of it is stored on either side.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from hugmood.application.dependencies import Dependencies
from hugmood.application.federation import abroad, federation
from hugmood.application.federation_reads import MAX_OWNERS
from hugmood.application.queries.social import friend_ids
from hugmood.domain.errors import HugMoodError
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)

STATUSES = frozenset({"online", "away", "offline"})
MAX_VIEW = 100
"""A presence's view (the screen a device is on) as long as a region passes it on."""


def presence_wire(status: str, view: str | None) -> dict[str, Any]:
    """A presence as it crosses (ValueError for a malformed one)."""
    if status not in STATUSES:
        raise ValueError(f"not a presence status: {status!r}")
    if view is not None and (not isinstance(view, str) or len(view) > MAX_VIEW):
        raise ValueError("a presence's view is a short text")
    return {"status": status, "view": view}


async def tell_abroad(deps: Dependencies, user_id: str, status: str, view: str | None) -> None:
    """Tell the regions of `user_id`'s friends abroad their presence changed (once: a region
    that is away hears of the next change, and its people read it when they look)."""
    if deps.federation is None:
        return
    regions: set[str] = set()
    for friend in await friend_ids(deps.readmodels, user_id):
        region = await abroad(deps, friend)
        if region is not None:
            regions.add(region)
    for region in sorted(regions):
        payload = {"userId": user_id, **presence_wire(status, view)}
        try:
            await federation(deps).call(region, "friendPresence", payload)
        except (BackendUnavailable, HugMoodError) as e:
            log.info("friends in %s were not told of a presence change: %s", region, e)


async def presence_abroad(
    deps: Dependencies, viewer_id: str, user_ids: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """The presence of `viewer_id`'s friends abroad among `user_ids`, as their regions show
    it (`{"status", "view"}` by user id); a region that is away leaves its people out."""
    if deps.federation is None:
        return {}
    by_region: dict[str, list[str]] = {}
    for user_id in user_ids:
        region = await abroad(deps, user_id)
        if region is not None:
            by_region.setdefault(region, []).append(user_id)
    found: dict[str, dict[str, Any]] = {}
    for region, owners in by_region.items():
        try:
            answer = await federation(deps).call(
                region, "presence", {"viewerId": viewer_id, "ownerIds": owners[:MAX_OWNERS]}
            )
            shown = answer.get("presence", {})
            for user_id in owners:
                p = shown.get(user_id) if isinstance(shown, dict) else None
                if isinstance(p, dict):
                    found[user_id] = presence_wire(p.get("status", ""), p.get("view"))
        except BackendUnavailable:
            continue
        except (TypeError, ValueError):
            log.warning("region %s answered a malformed presence", region)
    return found
