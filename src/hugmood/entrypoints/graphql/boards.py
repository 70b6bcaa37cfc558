"""GraphQL for shared mood boards: list, detail with members, create, invite, remove, archive.

The content itself is edited over the Yjs socket (`socketPath`); `snapshot` gives it as JSON
for clients that do not speak Yjs.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from hugmood.application.federation import federation
from hugmood.application.federation_reads import boards_abroad
from hugmood.application.queries import boards as board_queries
from hugmood.application.queries import identity as identity_queries
from hugmood.domain import boards as board_rules
from hugmood.domain.boards import BoardRole
from hugmood.domain.common import canonical_id
from hugmood.domain.errors import NotFound
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.entrypoints.graphql.readback import account_for

strawberry.enum(
    BoardRole, description="owner: manages members, archives; editor: edits; viewer: looks."
)


@strawberry.type
class BoardMember:
    profile: t.Profile
    role: BoardRole
    added_at: datetime


@strawberry.type(description="A shared mood board, as one of its members sees it.")
class Board:
    id: strawberry.ID
    title: str
    description: str
    archived: bool
    my_role: BoardRole
    owner: t.Profile | None
    item_count: int = strawberry.field(description="Items on the board as of its last stored edit.")
    edits: int = strawberry.field(description="Updates stored since the board was created.")
    created_at: datetime
    last_activity_at: datetime
    socket_path: str = strawberry.field(
        description="The Yjs (y-websocket) endpoint; pass the session token as ?token=…"
    )
    region: strawberry.Private[str | None] = None
    """The other region keeping the board (its owner's), or None: this one."""

    @strawberry.field(description="Everyone on the board with their role, oldest first.")
    async def members(self, info: Ctx) -> list[BoardMember]:
        if self.region is not None:
            return await _members_abroad(info, self.region, str(self.id))
        db = info.context.core.readmodels
        views = await board_queries.members(db, str(self.id))
        people = await identity_queries.accounts_by_ids(db, [v.user_id for v in views])
        return [
            BoardMember(
                profile=t.Profile.of(people[v.user_id]),
                role=BoardRole(v.role.value),
                added_at=t.ms_to_datetime(v.added_at_ms),
            )
            for v in views
            if v.user_id in people
        ]

    @strawberry.field(
        description="The content as JSON: {items: [{id, kind, mood|text|blobId, x, y, color,"
        " addedBy, addedAt}], itemCount, invalid}; see the README's document model."
    )
    async def snapshot(self, info: Ctx) -> JSON:
        me = await info.context.principal()
        if self.region is not None:
            answer = await federation(info.context.core.deps).call(
                self.region, "boardSnapshot", {"viewerId": me.user_id, "boardId": str(self.id)}
            )
            return JSON(answer.get("snapshot", {}))
        reads = info.context.core.heavy_reads
        return JSON(await reads.board_snapshot(viewer_id=me.user_id, board_id=str(self.id)))


async def _members_abroad(info: Ctx, region: str, board_id: str) -> list[BoardMember]:
    """A board of another region's person: its members as that region lists them (people
    not known here by their handle alone)."""
    me = await info.context.principal()
    answer = await federation(info.context.core.deps).call(
        region, "boardMembers", {"viewerId": me.user_id, "boardId": board_id}
    )
    rows = [m for m in answer.get("members", ()) if isinstance(m, dict)]
    people = await identity_queries.accounts_by_ids(
        info.context.core.readmodels, [str(m.get("userId")) for m in rows]
    )
    members = []
    for m in rows:
        try:
            profile = people.get(str(m["userId"]))
            members.append(
                BoardMember(
                    profile=t.Profile.of(profile) if profile else t.Profile.named(str(m["handle"])),
                    role=BoardRole(m["role"]),
                    added_at=t.ms_to_datetime(int(m["addedAtMs"])),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue  # another region's malformed row: not shown
    return members


async def _board(info: Ctx, board_id: str) -> Board:
    db = info.context.core.readmodels
    me = await info.context.principal()
    board_id = canonical_id(board_id)
    try:
        view = await board_queries.board_for(db, board_id, me.user_id)
    except NotFound:
        # Perhaps a board of a friend in another region.
        abroad = await boards_abroad(info.context.core.deps, me.user_id, include_archived=True)
        for region, views in abroad.items():
            found = [v for v in views if v.board_id == board_id]
            if found:
                return (await _boards(info, found, region))[0]
        raise
    return (await _boards(info, [view]))[0]


async def _boards(
    info: Ctx, views: list[board_queries.BoardView], region: str | None = None
) -> list[Board]:
    owners = await identity_queries.accounts_by_ids(
        info.context.core.readmodels, sorted({v.owner_id for v in views})
    )
    return [
        Board(
            id=strawberry.ID(v.board_id),
            title=v.title,
            description=v.description,
            archived=v.archived,
            my_role=BoardRole(v.my_role.value),
            owner=t.Profile.of(owners[v.owner_id]) if v.owner_id in owners else None,
            item_count=v.item_count,
            edits=v.updates,
            created_at=t.ms_to_datetime(v.created_at_ms),
            last_activity_at=t.ms_to_datetime(v.last_activity_ms),
            socket_path=f"/boards/{v.board_id}/ws",
            region=region,
        )
        for v in views
    ]


@strawberry.type
class BoardQueries:
    @strawberry.field(description="Boards you are on, most recently active first.")
    async def boards(self, info: Ctx, include_archived: bool = False) -> list[Board]:
        me = await info.context.principal()
        views = await board_queries.boards_of(
            info.context.core.readmodels, me.user_id, include_archived=include_archived
        )
        boards = await _boards(info, views)
        abroad = await boards_abroad(
            info.context.core.deps, me.user_id, include_archived=include_archived
        )
        for region, theirs in abroad.items():
            boards += await _boards(info, theirs, region)
        boards.sort(key=lambda b: b.last_activity_at, reverse=True)
        return boards

    @strawberry.field(description="One board you are on.")
    async def board(self, info: Ctx, id: strawberry.ID) -> Board:
        return await _board(info, str(id))


@strawberry.input
class CreateBoardInput:
    id: strawberry.ID | None = strawberry.field(
        default=None, description="A UUID chosen by the device; a retried create is stored once."
    )
    title: str = strawberry.field(description="1 to 80 characters.")
    description: str = strawberry.field(default="", description="At most 500 characters.")


@strawberry.type
class BoardMutations:
    @strawberry.mutation(description="Create a board; you are its owner.")
    async def create_board(self, info: Ctx, input: CreateBoardInput) -> Board:
        me = await info.context.principal()
        command = board_rules.CreateBoard(
            board_id=str(input.id) if input.id else str(uuid.uuid4()),
            owner_id=me.user_id,
            title=input.title,
            description=input.description,
        )
        result = await info.context.core.bus.handle(command, info.context.command)
        return await _board(info, result.value)

    @strawberry.mutation(description="Invite a friend with a role, or change a member's role.")
    async def invite_to_board(
        self, info: Ctx, board_id: strawberry.ID, handle: str, role: BoardRole
    ) -> Board:
        me = await info.context.principal()
        member = await account_for(info, handle)
        command = board_rules.InviteMember(str(board_id), me.user_id, member.user_id, role.value)
        result = await info.context.core.bus.handle(command, info.context.command)
        return await _board(info, result.value)

    @strawberry.mutation(description="Remove a member (owners), or leave with your own handle.")
    async def remove_from_board(self, info: Ctx, board_id: strawberry.ID, handle: str) -> bool:
        me = await info.context.principal()
        member = await account_for(info, handle)
        command = board_rules.RemoveMember(str(board_id), me.user_id, member.user_id)
        await info.context.core.bus.handle(command, info.context.command)
        return True

    @strawberry.mutation(description="Archive a board: read-only for everyone from now on.")
    async def archive_board(self, info: Ctx, board_id: strawberry.ID) -> Board:
        me = await info.context.principal()
        command = board_rules.ArchiveBoard(str(board_id), me.user_id)
        result = await info.context.core.bus.handle(command, info.context.command)
        return await _board(info, result.value)
