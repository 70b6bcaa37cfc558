"""The CLI for every day (issue 15): an unlock that lasts a chosen time (no passphrase asked
until then), prompts on stderr so piped output stays clean, no vault made for a wrong
password, and notes cut at a word."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.client import sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.test_client_cli import cli_for, client_env, ok

pytestmark = pytest.mark.e2e


def test_unlock_lasts_until_lock_and_the_prompt_goes_to_stderr(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    vault = tmp_path / "vault.sqlite"
    # A private runtime folder for this test's agent (as a login session's XDG_RUNTIME_DIR).
    env = client_env(server, vault, XDG_RUNTIME_DIR=str(tmp_path / "run"))
    cli = cli_for(env)
    ok(cli("login", "--handle", ann.handle))
    no_passphrase = {k: v for k, v in env.items() if k != "HUGMOOD_CLIENT_PASSPHRASE"}

    def without_passphrase(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hugmood", *args],
            env=no_passphrase,
            input="",  # nobody at the keyboard
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    try:
        assert "Unlocked for 10 min" in ok(cli("unlock", "--for", "10m"))
        note = "A long afternoon walking along the river with my sister and her dog"
        ok(without_passphrase("mood", "add", "-i", "0.6", "-m", "calm", "-n", note))
        listed = ok(without_passphrase("mood", "list"))
        assert "A long afternoon walking along the…" in listed
        assert "A long afternoon walking along the r" not in listed

        assert "Locked" in ok(cli("lock"))
        asked = without_passphrase("mood", "list")
        assert asked.returncode == 2
        assert "Vault passphrase" in asked.stderr and "Vault passphrase" not in asked.stdout
        assert asked.stdout == ""
        assert "hugmood unlock" in asked.stderr
    finally:
        cli("lock")
    assert list((tmp_path / "run").rglob("*.sock")) == []


def test_a_wrong_password_at_login_leaves_no_vault(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    vault = tmp_path / "vault.sqlite"
    cli = cli_for(client_env(server, vault))

    wrong = cli("login", "--handle", ann.handle, HUGMOOD_CLIENT_PASSWORD="not my password")

    assert wrong.returncode == 2 and "UNAUTHENTICATED" in wrong.stderr
    assert not vault.exists()
    assert "Creating an encrypted vault" not in wrong.stderr
