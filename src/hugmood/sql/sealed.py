"""Read-model cells that hold a person's personal data (a note, a display name, a hug's
message): a projection writes them as `Sealed(owner, text)`, the database stores them
encrypted under that person's key (a `CellCipher`, `privacy.keys.cells`), and `fetch` gives
them back in clear. Projections and queries never see ciphertext; the files never hold the
text; and once the person's key is destroyed their cells read as empty.

SQL must not compare, sort or search on a sealed column: the database only sees ciphertext.
A column that must be matched (an e-mail address looked up by value) is written and queried as
`Keyed(text)`, a blind index: a deterministic encryption under a key of the server's own, equal
for equal texts, that says nothing about the text without the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hugmood.sql.database import Row, Statement


@dataclass(frozen=True, slots=True)
class Sealed:
    """A statement parameter that is `owner`'s personal data (None stays NULL)."""

    owner: str
    text: str | None


@dataclass(frozen=True, slots=True)
class Keyed:
    """A statement or query parameter that is matched, never read back: its blind index."""

    text: str


class CellCipher(Protocol):
    async def seal_cells(self, statements: Sequence[Statement]) -> list[Statement]:
        """The statements with every `Sealed` parameter replaced by its ciphertext."""
        ...

    async def open_cells(self, rows: list[Row]) -> list[Row]:
        """The rows with every sealed cell replaced by its text."""
        ...

    async def blind(self, text: str) -> str:
        """The blind index of `text` (`Keyed`)."""
        ...


def any_sealed(statements: Sequence[Statement]) -> bool:
    return any(isinstance(p, Sealed | Keyed) for _, params in statements for p in params)


def in_clear(statements: Sequence[Statement]) -> list[Statement]:
    """For a database with no cipher (tests of the read models alone): the plain values."""
    return [
        (sql, tuple(p.text if isinstance(p, Sealed | Keyed) else p for p in params))
        for sql, params in statements
    ]


async def query_args(cells: CellCipher | None, args: Sequence[Any]) -> Sequence[Any]:
    """A query's arguments with every `Keyed` one replaced by its blind index."""
    if not any(isinstance(a, Keyed) for a in args):
        return args
    if cells is None:
        return [a.text if isinstance(a, Keyed) else a for a in args]
    return [await cells.blind(a.text) if isinstance(a, Keyed) else a for a in args]


async def prepared(
    cells: CellCipher | None, statements: Sequence[Statement]
) -> Sequence[Statement]:
    """What a database runs for `statements`: sealed cells encrypted (or plain, without a cipher)."""
    if not any_sealed(statements):
        return statements
    return in_clear(statements) if cells is None else await cells.seal_cells(statements)
