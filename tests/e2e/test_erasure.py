"""Erasure by destroying the key (issue 16): a person's personal fields are stored only
encrypted under their own key, and once they delete their account nothing of them can be
read from any file the server keeps — even after every read model is rebuilt from the log."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import uuid
from collections.abc import Mapping
from pathlib import Path

import pytest
import redis

from hugmood.domain import identity
from tests.conftest import POSTGRES_URL, unique
from tests.e2e.client import (
    PASSWORD,
    GraphQLClient,
    GraphQLFailure,
    User,
    befriend,
    log_in,
    record_mood,
    sign_up,
)
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer, hugmood_env, run_cli
from tests.e2e.test_board_images import download, png, upload
from tests.e2e.test_distributed import PrivateNats
from tests.e2e.yjs import items, synced_doc, until

pytestmark = pytest.mark.e2e

DELETE = "mutation($p: String!) { deleteAccount(password: $p) }"
INBOX = "{ inbox { sender { handle displayName deleted } message } }"
FRIENDS = "{ friendsPresence { profile { handle } } }"


def files_holding(root: Path, needle: str) -> list[str]:
    """Every file under `root` whose bytes contain `needle` (UTF-8), e.g. a -wal file."""
    raw = needle.encode()
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and raw in p.read_bytes()
    )


def blob_files(data_dir: Path) -> list[Path]:
    return [p for p in (data_dir / "blobs").rglob("*") if p.is_file()]


def fill_every_field(server: HugMoodServer) -> tuple[User, User, str]:
    """Ann, befriended by Ben, writes a canary into every personal field she has."""
    canary = "zqcanary" + uuid.uuid4().hex[:10]
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    befriend(ann, ben)
    ann.api(
        "mutation($i: UpdateProfileInput!) { updateProfile(input: $i) { handle } }",
        i={"displayName": f"Ann {canary}", "bio": f"bio {canary}"},
    )
    record_mood(
        ann,
        moodType="calm",
        intensity=0.6,
        note=f"note {canary}",
        contextFactors={"location": f"at {canary}", "tags": []},
        privacy="FRIENDS_ONLY",
    )
    ann.api(
        "mutation($i: SendHugInput!) { sendHug(input: $i) { id } }",
        i={"to": ben.handle, "hugType": "WARM", "message": f"hug {canary}"},
    )
    board_id = ann.api(
        "mutation($i: CreateBoardInput!) { createBoard(input: $i) { id } }",
        i={"title": f"board {canary}", "description": f"about {canary}"},
    )["createBoard"]["id"]
    image = png() + canary.encode()  # the canary in the image's bytes
    uploaded = upload(server, board_id, ann, image)
    assert uploaded.status_code == 201, uploaded.text
    asyncio.run(add_note(server, board_id, ann, "mine", f"board note {canary}"))
    # Readable by whom it is for.
    assert [h["message"] for h in ben.api(INBOX)["inbox"]] == [f"hug {canary}"]
    assert download(server, board_id, ann, uploaded.json()["blobId"]).content == image
    return ann, ben, canary


async def add_note(server: HugMoodServer, board_id: str, user: User, key: str, text: str) -> None:
    """`user` adds a note to the board over its Yjs socket (the app's item shape)."""
    async with synced_doc(server, board_id, user) as doc:
        items(doc)[key] = {
            "kind": "note",
            "text": text,
            "x": 1.0,
            "y": 2.0,
            "color": "#ffcc00",
            "addedBy": identity.user_id_for(user.handle),
            "addedAt": 1_700_000_000_000,
        }
        await until(lambda: snapshot_keys(user, board_id) >= {key}, "the note is stored")


def snapshot_keys(user: User, board_id: str) -> set[str]:
    board = user.api("query($b: ID!) { board(id: $b) { snapshot } }", b=board_id)["board"]
    return {item["id"] for item in board["snapshot"]["items"]}


def erase(server: HugMoodServer, ann: User, ben: User) -> None:
    """Ann erases her account; she is gone for her, for Ben and for anyone taking her name."""
    wrong = ann.api.failure(DELETE, p="not my password at all")
    assert wrong.errors[0]["extensions"]["code"] == "VALIDATION"
    assert ann.api(DELETE, p=PASSWORD) == {"deleteAccount": True}
    assert ann.api.failure(FRIENDS).errors[0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert isinstance(
        GraphQLClient(server).attempt(
            "mutation($h: String!, $p: String!) { logIn(handle: $h, password: $p) { token } }",
            h=ann.handle,
            p=PASSWORD,
        ),
        GraphQLFailure,
    )
    assert ben.api(FRIENDS)["friendsPresence"] == []
    # Ben keeps the hug she sent him, from a deleted account, without her message.
    assert ben.api(INBOX)["inbox"] == [
        {
            "sender": {"handle": "", "displayName": "A deleted account", "deleted": True},
            "message": None,
        }
    ]
    again = GraphQLClient(server).attempt(
        "mutation($i: RegisterInput!) { register(input: $i) { handle } }",
        i={"handle": ann.handle, "displayName": "Someone", "password": PASSWORD},
    )
    assert isinstance(again, GraphQLFailure)


def rebuild_offline(server: HugMoodServer, settings: Mapping[str, str]) -> str:
    """Stop the server and rebuild every read model from the log; what the command printed."""
    server.stop()
    rebuilt = run_cli("projections", "rebuild", env=hugmood_env(server.data_dir, settings))
    assert rebuilt.returncode == 0, rebuilt.stderr
    return rebuilt.stdout + rebuilt.stderr


def test_personal_fields_are_stored_encrypted_and_erasure_forgets_the_person(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben, canary = fill_every_field(server)
    # No file the server keeps holds any of it in clear: not the log, the keys, the read
    # models or their write-ahead logs, nor the server's own log lines.
    assert files_holding(server.data_dir, canary) == []
    assert canary not in server.log_path.read_text()

    assert blob_files(server.data_dir), "her image is stored"
    erase(server, ann, ben)
    assert blob_files(server.data_dir) == [], "the blobs only she referenced are deleted"
    printed = rebuild_offline(server, {})
    assert files_holding(server.data_dir, canary) == []
    assert canary not in server.log_path.read_text() + printed
    with sqlite3.connect(server.data_dir / "keys.sqlite3") as keys:
        row = keys.execute(
            "SELECT wrapped, destroyed_at_ms FROM hm_data_keys WHERE user_id = ?",
            (identity.user_id_for(ann.handle),),
        ).fetchone()
    assert row[0] is None and row[1] > 0, "her data key is gone, a tombstone left"

    server.start()
    assert ben.api(FRIENDS)["friendsPresence"] == []
    assert log_in(server, ben.handle)


def test_an_erased_members_board_items_are_gone_and_the_rest_of_the_board_stays(
    start_server: StartServer,
) -> None:
    server = start_server()
    canary = "zqcanary" + uuid.uuid4().hex[:10]
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    befriend(ann, ben)
    board_id = ann.api(
        "mutation($i: CreateBoardInput!) { createBoard(input: $i) { id } }",
        i={"title": "Our week", "description": "together"},
    )["createBoard"]["id"]
    ann.api(
        "mutation($b: ID!, $h: String!) { inviteToBoard(boardId: $b, handle: $h, role: EDITOR)"
        " { id } }",
        b=board_id,
        h=ben.handle,
    )
    asyncio.run(add_note(server, board_id, ann, "anns", "a walk by the river"))
    asyncio.run(add_note(server, board_id, ben, "bens", f"ben's secret {canary}"))
    assert snapshot_keys(ann, board_id) == {"anns", "bens"}

    assert ben.api(DELETE, p=PASSWORD) == {"deleteAccount": True}
    # The board goes on without Ben's note, for Ann and for anyone syncing it afresh.
    assert snapshot_keys(ann, board_id) == {"anns"}

    async def synced_again() -> set[str]:
        async with synced_doc(server, board_id, ann) as doc:
            return set(items(doc).keys())

    assert asyncio.run(synced_again()) == {"anns"}
    # And no earlier generation of the board can be read for it any more.
    rebuild_offline(server, {})
    assert files_holding(server.data_dir, canary) == []


def test_the_items_of_someone_who_left_a_board_go_with_their_erasure(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    befriend(ann, ben)
    board_id = ann.api(
        "mutation($i: CreateBoardInput!) { createBoard(input: $i) { id } }",
        i={"title": "Our week", "description": "together"},
    )["createBoard"]["id"]
    ann.api(
        "mutation($b: ID!, $h: String!) { inviteToBoard(boardId: $b, handle: $h, role: EDITOR)"
        " { id } }",
        b=board_id,
        h=ben.handle,
    )
    asyncio.run(add_note(server, board_id, ann, "anns", "a walk by the river"))
    asyncio.run(add_note(server, board_id, ben, "bens", "ben was here"))
    ann.api(
        "mutation($b: ID!, $h: String!) { removeFromBoard(boardId: $b, handle: $h) }",
        b=board_id,
        h=ben.handle,
    )
    assert snapshot_keys(ann, board_id) == {"anns", "bens"}, "his note stays when he goes"

    assert ben.api(DELETE, p=PASSWORD) == {"deleteAccount": True}
    assert snapshot_keys(ann, board_id) == {"anns"}, "and goes when he is erased"


@pytest.mark.postgres
def test_on_postgresql_redis_and_nats_no_store_holds_a_persons_data_in_clear(
    start_server: StartServer,
    pg_schema: str,
    machine_redis: tuple[str, str],
    tmp_path: Path,
) -> None:
    nats = PrivateNats(tmp_path / "nats")
    nats.start()
    redis_url, prefix = machine_redis
    stream = unique("canary").upper()
    settings = {
        "HUGMOOD_DATABASE_URL": POSTGRES_URL,
        "HUGMOOD_POSTGRES_SCHEMA": pg_schema,
        "HUGMOOD_REDIS_URL": redis_url,
        "HUGMOOD_REDIS_PREFIX": prefix,
        "HUGMOOD_NATS_URL": nats.url,
        "HUGMOOD_NATS_STREAM": stream,
        "HUGMOOD_NATS_SUBJECT_PREFIX": stream.lower(),
    }
    try:
        server = start_server(settings)
        ann, ben, canary = fill_every_field(server)

        def everywhere() -> list[str]:
            dump = subprocess.run(
                ["pg_dump", "--schema", pg_schema, POSTGRES_URL],
                capture_output=True,
                check=True,
            ).stdout
            client = redis.Redis.from_url(redis_url)
            try:
                cached = b"".join(
                    key + (client.dump(key) or b"") for key in client.scan_iter(f"{prefix}*")
                )
            finally:
                client.close()
            found = [
                where
                for where, raw in (("pg_dump", dump), ("redis", cached))
                if canary.encode() in raw
            ]
            return (
                found
                + files_holding(tmp_path / "nats", canary)
                + files_holding(server.data_dir, canary)
            )

        # The relay has copied the log to JetStream: it holds ciphertext only.
        assert nats_holds_the_log(tmp_path / "nats")
        assert everywhere() == []
        assert canary not in server.log_path.read_text()

        erase(server, ann, ben)
        printed = rebuild_offline(server, settings)
        assert everywhere() == []
        assert canary not in server.log_path.read_text() + printed
    finally:
        nats.kill()


def nats_holds_the_log(store: Path) -> bool:
    """Some JetStream message blocks were written (the relay published the log)."""
    return any(p.suffix == ".blk" and p.stat().st_size > 0 for p in store.rglob("*"))


def test_a_deletion_that_waits_over_graphql_refuses_bad_input_and_can_be_taken_back(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    schedule = (
        "mutation($d: Int!, $p: String!) { scheduleAccountDeletion(password: $p, graceDays: $d) }"
    )
    for days, password, code in (
        (0, PASSWORD, "VALIDATION"),
        (31, PASSWORD, "VALIDATION"),
        (7, "not my password at all", "VALIDATION"),
    ):
        refused = ann.api.failure(schedule, d=days, p=password)
        assert refused.code == code, (days, refused)
    assert "deleteAccount erases at once" in ann.api.failure(schedule, d=0, p=PASSWORD).message
    due = ann.api(schedule, d=7, p=PASSWORD)["scheduleAccountDeletion"]
    assert ann.api.failure("{ accountDeletionDue }").code == "UNAUTHENTICATED", "signed out"

    again = GraphQLClient(server, log_in(server, ann.handle))
    assert again("{ accountDeletionDue }") == {"accountDeletionDue": due}
    assert again.failure(schedule, d=7, p=PASSWORD).code == "CONFLICT"
    assert again("mutation { cancelAccountDeletion }") == {"cancelAccountDeletion": True}
    assert again("{ accountDeletionDue }") == {"accountDeletionDue": None}
