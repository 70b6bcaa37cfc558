"""The `hugmood` client commands as a person runs them, against a server subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.client import PASSWORD, befriend, sign_up
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer, run_cli

pytestmark = pytest.mark.e2e
PASSPHRASE = "my device passphrase"
Cli = Callable[..., subprocess.CompletedProcess[str]]
DAYLIO = """full_date,date,weekday,time,mood,activities,note_title,note
2026-11-20,November 20,Thursday,8:30 PM,rad,friends | movies,Great night,Laughed so much
2026-11-21,November 21,Friday,07:15,awful,work,,
"""


def client_env(server: HugMoodServer, vault: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in server.env.items() if not k.startswith("HUGMOOD_")}
    env.update(
        {
            "HUGMOOD_CLIENT_VAULT": str(vault),
            "HUGMOOD_CLIENT_SERVER": server.url,
            "HUGMOOD_CLIENT_PASSPHRASE": PASSPHRASE,
            "HUGMOOD_CLIENT_PASSWORD": PASSWORD,
            # The CLI tests are not about the KDF: a cheap cost keeps each command quick.
            "HUGMOOD_CLIENT_KDF_COST": "m=1024,t=1,p=1",
            "COLUMNS": "200",
            **extra,
        }
    )
    return env


def cli_for(env: dict[str, str]) -> Cli:
    def cli(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        done = run_cli(*args, env={**env, **extra})
        assert "Traceback" not in done.stderr, done.stderr
        return done

    return cli


def flat(text: str) -> str:
    """Output as one line, without the boxes Rich draws around usage errors."""
    return " ".join(text.translate({ord(c): " " for c in "│╭╮╰╯─"}).split())


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_cli_tour_login_check_in_offline_sync_export_import_passphrase_logout(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    cli = cli_for(client_env(server, tmp_path / "vault.sqlite"))

    assert "Logged in as" in ok(cli("login", "--handle", ann.handle))
    added = ok(
        cli("mood", "add", "-i", "0.7", "-n", "Dreading the dentist tomorrow", "--tag", "health")
    )
    assert "fear" in added and "stays on this device" in added
    ok(
        cli(
            "mood",
            "add",
            "-i",
            "0.4",
            "-m",
            "calm",
            "--weather",
            "rainy",
            "--at",
            "2026-11-24T08:00",
        )
    )
    listed = ok(cli("mood", "list"))
    assert "pending" in listed and "calm" in listed
    assert any(ch in listed for ch in "▁▂▃▄▅▆▇█")

    assert "uploaded 2" in ok(cli("sync"))
    history = ann.api("query { myMoodChanges { entries { moodType note } } }")["myMoodChanges"]
    assert sorted(e["moodType"] for e in history["entries"]) == ["calm", "nervous"]
    assert all(e["note"] is None for e in history["entries"])

    (tmp_path / "daylio.csv").write_text(DAYLIO)
    assert "imported 2 new" in ok(cli("import", str(tmp_path / "daylio.csv"), "--tz", "UTC"))
    assert "imported 0 new" in ok(cli("import", str(tmp_path / "daylio.csv"), "--tz", "UTC"))
    assert "uploaded 2" in ok(cli("sync"))

    ok(cli("export", "-o", str(tmp_path / "all.json")))
    exported = json.loads((tmp_path / "all.json").read_text())
    assert exported["account"] == ann.handle and len(exported["entries"]) == 4
    assert exported["friends"] == [] and exported["hugsSent"] == []
    assert "Dreading the dentist tomorrow" in {e["note"] for e in exported["entries"]}
    csv_text = ok(cli("export", "--format", "csv"))
    assert csv_text.splitlines()[0].startswith("id,recorded_at,mood_type")

    ok(cli("vault", "change-passphrase", HUGMOOD_CLIENT_NEW_PASSPHRASE="a new passphrase"))
    refused = cli("mood", "list")
    assert refused.returncode == 2 and "wrong passphrase" in refused.stderr
    assert "Dreading" in ok(cli("mood", "list", HUGMOOD_CLIENT_PASSPHRASE="a new passphrase"))

    new = {"HUGMOOD_CLIENT_PASSPHRASE": "a new passphrase"}
    assert "Logged out" in ok(cli("logout", **new))
    after = cli("sync", **new)
    assert after.returncode == 1 and "logged out" in after.stderr


BAD_INPUT = [
    (("mood", "add", "-i", "1.5", "-m", "calm"), "intensity must be a number from 0 to 1"),
    (("mood", "add", "-i", "0.5", "-m", "flabbergasted"), "not in the mood vocabulary"),
    (("mood", "add", "-i", "0.5", "-m", "calm", "--weather", "snowstorm"), "weather must be one of"),
    (("mood", "add", "-i", "0.5", "-m", "calm", "--at", "yesterday"), "--at must be an ISO time"),
    (("mood", "add", "-i", "0.5", "-m", "calm", "--privacy", "everyone"), "privacy must be one of"),
    (("mood", "add", "-i", "0.5", "-m", "calm", "--tag", "no/slashes"), "tag 'no/slashes'"),
    (("mood", "add", "-m", "calm"), "give --intensity"),
    (("mood", "add", "-i", "0.5"), "give a mood word"),
    (("mood", "add", "-i", "lots"), "unable to parse"),
    (("export", "--format", "xml"), "--format must be json or csv"),
    (("import", "/nonexistent/file.csv"), "does not exist"),
    (("settings", "share-notes", "sometimes"), "share-notes must be one of"),
    (("hug", "send", "bob", "--type", "bearhug"), "--type must be one of"),
    (("friends", "--status", "enemies"), "--status must be"),
    (("friends", "request", "nobody_here_xyz"), "NOT_FOUND"),
    (("mood", "list", "--limit", "0"), "greater than or equal to 1"),
]  # fmt: skip


def test_bad_input_exits_2_with_a_clear_message_and_writes_nothing(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    ann = sign_up(server, "ann")
    cli = cli_for(client_env(server, tmp_path / "vault.sqlite"))
    ok(cli("login", "--handle", ann.handle))
    (tmp_path / "bad.csv").write_text(DAYLIO + "2026-11-23,November 23,Sunday,25:99,good,,,\n")

    cases = [*BAD_INPUT, (("import", str(tmp_path / "bad.csv")), "line 4")]
    for args, message in cases:
        done = cli(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert message in flat(done.stderr), (args, done.stderr)
    assert "0 check-ins" in ok(cli("mood", "list")) or "last 0" in ok(cli("mood", "list"))
    wrong = cli("login", "--handle", ann.handle, HUGMOOD_CLIENT_PASSWORD="not my password")
    assert wrong.returncode == 2 and "UNAUTHENTICATED" in wrong.stderr
    missing = cli("mood", "list", HUGMOOD_CLIENT_VAULT=str(tmp_path / "none.sqlite"))
    assert missing.returncode == 2 and "hugmood login" in missing.stderr


COMMANDS = [
    (), ("login",), ("logout",), ("sync",), ("export",), ("import",), ("hugs",),
    ("mood",), ("mood", "add"), ("mood", "list"), ("friends",), ("friends", "request"),
    ("friends", "accept"), ("friends", "decline"), ("friends", "remove"), ("friends", "block"),
    ("friends", "unblock"), ("hug",), ("hug", "send"), ("vault",), ("vault", "change-passphrase"),
    ("vault", "status"), ("vault", "retry-refused"), ("settings",), ("settings", "share-notes"),
    ("insights",),
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "hugmood")
def test_every_client_command_explains_itself_with_help(command: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hugmood", *command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout
    for python_name in ("<bool>", "<str>", "<float>", "<int>"):
        assert python_name not in done.stdout, f"--help shows {python_name}"


def test_a_hug_sent_from_one_cli_arrives_live_in_anothers(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server()
    ann, bob = sign_up(server, "ann"), sign_up(server, "bob")
    befriend(ann, bob)
    ann_cli = cli_for(client_env(server, tmp_path / "ann.sqlite"))
    bob_env = client_env(server, tmp_path / "bob.sqlite")
    ok(ann_cli("login", "--handle", ann.handle))
    ok(cli_for(bob_env)("login", "--handle", bob.handle))
    assert bob.handle in ok(ann_cli("friends"))

    watcher = subprocess.Popen(
        [sys.executable, "-m", "hugmood", "hugs", "--count", "1"],
        env=bob_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert watcher.stdout is not None
        assert "Waiting for hugs" in watcher.stdout.readline()
        assert "Sent a comforting hug" in ok(
            ann_cli("hug", "send", bob.handle, "--type", "comforting", "-m", "hang in there")
        )
        out, err = watcher.communicate(timeout=60)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, err
    assert f"comforting hug from {ann.handle}" in out and "hang in there" in out

    refused = ann_cli("hug", "send", "nobody_here_xyz")
    assert refused.returncode == 1 and "kept in the vault" in refused.stderr
    assert "refused hug" in ok(ann_cli("vault", "status"))
