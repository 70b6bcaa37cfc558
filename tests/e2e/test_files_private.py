"""Health data on disk is readable by its owner alone: the server's data dir and every file in
it, the CLI's vault and its folder, and exports."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.e2e.client import sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer
from tests.e2e.test_board_images import board_with, png, upload
from tests.e2e.test_client_cli import cli_for, client_env, ok

pytestmark = pytest.mark.e2e


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def open_to_others(root: Path) -> dict[str, str]:
    """Every folder or file under `root` (and itself) that anyone but its owner may read."""
    paths = [root, *root.rglob("*")]
    return {str(p.relative_to(root)): oct(mode(p)) for p in paths if mode(p) & 0o077}


def test_the_servers_data_dir_and_files_are_its_owners_alone(
    start_server: StartServer,
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    board_id = board_with(ann)
    assert upload(server, board_id, ann, png()).status_code == 201

    files = {p.name for p in server.data_dir.rglob("*") if p.is_file()}
    assert {"events.sqlite3", "readmodels.sqlite3", "secret.key"} <= files
    assert any("blobs" in p.parts for p in server.data_dir.rglob("*") if p.is_file())
    assert mode(server.data_dir) == 0o700
    assert open_to_others(server.data_dir) == {}


def test_files_an_earlier_version_left_open_are_tightened(start_server: StartServer) -> None:
    server = start_server()
    sign_up(server, "ann")
    server.stop()
    for path in [server.data_dir, *server.data_dir.rglob("*")]:
        if path.name == "master.key":
            continue  # versions before it had none; a loose one is refused (test_data_keys)
        path.chmod(0o755 if path.is_dir() else 0o644)

    restarted: HugMoodServer = server
    restarted.start()
    sign_up(restarted, "ben")
    database_files = [
        p for p in server.data_dir.iterdir() if p.name.startswith(("events", "readmodels"))
    ]
    assert database_files
    assert {p.name: oct(mode(p)) for p in database_files if mode(p) & 0o077} == {}
    assert mode(server.data_dir) == 0o700


def test_the_cli_vault_its_folder_and_exports_are_private(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    home = tmp_path / "home"
    cli = cli_for(client_env(server, home / "hugmood" / "vault.sqlite"))
    ok(cli("login", "--handle", ann.handle))
    ok(cli("mood", "add", "-i", "0.4", "-n", "a private note"))
    ok(cli("export", "-o", str(tmp_path / "diary.json")))

    assert open_to_others(home) == {}
    assert mode(tmp_path / "diary.json") == 0o600
