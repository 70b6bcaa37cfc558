"""Board images end to end: editors upload over HTTP, members download, everyone else is
refused with a specific error and nothing stored, against a server subprocess."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.client import User, befriend, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.yjs import content, items, synced_doc, until

pytestmark = pytest.mark.e2e

CREATE = "mutation($t: String!) { createBoard(input: {title: $t}) { id } }"
INVITE = """
mutation($b: ID!, $h: String!, $r: BoardRole!) {
  inviteToBoard(boardId: $b, handle: $h, role: $r) { id }
}"""
ARCHIVE = "mutation($b: ID!) { archiveBoard(boardId: $b) { archived } }"
SNAPSHOT = "query($b: ID!) { board(id: $b) { snapshot } }"
MAX_BYTES = 2 * 1024 * 1024


def png(width: int = 8, height: int = 8, *, noise: bool = False) -> bytes:
    """A real grayscale PNG; with `noise`, random pixels that barely compress."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(
        b"\x00" + (os.urandom(width) if noise else bytes((x * 31 + y) % 256 for x in range(width)))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def gif() -> bytes:
    """A real 1x1 GIF."""
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00"
        b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def board_with(owner: User, *others: tuple[User, str]) -> str:
    board_id: str = owner.api(CREATE, t="Our week")["createBoard"]["id"]
    for user, role in others:
        befriend(owner, user)
        owner.api(INVITE, b=board_id, h=user.handle, r=role)
    return board_id


def images_url(server: HugMoodServer, board_id: str, blob_id: str | None = None) -> str:
    url = f"{server.url}/boards/{board_id}/images"
    return url if blob_id is None else f"{url}/{blob_id}"


def auth(user: User | None, content_type: str | None = None) -> dict[str, str]:
    headers = {} if user is None else {"authorization": f"Bearer {user.api.token}"}
    if content_type is not None:
        headers["content-type"] = content_type
    return headers


def upload(
    server: HugMoodServer,
    board_id: str,
    user: User | None,
    data: bytes | Iterator[bytes],
    content_type: str | None = "image/png",
) -> httpx.Response:
    return server.http.post(
        images_url(server, board_id), content=data, headers=auth(user, content_type)
    )


def download(
    server: HugMoodServer, board_id: str, user: User | None, blob_id: str
) -> httpx.Response:
    return server.http.get(images_url(server, board_id, blob_id), headers=auth(user))


