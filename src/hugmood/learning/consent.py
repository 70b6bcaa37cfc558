"""Whether a person takes part in federated learning before they have said so: off, unless
the composition root gives the regional policy's answer (opt-out countries)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

DefaultConsent = Callable[[str], Awaitable[bool]]
"""A person's consent while they have not chosen (their country's rule, `application`)."""


async def off_by_default(person: str) -> bool:
    """Nobody's device trains for, or sends anything to, the coordinator until they opt in."""
    return False
