"""Regional rules as the domain sees them: the features an age gate guards, the rule that
answers for a country, and the audit event of a region's policy changing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from hugmood.domain.common import DomainEvent


@dataclass(frozen=True, slots=True)
class GatedFeature:
    """A feature that needs a verified age: its key in the policy files, and how a refusal
    names it to a person."""

    key: str
    description: str


PUBLIC_PROFILE = GatedFeature("public_profile", "Sharing your check-ins with everyone by default")
PUBLIC_CHECK_IN = GatedFeature("public_check_in", "A public check-in")
SIMILAR_MINDS = GatedFeature("similar_minds", "Similar minds")
COMMUNITY = GatedFeature("community", "Community mood and averages")
GATED_FEATURES: tuple[GatedFeature, ...] = (
    PUBLIC_PROFILE,
    PUBLIC_CHECK_IN,
    SIMILAR_MINDS,
    COMMUNITY,
)


@dataclass(frozen=True, slots=True)
class AgeRule:
    """The verified age a feature needs for one person (0: none), and the rule that says so
    (`DE.age.public_profile`), named in every refusal."""

    threshold: int
    rule: str


class Participation(StrEnum):
    """Whether people take part in something until they say no, or only once they say yes."""

    OPT_IN = "opt-in"
    OPT_OUT = "opt-out"


def policy_stream(region: str) -> str:
    return f"policy-{region}"


@dataclass(frozen=True, slots=True)
class RegionPolicyChanged(DomainEvent):
    """A region started applying different rules (recorded at start-up when the policy file's
    digest differs from the last one recorded): the audit trail of every rule change."""

    EVENT_TYPE = "RegionPolicyChanged"
    region: str
    version: int
    digest: str
    changed_keys: tuple[str, ...]
    rules: Mapping[str, str | int] = field(default_factory=dict)
    """Every rule as declared in the file (`countries.DE.digital_consent_age` → 16)."""
    source: str = ""
    """The file the rules were read from."""


def foreign_account_stream(user_id: str) -> str:
    return f"foreign-account-{user_id}"


@dataclass(frozen=True, slots=True)
class ForeignAccountListed(DomainEvent):
    """A person of another region became known here, through a friendship across the border:
    what the global directory says of them (their id, handle and region) and nothing more."""

    EVENT_TYPE = "ForeignAccountListed"
    user_id: str
    handle: str
    region: str


@dataclass(frozen=True, slots=True)
class ForeignAccountErased(DomainEvent):
    """A person of another region was erased there: here too they are forgotten, as their own
    region forgets them (`UserErased`)."""

    EVENT_TYPE = "ForeignAccountErased"
    user_id: str


REGION_EVENTS: tuple[type[DomainEvent], ...] = (
    RegionPolicyChanged,
    ForeignAccountListed,
    ForeignAccountErased,
)
