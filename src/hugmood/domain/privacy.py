"""Who may see what: per-entry privacy settings and the viewer's relationship to the owner."""

from __future__ import annotations

from enum import StrEnum

from hugmood.domain.common import shown
from hugmood.domain.errors import ValidationFailed


class Privacy(StrEnum):
    """A mood entry's audience, chosen per entry (with a per-user default)."""

    PRIVATE = "private"
    CLOSE_FRIENDS = "close-friends"
    """Only the friends on the owner's close-friends list."""
    FRIENDS_ONLY = "friends-only"
    PUBLIC = "public"

    @classmethod
    def parse(cls, value: str, *, field: str = "privacy") -> Privacy:
        try:
            return cls(value.strip().lower().replace("_", "-"))
        except ValueError:
            choices = ", ".join(p.value for p in cls)
            raise ValidationFailed(
                f"{field} must be one of {choices} (got {shown(value)})", field=field
            ) from None


class Relationship(StrEnum):
    """How a viewer stands to an owner, from the viewer's side."""

    SELF = "self"
    CLOSE_FRIEND = "close-friend"
    """A friend the owner put on their close-friends list."""
    FRIEND = "friend"
    STRANGER = "stranger"
    BLOCKED = "blocked"
    """Either side blocked the other: nothing is shown, not even public entries."""


_VISIBLE: dict[Relationship, frozenset[Privacy]] = {
    Relationship.SELF: frozenset(Privacy),
    Relationship.CLOSE_FRIEND: frozenset(
        {Privacy.CLOSE_FRIENDS, Privacy.FRIENDS_ONLY, Privacy.PUBLIC}
    ),
    Relationship.FRIEND: frozenset({Privacy.FRIENDS_ONLY, Privacy.PUBLIC}),
    Relationship.STRANGER: frozenset({Privacy.PUBLIC}),
    Relationship.BLOCKED: frozenset(),
}


def visible_privacies(relationship: Relationship) -> frozenset[Privacy]:
    """The privacy settings whose entries a viewer with this relationship may see."""
    return _VISIBLE[relationship]


def may_view(relationship: Relationship, privacy: Privacy) -> bool:
    return privacy in _VISIBLE[relationship]


def is_friend(relationship: Relationship) -> bool:
    """Friends, close or not (what presence and hugs go by)."""
    return relationship in (Relationship.FRIEND, Relationship.CLOSE_FRIEND)
