"""Whether a person takes part in federated learning before they have said so: off. The
regions' policy (opt-in where the law requires it) may later decide it per country; this is
the one place to wire that."""

from __future__ import annotations

DEFAULT_CONSENT = False
"""Nobody's device trains for, or sends anything to, the coordinator until they opt in."""


def default_consent(country: str | None = None) -> bool:
    """The consent of a person who has not chosen (`country`: theirs, when known)."""
    return DEFAULT_CONSENT
