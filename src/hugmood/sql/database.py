"""The SQL port shared by read models: portable statements with `$1`-style parameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from hugmood.unavailable import BackendUnavailable

if TYPE_CHECKING:
    from hugmood.sql.sealed import CellCipher

Row = Sequence[Any]
Statement = tuple[str, Sequence[Any]]
"""One SQL statement and its parameters, written once for both engines.

Portable SQL only: `$1` parameters, integer epoch-millisecond times, JSON kept as TEXT,
`INSERT … ON CONFLICT … DO UPDATE`, and `RETURNING`; both SQLite 3.35+ and PostgreSQL run it.
"""


class DatabaseUnavailable(BackendUnavailable):
    """The database could not be reached or refused the work; nothing was committed."""


class SqlDatabase(Protocol):
    """Reads, and atomic batches of writes, on one relational database."""

    engine: str
    """`sqlite` or `postgresql`: the one place that portable SQL may branch on."""
    cells: CellCipher | None
    """Seals and opens cells of personal data (`sql.sealed`); None: values kept as given."""

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def apply(
        self, statements: Sequence[Statement], *, guard: Statement | None = None
    ) -> bool:
        """Run every statement in one transaction: all of them take effect, or none.

        A `guard` runs first and must change exactly one row (a compare-and-set, such as
        advancing a checkpoint from the value last seen); if it changes none, nothing is
        written and `False` is returned.
        """
        ...

    async def close(self) -> None: ...
