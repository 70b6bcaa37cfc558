"""Health data on disk is for its owner alone: HugMood's folders are made 0700 and its files
0600, whatever the umask, and ones an earlier version left open are tightened."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """`path` as a folder only its owner can enter; missing parents are created private too.

    A shared folder with the sticky bit (such as /tmp, if someone points the data dir there)
    is left as it is: it was not HugMood's to close, and its files are still 0600."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    mode = path.stat().st_mode
    if not mode & stat.S_ISVTX and stat.S_IMODE(mode) != PRIVATE_DIR:
        path.chmod(PRIVATE_DIR)
    return path


def private_file(path: Path) -> Path:
    """`path` as a file only its owner can read, created empty if missing; its folder too."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != PRIVATE_FILE:
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def private_sqlite(path: Path) -> Path:
    """A SQLite database file made private before SQLite opens it. SQLite gives its `-wal`,
    `-shm` and `-journal` files the database file's permissions; ones that already exist
    are tightened here too."""
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        # Another process's SQLite may remove a companion at any moment (a rollback journal
        # lives for one transaction): one that is gone needs no tightening.
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).chmod(PRIVATE_FILE)
    return path
