"""The `CellCipher` of the read models: a sealed cell is `␟hm1:<owner>:<base64>`, AES-256-GCM
under the owner's data key with the owner as associated data; a blind index (`Keyed`) is
AES-256-GCM-SIV, deterministic, under the server's own index key (a data key like a person's,
wrapped by the master key, so a rotation of the master key leaves every index as it was)."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag

from hugmood.domain.errors import NotFound
from hugmood.privacy.keys.datakeys import DataKey, DataKeyStore
from hugmood.privacy.keys.errors import SealedDataUnreadable
from hugmood.sql.database import Row, Statement
from hugmood.sql.sealed import Keyed, Sealed

PREFIX = "\x1fhm1:"
"""Starts with a control character, which no text a person enters may hold (`clean_text`,
the device name), so no one can write something that reads as a sealed cell."""
NONCE_BYTES = 12
INDEX_KEY = "hugmood:blind-index"
"""The owner name of the server's index key (no person's id looks like it: they are UUIDs)."""
INDEX_NONCE = bytes(12)
"""Fixed: GCM-SIV stays secure when a nonce repeats, and it makes the index deterministic."""
INDEX_AAD = b"hugmood blind index"
ERASED_TEXT = ""
"""What a cell reads as (and is written as) once its owner's key is destroyed."""


class SealedCells:
    def __init__(self, keys: DataKeyStore) -> None:
        self._keys = keys

    async def seal_cells(self, statements: Sequence[Statement]) -> list[Statement]:
        sealed: list[Statement] = []
        for sql, params in statements:
            values = []
            for p in params:
                if isinstance(p, Sealed):
                    values.append(await self._seal(p))
                elif isinstance(p, Keyed):
                    values.append(await self.blind(p.text))
                else:
                    values.append(p)
            sealed.append((sql, tuple(values)))
        return sealed

    async def _seal(self, cell: Sealed) -> str | None:
        if cell.text is None:
            return None
        try:
            key = await self._keys.for_writing(cell.owner)
        except NotFound:
            # Erased meanwhile: whatever this was, it must not be written in clear.
            return ERASED_TEXT
        nonce = secrets.token_bytes(NONCE_BYTES)
        box = key.gcm.encrypt(nonce, cell.text.encode(), _aad(cell.owner))
        return f"{PREFIX}{cell.owner}:{base64.b64encode(nonce + box).decode()}"

    async def blind(self, text: str) -> str:
        key = await self._keys.for_writing(INDEX_KEY)
        return base64.b64encode(key.siv.encrypt(INDEX_NONCE, text.encode(), INDEX_AAD)).decode()

    async def open_cells(self, rows: list[Row]) -> list[Row]:
        owners = {
            cell[len(PREFIX) :].rpartition(":")[0]
            for row in rows
            for cell in row
            if type(cell) is str and cell.startswith(PREFIX)
        }
        if not owners:
            return rows
        keys = await self._keys.for_reading(owners)
        opened: list[Row] = []
        for row in rows:
            if not any(type(c) is str and c.startswith(PREFIX) for c in row):
                opened.append(row)
                continue
            cells = []
            for cell in row:
                if type(cell) is str and cell.startswith(PREFIX):
                    owner, _, box = cell[len(PREFIX) :].rpartition(":")
                    key = keys.get(owner)
                    cells.append(ERASED_TEXT if key is None else _open(key, owner, box))
                else:
                    cells.append(cell)
            opened.append(tuple(cells))
        return opened


def _aad(owner: str) -> bytes:
    return b"hugmood cell\x00" + owner.encode()


def _open(key: DataKey, owner: str, box: str) -> str:
    try:
        raw = base64.b64decode(box, validate=True)
        return key.gcm.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(owner)).decode()
    except (InvalidTag, binascii.Error, ValueError) as e:
        raise SealedDataUnreadable(
            "a read-model cell does not decrypt under its owner's key: the read models were "
            "altered (rebuild them from the log: `hugmood projections rebuild`)"
        ) from e
