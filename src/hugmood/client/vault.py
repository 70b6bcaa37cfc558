"""The encrypted vault: one SQLite file on the device with entries, the outbox and settings.

Every personal field is sealed with AES-256-GCM under a random data key; the data key is
wrapped by a key derived from the passphrase (Argon2id), so changing the passphrase rewraps
the key and touches nothing else. Each sealed value is bound to its row (associated data), so
a value moved to another row fails authentication like an altered one. Commits are durable
(`synchronous=FULL`): a call that returned is on disk.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hugmood.client import crypto
from hugmood.client.errors import (
    InvalidInput,
    VaultError,
    VaultExists,
    VaultMissing,
    VaultTampered,
    WrongPassphrase,
)
from hugmood.client.records import LocalEntry, OutboxItem
from hugmood.private_files import private_sqlite

DEFAULT_ROTATE_AFTER = 2**28
"""Encryptions under one data key before a new one is made: random 96-bit nonces stay safe
up to 2^32 uses of a key (NIST SP 800-38D), so this leaves a margin of 16×."""

FORMAT = 1
_BLOB = struct.Struct(">BI")  # format, key id; then the 12-byte nonce and the ciphertext

SCHEMA = """
CREATE TABLE IF NOT EXISTS vault_meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS data_keys (
    key_id INTEGER PRIMARY KEY,
    wrapped BLOB NOT NULL,
    uses INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id TEXT NOT NULL UNIQUE,
    recorded_at_ms INTEGER NOT NULL,
    origin TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_time ON entries (recorded_at_ms);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    payload BLOB,
    refusal BLOB
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, seq);
"""


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


class Vault:
    """An unlocked vault. Open one with `Vault.create` or `Vault.unlock`; `close` when done."""

    def __init__(self, conn: sqlite3.Connection, path: Path, kek: bytes, rotate_after: int) -> None:
        self._conn = conn
        self.path = path
        self._raw_kek = kek
        self._kek = AESGCM(kek)
        self._rotate_after = rotate_after
        self._keys: dict[int, AESGCM] = {}
        self._current = 0
        self._uses = 0
        self._load_keys()

    # --- opening ---------------------------------------------------------------------------

    @staticmethod
    def exists(path: Path) -> bool:
        return path.exists() and path.stat().st_size > 0

    @classmethod
    def create(
        cls,
        path: Path,
        passphrase: str,
        *,
        kdf: crypto.KdfParams = crypto.RFC_9106,
        rotate_after: int = DEFAULT_ROTATE_AFTER,
    ) -> Vault:
        """A new vault with a fresh data key wrapped under the passphrase."""
        if cls.exists(path):
            raise VaultExists(f"a vault already exists at {path}; it is never overwritten")
        _check_passphrase(passphrase)
        try:
            conn = _connect(private_sqlite(path))
        except (OSError, sqlite3.Error) as e:
            raise VaultError(f"cannot create a vault at {path}: {e}") from e
        salt = crypto.new_salt()
        kek = crypto.derive_key(passphrase, salt, kdf)
        conn.executescript(SCHEMA)
        with _transaction(conn):
            conn.executemany(
                "INSERT INTO vault_meta (name, value) VALUES (?, ?)",
                [("format", str(FORMAT).encode()), ("kdf", kdf.to_json()), ("salt", salt)],
            )
            conn.execute(
                "INSERT INTO data_keys (key_id, wrapped, uses) VALUES (1, ?, 0)",
                (_wrap(AESGCM(kek), 1, crypto.new_data_key()),),
            )
        return cls(conn, path, kek, rotate_after)

    @classmethod
    def unlock(
        cls, path: Path, passphrase: str, *, rotate_after: int = DEFAULT_ROTATE_AFTER
    ) -> Vault:
        """Open an existing vault; `WrongPassphrase` if the passphrase does not fit."""
        return cls._opened(path, passphrase, None, rotate_after)

    @classmethod
    def unlock_with_key(
        cls, path: Path, kek: bytes, *, rotate_after: int = DEFAULT_ROTATE_AFTER
    ) -> Vault:
        """Open with the key `unlock` derives from the passphrase (kept by the unlock agent);
        `WrongPassphrase` if it does not fit (the passphrase changed since)."""
        return cls._opened(path, None, kek, rotate_after)

    @property
    def key(self) -> bytes:
        """The key-encryption key this vault was unlocked with (for the unlock agent)."""
        return self._raw_kek

    @classmethod
    def _opened(
        cls, path: Path, passphrase: str | None, kek: bytes | None, rotate_after: int
    ) -> Vault:
        if not cls.exists(path):
            raise VaultMissing(f"no vault at {path}; run `hugmood login` to create one")
        conn = _connect(path)
        try:
            if kek is None:
                meta = dict(conn.execute("SELECT name, value FROM vault_meta").fetchall())
                kdf = crypto.KdfParams.from_json(meta["kdf"])
                kek = crypto.derive_key(passphrase or "", meta["salt"], kdf)
            return cls(conn, path, kek, rotate_after)
        except (sqlite3.DatabaseError, KeyError, ValueError, TypeError) as e:
            conn.close()
            raise VaultTampered(f"{path} is not a readable HugMood vault: {e}") from e
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- keys ------------------------------------------------------------------------------

    def _load_keys(self) -> None:
        rows = self._conn.execute(
            "SELECT key_id, wrapped, uses FROM data_keys ORDER BY key_id"
        ).fetchall()
        keys: dict[int, AESGCM] = {}
        for key_id, wrapped, uses in rows:
            raw = crypto.unseal(self._kek, wrapped[:12], wrapped[12:], _key_aad(key_id))
            if raw is None:
                raise WrongPassphrase(
                    "wrong passphrase: it does not unlock this vault (if it is right, the "
                    "vault's key record was altered)"
                )
            keys[key_id] = AESGCM(raw)
            self._current, self._uses = key_id, uses
        self._keys = keys

    @property
    def key_count(self) -> int:
        return len(self._keys)

    @property
    def current_key_uses(self) -> int:
        return self._uses

    def _reserve(self, n: int) -> None:
        """Make sure the current key has room for `n` more encryptions; else rotate first."""
        if self._uses + n <= self._rotate_after:
            return
        key_id = self._current + 1
        with _transaction(self._conn):
            self._conn.execute(
                "INSERT INTO data_keys (key_id, wrapped, uses) VALUES (?, ?, 0)",
                (key_id, _wrap(self._kek, key_id, crypto.new_data_key())),
            )
        self._load_keys()

    def _seal(self, plaintext: bytes, aad: str) -> bytes:
        self._uses += 1
        key_id = self._current
        nonce, ciphertext = crypto.seal(self._keys[key_id], plaintext, f"{aad}/{key_id}".encode())
        return _BLOB.pack(FORMAT, key_id) + nonce + ciphertext

    def _open(self, blob: bytes, aad: str, what: str) -> bytes:
        if len(blob) < _BLOB.size + crypto.NONCE_BYTES + 16:
            raise VaultTampered(f"{what} is damaged (too short)")
        fmt, key_id = _BLOB.unpack_from(blob)
        key = self._keys.get(key_id)
        body = blob[_BLOB.size :]
        plain = None
        if fmt == FORMAT and key is not None:
            plain = crypto.unseal(
                key,
                body[: crypto.NONCE_BYTES],
                body[crypto.NONCE_BYTES :],
                f"{aad}/{key_id}".encode(),
            )
        if plain is None:
            raise VaultTampered(
                f"{what} failed authentication: the vault file was altered or damaged"
            )
        return plain

    def _save_uses(self) -> None:
        self._conn.execute(
            "UPDATE data_keys SET uses = ? WHERE key_id = ?", (self._uses, self._current)
        )

    def change_passphrase(
        self, new_passphrase: str, *, kdf: crypto.KdfParams | None = None
    ) -> None:
        """Rewrap every data key under the new passphrase; no entry is re-encrypted."""
        _check_passphrase(new_passphrase)
        if kdf is None:
            kdf = crypto.KdfParams.from_json(self._meta("kdf"))
        salt = crypto.new_salt()
        raw_kek = crypto.derive_key(new_passphrase, salt, kdf)
        kek = AESGCM(raw_kek)
        rows = self._conn.execute("SELECT key_id FROM data_keys").fetchall()
        with _transaction(self._conn):
            for (key_id,) in rows:
                raw = crypto.unseal(
                    self._kek,
                    *self._wrapped_parts(key_id),
                    _key_aad(key_id),
                )
                if raw is None:
                    raise VaultTampered(f"data key {key_id} failed authentication")
                self._conn.execute(
                    "UPDATE data_keys SET wrapped = ? WHERE key_id = ?",
                    (_wrap(kek, key_id, raw), key_id),
                )
            self._conn.execute("UPDATE vault_meta SET value = ? WHERE name = 'salt'", (salt,))
            self._conn.execute(
                "UPDATE vault_meta SET value = ? WHERE name = 'kdf'", (kdf.to_json(),)
            )
        self._kek, self._raw_kek = kek, raw_kek

    def _wrapped_parts(self, key_id: int) -> tuple[bytes, bytes]:
        (wrapped,) = self._conn.execute(
            "SELECT wrapped FROM data_keys WHERE key_id = ?", (key_id,)
        ).fetchone()
        return wrapped[:12], wrapped[12:]

    def _meta(self, name: str) -> bytes:
        row = self._conn.execute("SELECT value FROM vault_meta WHERE name = ?", (name,)).fetchone()
        value: bytes = row[0]
        return value

    # --- settings ----------------------------------------------------------------------------

    def setting(self, name: str) -> str | None:
        row = self._conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        if row is None:
            return None
        return self._open(row[0], f"setting/{name}", f"setting {name!r}").decode()

    def set_settings(self, values: dict[str, str | None]) -> None:
        """Set (or, with `None`, remove) settings in one durable transaction."""
        self._reserve(len(values))
        with _transaction(self._conn):
            for name, value in values.items():
                if value is None:
                    self._conn.execute("DELETE FROM settings WHERE name = ?", (name,))
                else:
                    self._conn.execute(
                        "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name)"
                        " DO UPDATE SET value = excluded.value",
                        (name, self._seal(value.encode(), f"setting/{name}")),
                    )
            self._save_uses()

    # --- entries and the outbox ------------------------------------------------------------

    def add_entries(self, entries: list[LocalEntry], *, outbox: bool = True) -> int:
        """Store new check-ins (and queue them for upload) in one durable transaction.

        An id already in the vault is skipped (an import run twice adds nothing); returns how
        many were added.
        """
        self._reserve(len(entries))
        added = 0
        with _transaction(self._conn):
            for entry in entries:
                cursor = self._conn.execute(
                    "INSERT INTO entries (entry_id, recorded_at_ms, origin, body)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (entry_id) DO NOTHING",
                    (
                        entry.entry_id,
                        entry.recorded_at_ms,
                        entry.origin,
                        self._seal(entry.body(), _entry_aad(entry.entry_id, entry.recorded_at_ms)),
                    ),
                )
                if cursor.rowcount and outbox:
                    self._conn.execute(
                        "INSERT INTO outbox (op_id, kind) VALUES (?, 'mood')", (entry.entry_id,)
                    )
                added += cursor.rowcount
            self._save_uses()
        return added

    def add_entry(self, entry: LocalEntry) -> None:
        self.add_entries([entry])

    def merge_downloaded(self, entries: list[LocalEntry], deleted_ids: list[str]) -> int:
        """Apply what the server holds for this user (other devices' entries, edits, deletes).

        A note kept on this device stays when the server's copy has none (the setting kept it
        here). Returns how many entries were new to this device.
        """
        self._reserve(len(entries))
        new = 0
        with _transaction(self._conn):
            for entry in entries:
                row = self._conn.execute(
                    "SELECT recorded_at_ms, origin, body FROM entries WHERE entry_id = ?",
                    (entry.entry_id,),
                ).fetchone()
                if row is None:
                    self._conn.execute(
                        "INSERT INTO entries (entry_id, recorded_at_ms, origin, body)"
                        " VALUES (?, ?, 'other-device', ?)",
                        (
                            entry.entry_id,
                            entry.recorded_at_ms,
                            self._seal(
                                entry.body(), _entry_aad(entry.entry_id, entry.recorded_at_ms)
                            ),
                        ),
                    )
                    new += 1
                    continue
                local = self._entry_from_row(entry.entry_id, row[0], row[1], row[2])
                merged = entry.merged_over(local)
                if merged.body() != local.body() or merged.recorded_at_ms != local.recorded_at_ms:
                    self._conn.execute(
                        "UPDATE entries SET recorded_at_ms = ?, body = ? WHERE entry_id = ?",
                        (
                            merged.recorded_at_ms,
                            self._seal(
                                merged.body(), _entry_aad(entry.entry_id, merged.recorded_at_ms)
                            ),
                            entry.entry_id,
                        ),
                    )
            for entry_id in deleted_ids:
                self._conn.execute("UPDATE entries SET deleted = 1 WHERE entry_id = ?", (entry_id,))
            self._save_uses()
        return new

    def _entry_from_row(
        self,
        entry_id: str,
        recorded_at_ms: int,
        origin: str,
        body: bytes,
        state: str | None = None,
        refusal: bytes | None = None,
    ) -> LocalEntry:
        plain = self._open(body, _entry_aad(entry_id, recorded_at_ms), f"entry {entry_id}")
        reason = None
        if refusal is not None:
            reason = self._open(refusal, f"refusal/{entry_id}", f"refusal of {entry_id}").decode()
        status = {None: "synced", "pending": "pending", "refused": "refused"}[state]
        return LocalEntry.from_body(
            entry_id, recorded_at_ms, plain, origin=origin, status=status, refusal=reason
        )

    def entries(self, *, newest_first: bool = True, limit: int | None = None) -> list[LocalEntry]:
        """Every live entry on this device, with its sync status, decrypted."""
        order = "DESC" if newest_first else "ASC"
        sql = (
            "SELECT e.entry_id, e.recorded_at_ms, e.origin, e.body, o.state, o.refusal"
            " FROM entries e LEFT JOIN outbox o ON o.op_id = e.entry_id"
            f" WHERE e.deleted = 0 ORDER BY e.recorded_at_ms {order}, e.seq {order}"
        )
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self._entry_from_row(*row) for row in self._conn.execute(sql).fetchall()]

    def counts(self) -> dict[str, int]:
        """How many entries, and outbox items pending and refused."""
        (entries,) = self._conn.execute("SELECT count(*) FROM entries WHERE deleted = 0").fetchone()
        result = {"entries": int(entries), "pending": 0, "refused": 0}
        for state, n in self._conn.execute("SELECT state, count(*) FROM outbox GROUP BY state"):
            result[state] = int(n)
        return result

    def pending(self, limit: int, *, after_seq: int = 0) -> list[OutboxItem]:
        """The oldest outbox items not yet uploaded (after `after_seq`), in the order made."""
        rows = self._conn.execute(
            "SELECT o.seq, o.op_id, o.kind, o.attempts, o.payload, e.recorded_at_ms, e.origin,"
            " e.body FROM outbox o LEFT JOIN entries e ON e.entry_id = o.op_id"
            " WHERE o.state = 'pending' AND o.seq > ? ORDER BY o.seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()
        items = []
        for seq, op_id, kind, attempts, payload, recorded_at_ms, origin, body in rows:
            entry = None
            if kind == "mood":
                entry = self._entry_from_row(op_id, recorded_at_ms, origin, body, "pending")
            data = None
            if payload is not None:
                data = self._open(payload, f"outbox/{op_id}/{kind}", f"outbox item {op_id}")
            items.append(OutboxItem(seq, op_id, kind, attempts, entry, data))
        return items

    def queue(self, op_id: str, kind: str, payload: bytes) -> None:
        """Queue a non-mood action (a hug, a friendship change) for the next sync."""
        self._reserve(1)
        with _transaction(self._conn):
            self._conn.execute(
                "INSERT INTO outbox (op_id, kind, payload) VALUES (?, ?, ?)"
                " ON CONFLICT (op_id) DO NOTHING",
                (op_id, kind, self._seal(payload, f"outbox/{op_id}/{kind}")),
            )
            self._save_uses()

    def mark_attempted(self, op_ids: list[str]) -> None:
        with _transaction(self._conn):
            self._conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1 WHERE op_id = ?",
                [(i,) for i in op_ids],
            )

    def settle(self, done: list[str], refused: dict[str, str]) -> None:
        """Uploaded items leave the outbox; refused ones stay, marked, with the reason."""
        self._reserve(len(refused))
        with _transaction(self._conn):
            self._conn.executemany("DELETE FROM outbox WHERE op_id = ?", [(i,) for i in done])
            for op_id, reason in refused.items():
                self._conn.execute(
                    "UPDATE outbox SET state = 'refused', refusal = ? WHERE op_id = ?",
                    (self._seal(reason.encode(), f"refusal/{op_id}"), op_id),
                )
            self._save_uses()

    def refused(self) -> list[tuple[str, str, str]]:
        """(op id, kind, reason) of everything the server refused, oldest first."""
        rows = self._conn.execute(
            "SELECT op_id, kind, refusal FROM outbox WHERE state = 'refused' ORDER BY seq"
        ).fetchall()
        return [
            (op_id, kind, self._open(blob, f"refusal/{op_id}", f"refusal of {op_id}").decode())
            for op_id, kind, blob in rows
        ]

    def retry_refused(self) -> int:
        """Put refused items back in the queue (after fixing what made them fail)."""
        with _transaction(self._conn):
            cursor = self._conn.execute(
                "UPDATE outbox SET state = 'pending', refusal = NULL WHERE state = 'refused'"
            )
        return cursor.rowcount

    def integrity_ok(self) -> bool:
        (result,) = self._conn.execute("PRAGMA integrity_check").fetchone()
        return bool(result == "ok")


def _check_passphrase(passphrase: str) -> None:
    if len(passphrase) < 8:
        raise InvalidInput("the vault passphrase must be at least 8 characters", field="passphrase")


def _key_aad(key_id: int) -> bytes:
    return f"hugmood-vault/data-key/{key_id}".encode()


def _wrap(kek: AESGCM, key_id: int, raw: bytes) -> bytes:
    nonce, wrapped = crypto.seal(kek, raw, _key_aad(key_id))
    return nonce + wrapped


def _entry_aad(entry_id: str, recorded_at_ms: int) -> str:
    return f"entry/{entry_id}/{recorded_at_ms}"


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
