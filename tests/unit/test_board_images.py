"""Board image rules: recognising images by their bytes, and who may add or see one."""

from __future__ import annotations

import re

import pytest

from hugmood.domain import board_images as images
from hugmood.domain.boards import (
    BoardArchived,
    BoardCreated,
    BoardImageUploaded,
    BoardMemberAdded,
)
from hugmood.domain.errors import Forbidden, NotFound, ValidationFailed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
GIF = b"GIF87a" + b"\x00" * 16
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 8
BLOB = "ab" * 32


@pytest.mark.parametrize(
    ("data", "kind"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
def test_each_accepted_format_is_recognised_by_its_first_bytes(data: bytes, kind: str) -> None:
    assert images.sniff(data) == kind
    assert images.image_type(data, None) == kind
    assert images.image_type(data, "application/octet-stream") == kind
    assert images.image_type(data, f"{kind}; charset=binary") == kind


@pytest.mark.parametrize(
    "data",
    [b"", b"<svg/>", b"%PDF-1.7", b"\x89PNG\r\n\x1a\n", b"RIFF\x00\x00\x00\x00WAVEfmt ", b"BM" * 9],
)
def test_anything_else_is_unsupported(data: bytes) -> None:
    with pytest.raises(images.UnsupportedImage):
        images.image_type(data, None)


def test_a_declared_type_must_agree_with_the_bytes() -> None:
    assert images.image_type(JPEG, "image/jpg") == "image/jpeg"
    for declared in ("image/gif", "text/html", "image/svg+xml"):
        with pytest.raises(images.UnsupportedImage, match=re.escape(declared)):
            images.image_type(PNG, declared)


def test_blob_ids_are_64_hex_digits() -> None:
    assert images.parse_blob_id(BLOB.upper()) == BLOB
    for bad in ("", "abc", "g" * 64, "../" + BLOB):
        with pytest.raises(ValidationFailed):
            images.parse_blob_id(bad)


def board(*more: object) -> images.BoardWithImages:
    return images.fold(
        [
            BoardCreated("b1", "ann", "Our week", ""),
            BoardMemberAdded("b1", "ben", "editor", "ann"),
            BoardMemberAdded("b1", "cat", "viewer", "ann"),
            *more,  # type: ignore[list-item]
        ]
    )


def test_an_editor_records_an_image_once() -> None:
    image = images.BoardImage(BLOB, "image/png", 10)
    assert images.decide_upload(board(), "ben", image, "b1") == [
        BoardImageUploaded("b1", BLOB, "image/png", 10, "ben")
    ]
    recorded = board(BoardImageUploaded("b1", BLOB, "image/png", 10, "ben"))
    assert images.decide_upload(recorded, "ann", image, "b1") == []
    assert images.readable_image(recorded, "cat", BLOB) == image


def test_viewers_strangers_and_archived_boards_are_refused() -> None:
    image = images.BoardImage(BLOB, "image/png", 10)
    with pytest.raises(Forbidden, match="viewer"):
        images.decide_upload(board(), "cat", image, "b1")
    with pytest.raises(NotFound):
        images.decide_upload(board(), "eve", image, "b1")
    with pytest.raises(NotFound):
        images.decide_upload(images.BoardWithImages(), "ann", image, "b1")
    with pytest.raises(Forbidden, match="archived"):
        images.decide_upload(board(BoardArchived("b1", "ann")), "ann", image, "b1")


def test_only_recorded_images_of_the_board_are_readable_and_only_by_members() -> None:
    recorded = board(BoardImageUploaded("b1", BLOB, "image/png", 10, "ben"))
    with pytest.raises(NotFound):
        images.readable_image(board(), "ann", BLOB)
    with pytest.raises(NotFound):
        images.readable_image(recorded, "eve", BLOB)
