"""Shared mood boards: create, invite and remove members with roles, archive.

A board's lifecycle lives on the stream `board-<id>` and is decided here. Its content (the
Yjs document friends edit together) lives on `boardDoc-<id>` and is written by the board
rooms (`hugmood.boards`), not by commands: see `BoardContentUpdated` below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from hugmood.domain.common import DomainEvent, PersonalData, clean_text, shown
from hugmood.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from hugmood.ids import BlobId, BoardId, StreamId, UserId

MAX_TITLE = 80
MAX_DESCRIPTION = 500
MAX_MEMBERS = 100


class BoardRole(StrEnum):
    """owner: manages members and may archive; editor: edits content; viewer: only looks."""

    OWNER = "owner"
    EDITOR = "editor"
    VIEWER = "viewer"

    @classmethod
    def parse(cls, value: str) -> BoardRole:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ValidationFailed(
                f"role must be owner, editor or viewer (got {shown(value)})", field="role"
            ) from None

    @property
    def can_edit(self) -> bool:
        return self is not BoardRole.VIEWER


def board_stream(board_id: BoardId) -> str:
    """The board's lifecycle: creation, members, archive."""
    return f"board-{board_id}"


def board_doc_stream(board_id: BoardId, generation: int = 0) -> str:
    """The board's content in one generation: every accepted Yjs update, and compacted
    snapshots. A rebase starts the next generation on its own stream (`boardDoc-<id>~<n>`)
    with only the live items: see `BoardContentRebased`."""
    return f"boardDoc-{board_id}" if generation == 0 else f"boardDoc-{board_id}~{generation}"


def doc_stream_generation(stream_id: StreamId) -> int:
    """Which generation a content stream holds (the inverse of `board_doc_stream`)."""
    _, _, generation = stream_id.partition("~")
    return int(generation) if generation else 0


# --- commands (the acting user first after the board) ---------------------------------------


@dataclass(frozen=True, slots=True)
class CreateBoard:
    """`board_id` may be chosen by the device, so a retried create is stored once."""

    board_id: BoardId
    owner_id: UserId
    title: str
    description: str = ""


@dataclass(frozen=True, slots=True)
class InviteMember:
    """Add a member with a role, or change the role of one who is already there."""

    board_id: BoardId
    actor_id: UserId
    member_id: UserId
    role: str


@dataclass(frozen=True, slots=True)
class RemoveMember:
    """An owner removes someone, or a member leaves (removes themself)."""

    board_id: BoardId
    actor_id: UserId
    member_id: UserId


@dataclass(frozen=True, slots=True)
class ArchiveBoard:
    """The board becomes read-only for everyone and leaves the default board list."""

    board_id: BoardId
    actor_id: UserId


BoardCommand = InviteMember | RemoveMember | ArchiveBoard

# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BoardCreated(DomainEvent):
    EVENT_TYPE = "BoardCreated"
    PERSONAL = PersonalData({"title": "", "description": ""}, owner="ownerId")
    board_id: BoardId
    owner_id: UserId
    title: str
    description: str


@dataclass(frozen=True, slots=True)
class BoardMemberAdded(DomainEvent):
    EVENT_TYPE = "BoardMemberAdded"
    board_id: BoardId
    member_id: UserId
    role: str
    added_by: str


@dataclass(frozen=True, slots=True)
class BoardMemberRoleChanged(DomainEvent):
    EVENT_TYPE = "BoardMemberRoleChanged"
    board_id: BoardId
    member_id: UserId
    role: str
    changed_by: str


@dataclass(frozen=True, slots=True)
class BoardMemberRemoved(DomainEvent):
    EVENT_TYPE = "BoardMemberRemoved"
    board_id: BoardId
    member_id: UserId
    removed_by: str


@dataclass(frozen=True, slots=True)
class BoardArchived(DomainEvent):
    EVENT_TYPE = "BoardArchived"
    board_id: BoardId
    archived_by: str


