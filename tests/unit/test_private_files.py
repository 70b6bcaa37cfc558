"""Folders 0700 and files 0600 whatever the umask; open ones tightened; shared folders kept."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from hugmood.private_files import private_dir, private_file, private_sqlite


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_folders_are_created_private_with_their_parents(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        private_dir(tmp_path / "a" / "b")
        private_file(tmp_path / "c" / "secret")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a") == mode(tmp_path / "a" / "b") == 0o700
    assert mode(tmp_path / "c") == 0o700
    assert mode(tmp_path / "c" / "secret") == 0o600


def test_open_folders_and_files_are_tightened_and_contents_kept(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    database = folder / "events.sqlite3"
    database.write_bytes(b"kept")
    database.chmod(0o644)
    wal = folder / "events.sqlite3-wal"
    wal.write_bytes(b"")
    wal.chmod(0o644)
    private_sqlite(database)
    assert (mode(folder), mode(database), mode(wal)) == (0o700, 0o600, 0o600)
    assert database.read_bytes() == b"kept"


def test_a_shared_sticky_folder_is_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    private_file(shared / "mine")
    assert mode(shared) == 0o1777
    assert mode(shared / "mine") == 0o600