def refused(response: httpx.Response, status: int, code: str) -> str:
    """The refusal's message, once its status and JSON shape are checked."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["errors"][0]
    assert error["extensions"]["code"] == code, error
    message: str = error["message"]
    assert message
    return message


async def test_an_editor_uploads_an_image_and_a_viewer_downloads_it(
    backend: dict[str, str], start_server: StartServer
) -> None:
    server = start_server(backend)
    ann, ben, cat = sign_up(server, "ann"), sign_up(server, "ben"), sign_up(server, "cat")
    board_id = board_with(ann, (ben, "EDITOR"), (cat, "VIEWER"))
    image = png(300, 400, noise=True)  # over the 100 kB GraphQL body limit, under 2 MiB
    assert len(image) > 100_000

    first = upload(server, board_id, ben, image)
    assert first.status_code == 201, first.text
    blob_id = first.json()["blobId"]
    assert first.json() == {"blobId": blob_id, "contentType": "image/png", "bytes": len(image)}
    # Named by the sealed bytes (`privacy.keys.blobs`): the name says nothing of the image.
    assert len(blob_id) == 64
    assert blob_id != hashlib.sha256(image).hexdigest()
    position = server.event_log_position()
    again = upload(server, board_id, ben, image, content_type=None)
    assert (again.status_code, again.json()) == (201, first.json())
    assert server.event_log_position() == position, "the same image is recorded once"

    got = download(server, board_id, cat, blob_id)
    assert got.status_code == 200, got.text
    assert got.content == image
    assert got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-security-policy"] == "default-src 'none'"
    assert got.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert got.headers["etag"] == f'"{blob_id}"'
    cached = server.http.get(
        images_url(server, board_id, blob_id),
        headers={**auth(cat), "if-none-match": got.headers["etag"]},
    )
    assert (cached.status_code, cached.content) == (304, b"")

    small = upload(server, board_id, ann, gif(), content_type="image/gif")
    assert small.status_code == 201 and small.json()["contentType"] == "image/gif"
    assert download(server, board_id, ben, small.json()["blobId"]).content == gif()

    item = {
        "kind": "image",
        "blobId": blob_id,
        "alt": "our week in grey",
        "x": 10,
        "y": 20,
        "color": "#336699",
        "addedBy": ben.handle,
        "addedAt": 1_700_000_000_000,
    }
    async with synced_doc(server, board_id, ben) as doc:
        items(doc)["picture"] = item
        async with synced_doc(server, board_id, cat) as cats:
            await until(lambda: "picture" in content(cats), "the viewer sees the image item")

    def snapshot() -> dict[str, Any]:
        found: dict[str, Any] = cat.api(SNAPSHOT, b=board_id)["board"]["snapshot"]
        return found

    await until(lambda: snapshot()["items"] != [], "the snapshot lists the image")
    assert snapshot()["items"] == [{"id": "picture", **item}]


def test_only_members_see_images_and_only_editors_of_live_boards_add_them(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben, cat, eve = (sign_up(server, n) for n in ("ann", "ben", "cat", "eve"))
    board_id = board_with(ann, (ben, "EDITOR"), (cat, "VIEWER"))
    blob_id = upload(server, board_id, ben, png()).json()["blobId"]
    elsewhere = board_with(eve, (cat, "OWNER"))
    position = server.event_log_position()

    assert "viewer" in refused(upload(server, board_id, cat, png(9, 9)), 403, "FORBIDDEN")
    refused(upload(server, board_id, eve, png(9, 9)), 404, "NOT_FOUND")
    refused(download(server, board_id, eve, blob_id), 404, "NOT_FOUND")
    # A blob stored for one board is not readable through another, even by a member of both.
    refused(download(server, elsewhere, cat, blob_id), 404, "NOT_FOUND")
    assert server.event_log_position() == position
    assert sorted(p.name for p in (server.data_dir / "blobs").rglob("*") if p.is_file()) == [
        blob_id
    ]

    ann.api(ARCHIVE, b=board_id)
    message = refused(upload(server, board_id, ann, png(9, 9)), 403, "FORBIDDEN")
    assert "archived" in message
    assert download(server, board_id, cat, blob_id).content == png()


def test_bad_image_requests_get_a_specific_error_and_write_nothing(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    board_id = board_with(ann)
    blob_id = upload(server, board_id, ann, png()).json()["blobId"]
    position = server.event_log_position()
    stored = sorted((server.data_dir / "blobs").rglob("*"))
    unknown_board = "00000000-0000-0000-0000-000000000001"
    too_big = png() + b"\x00" * (MAX_BYTES - len(png()) + 1)

    def chunked() -> Iterator[bytes]:
        yield too_big[:1024]
        for start in range(1024, len(too_big), 64 * 1024):
            yield too_big[start : start + 64 * 1024]

    bearer_nobody = {"authorization": "Bearer not-a-session"}
    cases: dict[str, tuple[httpx.Response, int, str]] = {
        "no token": (upload(server, board_id, None, png(5, 5)), 401, "UNAUTHENTICATED"),
        "bad token": (
            server.http.post(
                images_url(server, board_id), content=png(5, 5), headers=bearer_nobody
            ),
            401,
            "UNAUTHENTICATED",
        ),
        "download without a token": (
            download(server, board_id, None, blob_id),
            401,
            "UNAUTHENTICATED",
        ),
        "board id not a uuid": (upload(server, "board-1", ann, png(5, 5)), 404, "NOT_FOUND"),
        "unknown board": (upload(server, unknown_board, ann, png(5, 5)), 404, "NOT_FOUND"),
        "too big, declared": (upload(server, board_id, ann, too_big), 413, "VALIDATION"),
        "too big, chunked": (upload(server, board_id, ann, chunked()), 413, "VALIDATION"),
        "not an image": (
            upload(server, board_id, ann, b"<svg onload=alert(1)>"),
            415,
            "VALIDATION",
        ),
        "svg declared": (
            upload(server, board_id, ann, b"<svg/>", content_type="image/svg+xml"),
            415,
            "VALIDATION",
        ),
        "empty body": (upload(server, board_id, ann, b""), 415, "VALIDATION"),
        "type contradicts bytes": (
            upload(server, board_id, ann, png(5, 5), content_type="image/gif"),
            415,
            "VALIDATION",
        ),
        "html declared": (
            upload(server, board_id, ann, png(5, 5), content_type="text/html"),
            415,
            "VALIDATION",
        ),
        "blob id not hex": (download(server, board_id, ann, "secret.key"), 400, "VALIDATION"),
        "short blob id": (download(server, board_id, ann, "abc123"), 400, "VALIDATION"),
        "unknown blob": (download(server, board_id, ann, "0" * 64), 404, "NOT_FOUND"),
        "unknown board, download": (
            download(server, unknown_board, ann, blob_id),
            404,
            "NOT_FOUND",
        ),
        "wrong method": (
            server.http.put(images_url(server, board_id, blob_id), headers=auth(ann)),
            405,
            "VALIDATION",
        ),
    }
    for name, (response, status, code) in cases.items():
        assert response.status_code == status, (name, response.status_code, response.text)
        refused(response, status, code)
    assert "64 hex" in refused(download(server, board_id, ann, "g" * 64), 400, "VALIDATION")
    too_large = refused(upload(server, board_id, ann, too_big), 413, "VALIDATION")
    assert too_large == "the image is larger than 2 MiB (2097152 bytes)"
    assert server.event_log_position() == position, "bad input must not write anything"
    assert sorted((server.data_dir / "blobs").rglob("*")) == stored