@dataclass(frozen=True, slots=True)
class BoardContentUpdated(DomainEvent):
    """One Yjs update accepted from an editor (on `boardDoc-<id>`), stored before any other
    peer sees it. `update` is the Yjs v1 update, base64; `item_count` is the number of items
    on the board once the update was applied by the process that accepted it."""

    EVENT_TYPE = "BoardContentUpdated"
    PERSONAL = PersonalData({"update": ""}, owner="contentKey")
    board_id: BoardId
    update: str
    item_count: int
    carried_through: int | None = None
    """Set on an update that carries edits stored on the previous generation after its
    rebase (by a stale replica, or a process that had not seen the rebase yet) into this
    one: everything of the previous generation up to that version is now in this one."""


@dataclass(frozen=True, slots=True)
class BoardContentCompacted(DomainEvent):
    """The whole document as one Yjs update (base64), covering every event of the content
    stream up to `through_version`: loading starts here instead of at the first edit."""

    EVENT_TYPE = "BoardContentCompacted"
    PERSONAL = PersonalData({"snapshot": ""}, owner="contentKey")
    board_id: BoardId
    snapshot: str
    through_version: int
    item_count: int
    lineage: Mapping[str, Any] | None = None
    """From the second generation on: the generation's `BoardContentRebased.lineage`, with
    `carriedThrough` advanced to what the snapshot holds."""


@dataclass(frozen=True, slots=True)
class BoardContentRebased(DomainEvent):
    """The first event of a new generation of the content (`boardDoc-<id>~<n>`): the live
    items only, written afresh so that none of the history (a tombstone per overwrite) comes
    along. `lineage` says where it comes from: `generation`, the previous generation's
    `retiredState` (its Yjs state vector, base64: a replica whose state vector names those
    clients is stale), `olderClients` (client ids of every generation before that), where
    loading the previous generation starts (`retiredFrom`) and through which of its versions
    everything is in this one (`carriedThrough`): edits stored there later are carried over."""

    EVENT_TYPE = "BoardContentRebased"
    PERSONAL = PersonalData({"snapshot": ""}, owner="contentKey")
    board_id: BoardId
    snapshot: str
    item_count: int
    lineage: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class BoardImageUploaded(DomainEvent):
    """An editor stored an image for the board (the rules are in `domain.board_images`).

    It goes on the lifecycle stream `board-<id>`, not the content stream: who may read a
    blob is a question of membership, answered from this one stream that `load_board` reads
    anyway, and the content streams are written only by the rooms and start afresh at every
    rebase. Only blobs recorded here can be fetched through the board.
    """

    EVENT_TYPE = "BoardImageUploaded"
    board_id: BoardId
    blob_id: BlobId
    content_type: str
    bytes: int
    uploaded_by: str


BOARD_EVENTS: tuple[type[DomainEvent], ...] = (
    BoardCreated,
    BoardMemberAdded,
    BoardMemberRoleChanged,
    BoardMemberRemoved,
    BoardArchived,
    BoardImageUploaded,
)
"""Lifecycle events, decided here. The content events are written by the board rooms."""

# --- state and decisions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Board:
    board_id: BoardId
    owner_id: UserId
    title: str
    archived: bool = False
    members: Mapping[str, BoardRole] = field(default_factory=dict)

    def role_of(self, user_id: UserId) -> BoardRole | None:
        return self.members.get(user_id)

    def effective_role(self, user_id: UserId) -> BoardRole | None:
        """What the user may do with the content now: an archived board is read-only."""
        role = self.role_of(user_id)
        if role is not None and self.archived:
            return BoardRole.VIEWER
        return role


def evolve_board(state: Board | None, event: DomainEvent) -> Board | None:
    match event:
        case BoardCreated():
            return Board(
                event.board_id,
                event.owner_id,
                event.title,
                members={event.owner_id: BoardRole.OWNER},
            )
        case BoardMemberAdded() | BoardMemberRoleChanged() if state is not None:
            return replace(state, members={**state.members, event.member_id: BoardRole(event.role)})
        case BoardMemberRemoved() if state is not None:
            members = dict(state.members)
            members.pop(event.member_id, None)
            return replace(state, members=members)
        case BoardArchived() if state is not None:
            return replace(state, archived=True)
    return state


