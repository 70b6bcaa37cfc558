"""Board images: which bytes are an image we accept, and who may add or see one on a board.

Pure rules, no I/O. An image is recognised by its first bytes (PNG, JPEG, GIF, WebP), never
by what the client declares; a declared type that says otherwise is refused as well.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from hugmood.domain.boards import Board, BoardImageUploaded, BoardRole, evolve_board
from hugmood.domain.common import SHA256_HEX, DomainEvent
from hugmood.domain.errors import Forbidden, NotFound, ValidationFailed
from hugmood.ids import BlobId, BoardId, UserId

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)

ACCEPTED = ("image/png", "image/jpeg", "image/gif", "image/webp")
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
_UNDECLARED = ("", "application/octet-stream")
"""Declared types that say nothing about the bytes: the bytes decide."""


class UnsupportedImage(ValidationFailed):
    """The body is not a PNG, JPEG, GIF or WebP image, or not what its Content-Type says."""


def sniff(data: bytes) -> str | None:
    """The image type of `data` by its magic bytes, or None if it is none we accept."""
    for signature, content_type in _SIGNATURES:
        if data.startswith(signature) and len(data) > len(signature):
            return content_type
    if len(data) > 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_type(data: bytes, declared: str | None) -> str:
    """The content type to store `data` as; raises `UnsupportedImage` with the reason."""
    if not data:
        raise UnsupportedImage("the body is empty: send the image's bytes", field="body")
    found = sniff(data)
    if found is None:
        raise UnsupportedImage(
            "the body is not a PNG, JPEG, GIF or WebP image (judged by its first bytes)",
            field="body",
        )
    said = (declared or "").split(";", 1)[0].strip().lower()
    said = _ALIASES.get(said, said)
    if said not in _UNDECLARED and said != found:
        raise UnsupportedImage(
            f"the body is {found} but its Content-Type says {said}", field="contentType"
        )
    return found


def parse_blob_id(value: str) -> str:
    blob_id = value.strip().lower()
    if not SHA256_HEX.match(blob_id):
        raise ValidationFailed(
            "an image id is the 64 hex digits of its sha256, as the upload answered",
            field="blobId",
        )
    return blob_id


@dataclass(frozen=True, slots=True)
class UploadBoardImage:
    """An editor adds an image's bytes to a board (`declared_type`: the Content-Type sent)."""

    board_id: BoardId
    user_id: UserId
    data: bytes
    declared_type: str | None


@dataclass(frozen=True, slots=True)
class BoardImage:
    blob_id: BlobId
    content_type: str
    bytes: int


@dataclass(frozen=True, slots=True)
class BoardWithImages:
    """A board as its lifecycle stream says, with the images recorded on it."""

    board: Board | None = None
    images: Mapping[str, BoardImage] = field(default_factory=dict)


def evolve(state: BoardWithImages, event: DomainEvent) -> BoardWithImages:
    board = evolve_board(state.board, event)
    if isinstance(event, BoardImageUploaded) and event.blob_id not in state.images:
        image = BoardImage(event.blob_id, event.content_type, event.bytes)
        return BoardWithImages(board, {**state.images, event.blob_id: image})
    return state if board is state.board else BoardWithImages(board, state.images)


def fold(events: Iterable[DomainEvent]) -> BoardWithImages:
    state = BoardWithImages()
    for event in events:
        state = evolve(state, event)
    return state


NOT_FOUND = "there is no such board, or you are not a member"


def member_role(state: BoardWithImages, user_id: UserId) -> BoardRole:
    """The user's effective role; a board they are not on is not found."""
    role = None if state.board is None else state.board.effective_role(user_id)
    if role is None:
        raise NotFound(NOT_FOUND, field="boardId")
    return role


def check_can_upload(state: BoardWithImages, user_id: UserId) -> None:
    role = member_role(state, user_id)
    if role.can_edit:
        return
    assert state.board is not None  # member_role found a role on it
    if state.board.archived:
        raise Forbidden("this board is archived: nobody adds images any more", field="boardId")
    raise Forbidden("viewers cannot add images; ask an owner to make you an editor")


def decide_upload(
    state: BoardWithImages, user_id: UserId, image: BoardImage, board_id: BoardId
) -> list[DomainEvent]:
    """Record the image on the board, once: the same bytes again change nothing."""
    check_can_upload(state, user_id)
    if image.blob_id in state.images:
        return []
    return [BoardImageUploaded(board_id, image.blob_id, image.content_type, image.bytes, user_id)]


def readable_image(state: BoardWithImages, user_id: UserId, blob_id: BlobId) -> BoardImage:
    """The image, for any member; a blob this board never recorded is not found."""
    member_role(state, user_id)
    image = state.images.get(blob_id)
    if image is None:
        raise NotFound("this board has no such image", field="blobId")
    return image
