"""What a region does when another region calls it (`application.federation` says why). Every
call names a person of the calling region who acts or views, and is refused unless the
directory places that person there: a region speaks only for its own people. Each answer is
`{"result": …}` or `{"error": {"code", "message", "field"}}`, never an exception."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext, to_new_event
from hugmood.application.federation import (
    FRIENDSHIP_COMMANDS,
    abroad,
    crosses,
    federation,
    leaves,
    must_leave,
    pair_authority,
    parties,
    take_copy,
    wire,
)
from hugmood.application.federation_presence import presence_wire
from hugmood.application.federation_reads import (
    MAX_FRIENDS_TOLD,
    MAX_OWNERS,
    board_to_wire,
    entry_to_wire,
)
from hugmood.application.handlers.boards import load_board
from hugmood.application.handlers.identity_oidc import sign_in_here
from hugmood.application.handlers.social import part_close_friends, part_on_boards
from hugmood.application.messagebus import MessageBus
from hugmood.application.ports import LiveNews
from hugmood.application.queries import boards as board_queries
from hugmood.application.queries import identity as identity_queries
from hugmood.application.queries import moods as mood_queries
from hugmood.application.queries import social as social_queries
from hugmood.application.queries.moods import MoodEntryView
from hugmood.application.streams import load
from hugmood.domain import hugs as hug_rules
from hugmood.domain import social
from hugmood.domain.common import canonical_id
from hugmood.domain.errors import Forbidden, HugMoodError, NotFound, ValidationFailed
from hugmood.domain.privacy import Relationship
from hugmood.domain.regions import ForeignAccountErased, foreign_account_stream
from hugmood.eventstore.store import ConcurrencyError
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)

Op = Callable[[dict[str, Any], str], Awaitable[dict[str, Any]]]


class FederationEndpoint:
    """This region's answers to the others."""

    def __init__(
        self,
        deps: Dependencies,
        bus: MessageBus,
        board_snapshot: Callable[[str], Awaitable[dict[str, Any]]] | None = None,
        news: LiveNews | None = None,
    ) -> None:
        self._deps = deps
        self._bus = bus
        self._board_snapshot = board_snapshot
        self._news = news
        self._ops: dict[str, Op] = {
            "friendship": self._friendship,
            "copy": self._copy,
            "hugAccepts": self._hug_accepts,
            "hugChange": self._hug_change,
            "hugMessages": self._hug_messages,
            "profile": self._profile,
            "moods": self._moods,
            "moodEntry": self._mood_entry,
            "friendMoodRecorded": self._friend_mood_recorded,
            "friendPresence": self._friend_presence,
            "presence": self._presence,
            "names": self._names,
            "boards": self._boards,
            "boardMembers": self._board_members,
            "boardSnapshot": self._board_snapshot_for,
            "forget": self._forget,
            "socialSignIn": self._social_sign_in,
        }

    async def __call__(self, op: str, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        handler = self._ops.get(op)
        try:
            if handler is None:
                raise NotFound(f"no federation operation {op!r}")
            if not isinstance(payload, dict):
                raise ValidationFailed("a federation call carries an object")
            return {"result": await handler(payload, caller)}
        except HugMoodError as e:
            return {"error": {"code": e.code, "message": e.message, "field": e.field}}
        except BackendUnavailable as e:
            return {"error": {"code": "UNAVAILABLE", "message": str(e)}}
        except (KeyError, TypeError, ValueError) as e:
            return {"error": {"code": "VALIDATION", "message": f"malformed call: {e!r}"}}

    def _context(self) -> CommandContext:
        return CommandContext(region=federation(self._deps).region)

    async def _of(self, user_id: Any, caller: str) -> str:
        """`user_id`, if the calling region keeps that person."""
        if not isinstance(user_id, str) or await abroad(self._deps, user_id) != caller:
            raise Forbidden("a region acts only for its own people")
        return user_id

    async def _here(self, user_id: Any) -> str:
        if not isinstance(user_id, str) or await abroad(self._deps, user_id) is not None:
            raise NotFound("there is no such person in this region")
        return user_id

    async def _friendship(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        me = await self._of(payload["userId"], caller)
        other = await self._here(payload["otherId"])
        if await abroad(self._deps, pair_authority(me, other)) is not None:
            raise Forbidden("this region does not decide for that pair")
        make = FRIENDSHIP_COMMANDS.get(payload["kind"])
        if make is None:
            raise ValidationFailed(f"no friendship command {payload['kind']!r}")
        await self._bus.handle(make(user_id=me, other_id=other), self._context())
        return await self._stream(social.pair_stream(me, other))

    async def _copy(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        stream_id, events = payload["streamId"], payload["events"]
        if not isinstance(stream_id, str) or not crosses(stream_id):
            raise ValidationFailed("only friendships and hugs are copied between regions")
        if not isinstance(events, list):
            raise ValidationFailed("events: a list")
        people = parties(stream_id, events)
        homes = {p: await abroad(self._deps, p) for p in people}
        if len(people) != 2 or sorted(h or "" for h in homes.values()) != sorted(("", caller)):
            raise Forbidden("a region copies only what is between one of its people and ours")
        if await self._decider(stream_id, events) != caller:
            raise Forbidden("only the region that decides for a stream sends its copy")
        position = await take_copy(self._deps, stream_id, events)
        if stream_id.startswith("friendship-"):
            position = max(position, await self._part(stream_id, people))
        if position:
            await self._bus.wait_for(position)
        return {"position": position}

    async def _decider(self, stream_id: str, events: list[Any]) -> str | None:
        """The region whose copy of the stream decides, if the events are about its people
        alone: a friendship's, the pair's first id's; a hug's, its sender's."""
        if stream_id.startswith("friendship-"):
            a, b = sorted(parties(stream_id, events))
            for w in events:
                named = {v for k, v in _data(w).items() if k.endswith("Id")}
                if not named <= {a, b}:
                    return None
            return await abroad(self._deps, pair_authority(a, b))
        first = _data(events[0]) if events else {}
        hug_id = stream_id.removeprefix("hug-")
        for w in events:
            d = _data(w)
            if (d.get("hugId"), d.get("senderId"), d.get("recipientId")) != (
                hug_id,
                first.get("senderId"),
                first.get("recipientId"),
            ):
                return None
        sender = first.get("senderId")
        return await abroad(self._deps, sender) if isinstance(sender, str) else None

    async def _part(self, stream_id: str, people: set[str]) -> int:
        """A friendship across the border that ended: this region's person takes the other
        off their close-friends list (their region does the same for theirs)."""
        loaded = await load(
            self._deps.store, stream_id, social.Friendship(), social.evolve_friendship
        )
        if loaded.state.status is social.FriendshipStatus.FRIENDS or len(people) != 2:
            return 0
        a, b = sorted(people)
        make = social.BlockUser if loaded.state.blocked_by else social.RemoveFriend
        parting = make(a, b)
        position = await part_close_friends(self._deps, parting, self._context())
        # Neither stays on a board the other owns here (as when they part in one region).
        return max(position, await part_on_boards(self._deps, parting, self._context()))

    async def _forget(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        """A person of the calling region was erased there: forgotten here too."""
        person = await self._of(payload["userId"], caller)
        stream = foreign_account_stream(person)
        known = await self._deps.store.read_stream(stream)
        if not known or any(e.event_type == ForeignAccountErased.EVENT_TYPE for e in known):
            return {"position": 0}
        event = to_new_event(
            ForeignAccountErased(user_id=person),
            user_id=None,
            context=self._context(),
            now=self._deps.clock.now(),
        )
        try:
            result = await self._deps.store.append(stream, [event], expected_version=len(known))
        except ConcurrencyError:
            return {"position": 0}  # forgotten by a retry of the same call meanwhile
        await self._bus.wait_for(result.last_position)
        return {"position": result.last_position}

    async def _hug_accepts(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        sender = await self._of(payload["senderId"], caller)
        recipient = await self._here(payload["recipientId"])
        loaded = await load(
            self._deps.store,
            hug_rules.hug_settings_stream(recipient),
            hug_rules.HugSettings(),
            hug_rules.evolve_settings,
        )
        return {
            "acceptedTypes": sorted(t.value for t in loaded.state.accepted_types),
            "muted": sender in loaded.state.muted_ids,
        }

    async def _hug_change(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        actor = await self._of(payload["actorId"], caller)
        hug_id = str(payload["hugId"])
        command: hug_rules.MarkHugDelivered | hug_rules.MarkHugSeen
        if payload["kind"] == "delivered":
            command = hug_rules.MarkHugDelivered(hug_id, actor)
        elif payload["kind"] == "seen":
            command = hug_rules.MarkHugSeen(hug_id, actor)
        else:
            raise ValidationFailed(f"no hug change {payload['kind']!r}")
        await self._bus.handle(command, self._context())
        return await self._stream(hug_rules.hug_stream(hug_id))

    async def _hug_messages(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        viewer = await self._of(payload["viewerId"], caller)
        ids = payload["hugIds"]
        if not isinstance(ids, list) or len(ids) > 200:
            raise ValidationFailed("hugIds: a list of at most 200 ids")
        messages: dict[str, str] = {}
        for hug_id in ids:
            events = await self._deps.store.read_stream(hug_rules.hug_stream(str(hug_id)))
            sent = next((e for e in events if e.event_type == "HugSent"), None)
            withdrawn = any(e.event_type == "HugWithdrawn" for e in events)
            if sent is None or withdrawn or sent.data.get("recipientId") != viewer:
                continue
            message = sent.data.get("message")
            if isinstance(message, str) and leaves(self._deps, "hug_message"):
                messages[str(hug_id)] = message
        return {"messages": messages}

    async def _profile(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        viewer = await self._of(payload["viewerId"], caller)
        owner = await self._here(payload["ownerId"])
        db = self._deps.readmodels
        if await social_queries.relationship(db, viewer, owner) not in (
            Relationship.FRIEND,
            Relationship.CLOSE_FRIEND,
        ):
            raise NotFound("there is no such person among your friends", field="handle")
        account = await identity_queries.account_by_id(db, owner)
        if account is None:
            raise NotFound("there is no such person in this region", field="handle")
        shown: dict[str, Any] = {}
        if leaves(self._deps, "profile"):
            shown["displayName"] = account.display_name
        if leaves(self._deps, "bio"):
            shown["bio"] = account.bio
        return shown

    async def _names(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        """The names friends here chose, for a friend of theirs in the calling region."""
        viewer = await self._of(payload["viewerId"], caller)
        owners = payload["ownerIds"]
        if not isinstance(owners, list) or len(owners) > MAX_OWNERS:
            raise ValidationFailed("ownerIds: at most 100")
        if not leaves(self._deps, "profile"):
            return {"names": {}}
        db = self._deps.readmodels
        friends = set(await social_queries.friend_ids(db, viewer))
        here = [o for o in owners if isinstance(o, str) and o in friends]
        accounts = await identity_queries.accounts_by_ids(db, here)
        return {
            "names": {
                user_id: account.display_name
                for user_id, account in accounts.items()
                if await abroad(self._deps, user_id) is None
            }
        }

    async def _moods(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        viewer = await self._of(payload["viewerId"], caller)
        owners, limit, before = payload["ownerIds"], int(payload["limit"]), payload["beforeMs"]
        if not isinstance(owners, list) or len(owners) > MAX_OWNERS or not 1 <= limit <= 50:
            raise ValidationFailed("ownerIds: at most 100; limit: 1 to 50")
        before_ms = int(before) if before is not None else 2**62
        db = self._deps.readmodels
        entries: list[MoodEntryView] = []
        for owner in owners:
            if not isinstance(owner, str) or await abroad(self._deps, owner) is not None:
                continue
            # As far as the viewer may see them (a block or no friendship: nothing).
            entries += await mood_queries.recent_visible(
                db, viewer_id=viewer, owner_id=owner, limit=limit
            )
        if not leaves(self._deps, "mood_entry"):
            return {"entries": []}
        # A note leaves the region only where its rules say so (the shipped ones: never).
        keep_notes = leaves(self._deps, "note")
        entries = [
            e if keep_notes else replace(e, note=None)
            for e in entries
            if e.recorded_at_ms < before_ms
        ]
        entries.sort(key=lambda v: v.recorded_at_ms, reverse=True)
        return {"entries": [entry_to_wire(e) for e in entries[:limit]]}

    async def _mood_entry(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        """One check-in of a person here, as far as a friend in the calling region may see it
        (what a live announcement of it then shows)."""
        viewer = await self._of(payload["viewerId"], caller)
        entry_id = payload["entryId"]
        if not isinstance(entry_id, str) or len(entry_id) > 64:
            raise ValidationFailed("entryId: an entry's id")
        db = self._deps.readmodels
        try:
            view = await mood_queries.mood_entry(db, viewer_id=viewer, entry_id=entry_id)
        except ValidationFailed:
            view = None  # not an id at all: nothing to show
        if view is None or not leaves(self._deps, "mood_entry"):
            return {"entry": None}
        if await abroad(self._deps, view.user_id) is not None:
            return {"entry": None}  # someone else's region's person: not this one's to show
        if not leaves(self._deps, "note"):
            view = replace(view, note=None)
        return {"entry": entry_to_wire(view)}

    async def _friend_mood_recorded(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        """A person of the calling region checked in: their friends here who are connected
        hear of it now (ids only; the check-in is read from the caller when shown)."""
        owner = await self._of(payload["ownerId"], caller)
        entry_id, friends = payload["entryId"], payload["friendIds"]
        if not isinstance(entry_id, str) or len(entry_id) > 64:
            raise ValidationFailed("entryId: an entry's id")
        if not isinstance(friends, list) or len(friends) > MAX_FRIENDS_TOLD:
            raise ValidationFailed(f"friendIds: at most {MAX_FRIENDS_TOLD}")
        db = self._deps.readmodels
        told = 0
        mine = set(await social_queries.friend_ids(db, owner))
        for friend in friends:
            if not isinstance(friend, str) or friend not in mine or self._news is None:
                continue  # not a friend of theirs here (any more), or nobody to tell
            if await abroad(self._deps, friend) is None:
                await self._news.friend_checked_in(friend, owner, entry_id)
                told += 1
        return {"told": told}

    async def _friend_presence(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        """A person of the calling region came, went or stepped away: their friends here who
        are connected hear of it (what friends may see of it, nothing more)."""
        person = await self._of(payload["userId"], caller)
        try:
            shown = presence_wire(payload["status"], payload.get("view"))
        except ValueError as e:
            raise ValidationFailed(str(e)) from None
        friends = await social_queries.friend_ids(self._deps.readmodels, person)
        if self._news is None or not friends:
            return {"told": False}  # nobody here to tell
        await self._news.presence_changed(person, shown["status"], shown["view"])
        return {"told": True}

    async def _presence(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        """Friends here of a person of the calling region: whether they are around now."""
        viewer = await self._of(payload["viewerId"], caller)
        owners = payload["ownerIds"]
        if not isinstance(owners, list) or len(owners) > MAX_OWNERS:
            raise ValidationFailed("ownerIds: at most 100")
        friends = set(await social_queries.friend_ids(self._deps.readmodels, viewer))
        here = [
            o
            for o in owners
            if isinstance(o, str) and o in friends and await abroad(self._deps, o) is None
        ]
        if self._news is None or not here:
            return {"presence": {}}
        shown = await self._news.presence_of(here)
        return {
            "presence": {u: {"status": status, "view": view} for u, (status, view) in shown.items()}
        }

    async def _boards(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        viewer = await self._of(payload["viewerId"], caller)
        if not leaves(self._deps, "board_content"):
            return {"boards": []}
        views = await board_queries.boards_of(
            self._deps.readmodels, viewer, include_archived=bool(payload["includeArchived"])
        )
        return {"boards": [board_to_wire(v) for v in views]}

    async def _member(self, payload: dict[str, Any], caller: str) -> str:
        """The board's id, if the calling region's viewer is on it (by its own stream)."""
        viewer = await self._of(payload["viewerId"], caller)
        must_leave(self._deps, "board_content", "this board's content")
        board_id = canonical_id(str(payload["boardId"]), field="boardId")
        board = await load_board(self._deps, board_id)
        if board is None or board.effective_role(viewer) is None:
            raise NotFound("no such board, or you are not a member", field="id")
        return board_id

    async def _board_members(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        board_id = await self._member(payload, caller)
        views = await board_queries.members(self._deps.readmodels, board_id)
        people = await identity_queries.accounts_by_ids(
            self._deps.readmodels, [v.user_id for v in views]
        )
        return {
            "members": [
                {
                    "userId": v.user_id,
                    "handle": people[v.user_id].handle,
                    "role": v.role.value,
                    "addedAtMs": v.added_at_ms,
                }
                for v in views
                if v.user_id in people
            ]
        }

    async def _board_snapshot_for(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        board_id = await self._member(payload, caller)
        if self._board_snapshot is None:
            raise NotFound("this region shows no board content", field="id")
        return {"snapshot": await self._board_snapshot(board_id)}

    async def _social_sign_in(self, payload: dict[str, Any], caller: str) -> dict[str, Any]:
        """A provider sign-in another region verified: a session here if the identity is
        linked to someone here (their ID token is checked again here, not taken on trust)."""
        device = payload.get("device")
        if device is not None and (not isinstance(device, str) or len(device) > 100):
            raise ValidationFailed("device: at most 100 characters")
        answer = await sign_in_here(
            self._deps,
            self._context(),
            str(payload["idToken"]),
            str(payload["nonce"]),
            device,
        )
        position = answer.pop("position", 0)
        if position:
            await self._bus.wait_for(position)  # the token works as soon as it is handed over
        return answer

    async def _stream(self, stream_id: str) -> dict[str, Any]:
        region = federation(self._deps).region
        events = await self._deps.store.read_stream(stream_id)
        return {"streamId": stream_id, "events": [wire(e, region) for e in events]}


def _data(wired: Any) -> dict[str, Any]:
    data = wired.get("data") if isinstance(wired, dict) else None
    return data if isinstance(data, dict) else {}