def decide_create(state: Board | None, command: CreateBoard) -> list[DomainEvent]:
    """A retried create (same id, same owner) changes nothing."""
    title = clean_text(command.title, field="title", max_length=MAX_TITLE, min_length=1)
    description = clean_text(
        command.description, field="description", max_length=MAX_DESCRIPTION, multiline=True
    )
    if state is not None:
        if state.owner_id != command.owner_id:
            raise Conflict("this board id is already used; choose a new one", field="id")
        return []
    return [BoardCreated(command.board_id, command.owner_id, title, description)]


def _existing(state: Board | None, actor_id: UserId) -> Board:
    """The board as the actor may know it: a board they are not on is not found."""
    if state is None or state.role_of(actor_id) is None:
        raise NotFound("there is no such board, or you are not a member", field="boardId")
    return state


def _owners(board: Board) -> int:
    return sum(1 for r in board.members.values() if r is BoardRole.OWNER)


def decide_invite(
    state: Board | None, command: InviteMember, *, are_friends: bool
) -> list[DomainEvent]:
    board = _existing(state, command.actor_id)
    role = BoardRole.parse(command.role)
    if board.role_of(command.actor_id) is not BoardRole.OWNER:
        raise Forbidden("only a board's owners can invite and change roles", field="boardId")
    if board.archived:
        raise Conflict("this board is archived; its members no longer change", field="boardId")
    current = board.role_of(command.member_id)
    if current is None:
        if not are_friends:
            raise Forbidden("you can only invite friends to a board", field="handle")
        if len(board.members) >= MAX_MEMBERS:
            raise Conflict(f"a board has at most {MAX_MEMBERS} members", field="handle")
        return [BoardMemberAdded(board.board_id, command.member_id, role.value, command.actor_id)]
    if current is role:
        return []
    if current is BoardRole.OWNER and _owners(board) == 1:
        raise Conflict("a board needs an owner: make someone else owner first", field="role")
    return [BoardMemberRoleChanged(board.board_id, command.member_id, role.value, command.actor_id)]


def decide_remove(state: Board | None, command: RemoveMember) -> list[DomainEvent]:
    board = _existing(state, command.actor_id)
    leaving = command.member_id == command.actor_id
    if not leaving and board.role_of(command.actor_id) is not BoardRole.OWNER:
        raise Forbidden("only a board's owners can remove members", field="boardId")
    if board.archived:
        raise Conflict("this board is archived; its members no longer change", field="boardId")
    current = board.role_of(command.member_id)
    if current is None:
        raise NotFound("they are not a member of this board", field="handle")
    if current is BoardRole.OWNER and _owners(board) == 1:
        raise Conflict("a board needs an owner: make someone else owner first", field="handle")
    return [BoardMemberRemoved(board.board_id, command.member_id, command.actor_id)]


def decide_archive(state: Board | None, command: ArchiveBoard) -> list[DomainEvent]:
    board = _existing(state, command.actor_id)
    if board.role_of(command.actor_id) is not BoardRole.OWNER:
        raise Forbidden("only a board's owners can archive it", field="boardId")
    if board.archived:
        return []
    return [BoardArchived(board.board_id, command.actor_id)]


def decide_parting(state: Board | None, actor_id: UserId, other_id: UserId) -> list[DomainEvent]:
    """Two people stopped being friends (one blocked or unfriended the other): neither stays
    on a board the other owns. The actor, if an owner, removes the other; otherwise, if the
    other owns it, the actor leaves. Archived boards too: read-only is still seeing. A board
    neither of them owns keeps both; its owners decide."""
    if state is None:
        return []
    actor, other = state.role_of(actor_id), state.role_of(other_id)
    if actor is None or other is None:
        return []
    if actor is BoardRole.OWNER:
        return [BoardMemberRemoved(state.board_id, other_id, actor_id)]
    if other is BoardRole.OWNER:
        return [BoardMemberRemoved(state.board_id, actor_id, actor_id)]
    return []
