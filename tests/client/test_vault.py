"""The encrypted vault on a real SQLite file: sealed at rest, clear errors, passphrase and keys."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hugmood.client import crypto
from hugmood.client.device import prepare_entry
from hugmood.client.errors import VaultExists, VaultTampered, WrongPassphrase
from hugmood.client.records import LocalEntry
from hugmood.client.vault import Vault

PASS = "a vault passphrase"
NOTE = "Argued with my sister about the inheritance"


def entry(note: str | None = NOTE, mood: str = "frustrated") -> LocalEntry:
    return prepare_entry(
        intensity=0.7,
        mood_type=mood,
        note=note,
        context={"location": "grandma's kitchen", "tags": ["family"]},
        privacy="private",
        recorded_at=None,
        entry_id=None,
        now=datetime.now(UTC),
    )


def new_vault(path: Path, **kw: int) -> Vault:
    return Vault.create(path, PASS, kdf=crypto.FAST_FOR_TESTS, **kw)


def test_the_raw_vault_bytes_hold_no_note_mood_or_place(tmp_path: Path) -> None:
    path = tmp_path / "vault.sqlite"
    with new_vault(path) as vault:
        vault.add_entry(entry())
        vault.set_settings({"token": "hm_secret-session-token", "handle": "alice"})
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())  # the file, its WAL and index
    for secret in (NOTE, "frustrated", "grandma", "family", "hm_secret-session-token", "alice"):
        assert secret.encode() not in raw, secret
    with Vault.unlock(path, PASS) as vault:
        (back,) = vault.entries()
    assert back.note == NOTE and back.mood_type == "frustrated"
    assert back.context["location"] == "grandma's kitchen"


def test_a_wrong_passphrase_is_told_apart_from_a_tampered_file(tmp_path: Path) -> None:
    path = tmp_path / "vault.sqlite"
    with new_vault(path) as vault:
        vault.add_entry(entry())
    with pytest.raises(WrongPassphrase, match="wrong passphrase"):
        Vault.unlock(path, "not the passphrase")

    conn = sqlite3.connect(path)
    (body,) = conn.execute("SELECT body FROM entries").fetchone()
    flipped = body[:-1] + bytes([body[-1] ^ 1])
    conn.execute("UPDATE entries SET body = ?", (flipped,))
    conn.commit()
    conn.close()
    with Vault.unlock(path, PASS) as vault, pytest.raises(VaultTampered, match="altered"):
        vault.entries()


def test_a_sealed_value_moved_to_another_row_fails_authentication(tmp_path: Path) -> None:
    path = tmp_path / "vault.sqlite"
    with new_vault(path) as vault:
        vault.add_entries([entry("first"), entry("second")])
    conn = sqlite3.connect(path)
    bodies = [b for (b,) in conn.execute("SELECT body FROM entries ORDER BY seq")]
    conn.execute("UPDATE entries SET body = ? WHERE seq = 2", (bodies[0],))
    conn.commit()
    conn.close()
    with Vault.unlock(path, PASS) as vault, pytest.raises(VaultTampered):
        vault.entries()


def test_changing_the_passphrase_rewraps_the_key_and_leaves_entries_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "vault.sqlite"
    with new_vault(path) as vault:
        vault.add_entries([entry() for _ in range(5)])
    before = sqlite3.connect(path).execute("SELECT body FROM entries ORDER BY seq").fetchall()

    with Vault.unlock(path, PASS) as vault:
        vault.change_passphrase("a brand new passphrase")

    after = sqlite3.connect(path).execute("SELECT body FROM entries ORDER BY seq").fetchall()
    assert after == before
    with pytest.raises(WrongPassphrase):
        Vault.unlock(path, PASS)
    with Vault.unlock(path, "a brand new passphrase") as vault:
        assert len(vault.entries()) == 5


def test_the_data_key_rotates_before_its_use_limit_and_old_entries_stay_readable(
    tmp_path: Path,
) -> None:
    path = tmp_path / "vault.sqlite"
    with new_vault(path, rotate_after=10) as vault:
        for _ in range(25):
            vault.add_entry(entry())
        assert vault.key_count == 3
        assert vault.current_key_uses <= 10
    with Vault.unlock(path, PASS, rotate_after=10) as vault:
        assert len(vault.entries()) == 25
    counts = sqlite3.connect(path).execute("SELECT uses FROM data_keys").fetchall()
    assert all(uses <= 10 for (uses,) in counts)


def test_the_default_key_derivation_is_rfc_9106s_and_is_kept_in_the_vault(
    tmp_path: Path,
) -> None:
    path = tmp_path / "vault.sqlite"
    Vault.create(path, PASS).close()  # the real cost: 64 MiB, t=3, p=4
    (raw,) = (
        sqlite3.connect(path).execute("SELECT value FROM vault_meta WHERE name = 'kdf'").fetchone()
    )
    assert crypto.KdfParams.from_json(raw) == crypto.KdfParams(64 * 1024, 3, 4)
    with Vault.unlock(path, PASS) as vault:
        assert vault.entries() == []


def test_an_existing_vault_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "vault.sqlite"
    with new_vault(path) as vault:
        vault.add_entry(entry())
    with pytest.raises(VaultExists):
        new_vault(path)


def test_refused_items_stay_with_their_reason_until_retried(tmp_path: Path) -> None:
    with new_vault(tmp_path / "vault.sqlite") as vault:
        kept = entry()
        vault.add_entry(kept)
        vault.settle([], {kept.entry_id: "this entry id is already used (CONFLICT)"})
        (listed,) = vault.entries()
        assert listed.status == "refused" and "CONFLICT" in (listed.refusal or "")
        assert vault.pending(10) == []
        assert vault.retry_refused() == 1
        assert [i.op_id for i in vault.pending(10)] == [kept.entry_id]


def test_an_import_run_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    with new_vault(tmp_path / "vault.sqlite") as vault:
        entries = [entry() for _ in range(3)]
        assert vault.add_entries(entries) == 3
        assert vault.add_entries(entries) == 0
        assert vault.counts() == {"entries": 3, "pending": 3, "refused": 0}
        assert str(uuid.UUID(entries[0].entry_id)) == entries[0].entry_id
