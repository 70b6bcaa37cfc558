"""Board images: adding one (a command: check the editor, store the blob, record it on the
board) and reading one back (members only, recorded blobs only)."""

from __future__ import annotations

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.results import CommandResult
from hugmood.application.streams import decide_and_append, load
from hugmood.domain import board_images as images
from hugmood.domain.boards import board_stream
from hugmood.domain.common import canonical_id
from hugmood.domain.errors import NotFound, ValidationFailed
from hugmood.ids import BlobId, BoardId, UserId


def board_id_or_not_found(value: str) -> str:
    """A malformed board id is a board that does not exist (the two are not told apart)."""
    try:
        return canonical_id(value, field="boardId")
    except ValidationFailed:
        raise NotFound(images.NOT_FOUND, field="boardId") from None


async def board_images(deps: Dependencies, board_id: BoardId) -> images.BoardWithImages:
    """The board and its images as its own stream says now (not the read model)."""
    loaded = await load(deps.store, board_stream(board_id), images.BoardWithImages(), images.evolve)
    return loaded.state


async def check_upload(deps: Dependencies, board_id: BoardId, user_id: UserId) -> str:
    """Before reading a body: may this user add images here? Returns the canonical board id."""
    board_id = board_id_or_not_found(board_id)
    images.check_can_upload(await board_images(deps, board_id), user_id)
    return board_id


async def upload_board_image(
    command: images.UploadBoardImage, deps: Dependencies, context: CommandContext
) -> CommandResult:
    """Store the bytes (once, by content) and record them on the board (once); the result's
    value is the `BoardImage`.

    The caller checks the board with `check_upload` before even reading the body, which is
    what keeps a refused upload from storing anything; it is checked again here, on the
    board's stream, as it records. The blob is stored before it is recorded, so a recorded
    image can always be read; a blob whose recording is then refused (the uploader was
    removed meanwhile) stays unreadable, since only recorded blobs are served through a board.
    """
    board_id = board_id_or_not_found(command.board_id)
    content_type = images.image_type(command.data, command.declared_type)
    stored = await deps.blobs.put(command.data, owner=command.user_id)
    image = images.BoardImage(stored.blob_id, content_type, len(command.data))
    result = await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=board_stream(board_id),
        initial=images.BoardWithImages(),
        evolve=images.evolve,
        decide=lambda state: images.decide_upload(state, command.user_id, image, board_id),
        user_id=command.user_id,
        context=context,
    )
    return CommandResult(result.last_position if result else 0, image)


async def read_image(
    deps: Dependencies, *, board_id: BoardId, user_id: UserId, blob_id: BlobId
) -> tuple[images.BoardImage, bytes]:
    """A recorded image of a board the user is on, with its bytes."""
    board_id = board_id_or_not_found(board_id)
    image = images.readable_image(await board_images(deps, board_id), user_id, blob_id)
    data = await deps.blobs.get(image.blob_id)
    if data is None:
        raise NotFound("this board has no such image", field="blobId")
    return image, data
