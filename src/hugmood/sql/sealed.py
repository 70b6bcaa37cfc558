"""Read-model cells that hold a person's personal data (a note, a display name, a hug's
message): a projection writes them as `Sealed(owner, text)`, the database stores them
encrypted under that person's key (a `CellCipher`, `privacy.keys.cells`), and `fetch` gives
them back in clear. Projections and queries never see ciphertext; the files never hold the
text; and once the person's key is destroyed their cells read as empty.

SQL must not compare, sort or search on a sealed column: the database only sees ciphertext.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from hugmood.sql.database import Row, Statement


@dataclass(frozen=True, slots=True)
class Sealed:
    """A statement parameter that is `owner`'s personal data (None stays NULL)."""

    owner: str
    text: str | None


class CellCipher(Protocol):
    async def seal_cells(self, statements: Sequence[Statement]) -> list[Statement]:
        """The statements with every `Sealed` parameter replaced by its ciphertext."""
        ...

    async def open_cells(self, rows: list[Row]) -> list[Row]:
        """The rows with every sealed cell replaced by its text."""
        ...


def any_sealed(statements: Sequence[Statement]) -> bool:
    return any(isinstance(p, Sealed) for _, params in statements for p in params)


def in_clear(statements: Sequence[Statement]) -> list[Statement]:
    """For a database with no cipher (tests of the read models alone): the plain values."""
    return [
        (sql, tuple(p.text if isinstance(p, Sealed) else p for p in params))
        for sql, params in statements
    ]


async def prepared(
    cells: CellCipher | None, statements: Sequence[Statement]
) -> Sequence[Statement]:
    """What a database runs for `statements`: sealed cells encrypted (or plain, without a cipher)."""
    if not any_sealed(statements):
        return statements
    return in_clear(statements) if cells is None else await cells.seal_cells(statements)
