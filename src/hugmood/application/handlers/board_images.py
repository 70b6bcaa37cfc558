"""Board images: adding one (check the editor, store the blob, record it on the board) and
reading one back (members only, recorded blobs only)."""

from __future__ import annotations

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.streams import decide_and_append, load
from hugmood.blobs.store import BlobStore
from hugmood.boards import images
from hugmood.domain.boards import board_stream
from hugmood.domain.common import canonical_id
from hugmood.domain.errors import NotFound, ValidationFailed


def board_id_or_not_found(value: str) -> str:
    """A malformed board id is a board that does not exist (the two are not told apart)."""
    try:
        return canonical_id(value, field="boardId")
    except ValidationFailed:
        raise NotFound(images.NOT_FOUND, field="boardId") from None


async def board_images(deps: Dependencies, board_id: str) -> images.BoardWithImages:
    """The board and its images as its own stream says now (not the read model)."""
    loaded = await load(deps.store, board_stream(board_id), images.BoardWithImages(), images.evolve)
    return loaded.state


async def check_upload(deps: Dependencies, board_id: str, user_id: str) -> str:
    """Before reading a body: may this user add images here? Returns the canonical board id."""
    board_id = board_id_or_not_found(board_id)
    images.check_can_upload(await board_images(deps, board_id), user_id)
    return board_id


async def upload_image(
    deps: Dependencies,
    blobs: BlobStore,
    context: CommandContext,
    *,
    board_id: str,
    user_id: str,
    data: bytes,
    declared_type: str | None,
) -> images.BoardImage:
    """Store the bytes (once, by content) and record them on the board (once).

    `board_id` is what `check_upload` returned: checking first (before the body is even
    read) is what keeps a refused upload from storing anything. The blob is stored before it
    is recorded, so a recorded image can always be read; a blob whose recording is then
    refused (the uploader was removed meanwhile) stays unreadable, since only recorded blobs
    are served through a board.
    """
    content_type = images.image_type(data, declared_type)
    stored = await blobs.put(data)
    image = images.BoardImage(stored.blob_id, content_type, len(data))
    await decide_and_append(
        deps.store,
        deps.clock,
        stream_id=board_stream(board_id),
        initial=images.BoardWithImages(),
        evolve=images.evolve,
        decide=lambda state: images.decide_upload(state, user_id, image, board_id),
        user_id=user_id,
        context=context,
    )
    return image


async def read_image(
    deps: Dependencies, blobs: BlobStore, *, board_id: str, user_id: str, blob_id: str
) -> tuple[images.BoardImage, bytes]:
    """A recorded image of a board the user is on, with its bytes."""
    board_id = board_id_or_not_found(board_id)
    image = images.readable_image(await board_images(deps, board_id), user_id, blob_id)
    data = await blobs.get(image.blob_id)
    if data is None:
        raise NotFound("this board has no such image", field="blobId")
    return image, data
