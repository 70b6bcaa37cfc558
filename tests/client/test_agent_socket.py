"""Where the unlock agent listens: in the session's runtime folder, unless that path would be
too long for a Unix socket (Linux allows 107 bytes), then in the system's temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hugmood.client.agent import MAX_SOCKET_PATH, socket_path


def test_the_runtime_folder_when_the_path_fits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    path = socket_path(tmp_path / "vault.sqlite")
    assert path.parent == Path("/run/user/1000") / f"hugmood-{os.getuid()}"


def test_a_runtime_folder_too_deep_for_a_socket_falls_back_to_the_temporary_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    deep = "/" + "/".join(["a-rather-long-folder-name"] * 4)
    monkeypatch.setenv("XDG_RUNTIME_DIR", deep)
    monkeypatch.setenv("TMPDIR", "/tmp")
    path = socket_path(tmp_path / "vault.sqlite")
    assert not str(path).startswith(deep)
    assert len(os.fsencode(path)) <= MAX_SOCKET_PATH
    # One vault, one agent: every command finds the same socket.
    assert socket_path(tmp_path / "vault.sqlite") == path
