"""What a command handler returns: where its events landed, and what the caller asked for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class CommandResult:
    position: int
    """The global position of the last event written (0 if nothing changed): read models are
    waited on up to here before the caller is answered, so a response reflects its own write."""
    value: Any = None
