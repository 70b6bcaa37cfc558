"""Sealed mode: check-in scores the server only ever holds as homomorphic ciphertexts.

A person registers the public half of a Paillier key kept in their device vault; each sealed
check-in is one ciphertext of a packed record (intensity, energy, pleasantness, count) under
that key, with its time in clear so the server can bucket it. No score is in any event.
"""

from __future__ import annotations

from dataclasses import dataclass

from hugmood.domain.common import DomainEvent
from hugmood.ids import EntryId, UserId


def sealed_stream(user_id: UserId) -> str:
    """One stream a person: the key registrations and every sealed check-in, in order."""
    return f"sealed-{user_id}"


@dataclass(frozen=True, slots=True)
class SealingKeyRegistered(DomainEvent):
    EVENT_TYPE = "SealingKeyRegistered"

    user_id: UserId
    key_id: str
    modulus_hex: str


@dataclass(frozen=True, slots=True)
class SealedMoodRecorded(DomainEvent):
    EVENT_TYPE = "SealedMoodRecorded"

    entry_id: EntryId
    user_id: UserId
    key_id: str
    ciphertext: str
    """Base64 of the raw Paillier ciphertext, 2·|n| bytes."""
    recorded_at_ms: int


SEALED_EVENTS: tuple[type[DomainEvent], ...] = (SealingKeyRegistered, SealedMoodRecorded)


@dataclass(frozen=True, slots=True)
class SealedState:
    key_id: str | None = None
    modulus_hex: str | None = None
    entries: tuple[tuple[int, str, str], ...] = ()
    """(recorded_at_ms, key_id, ciphertext) of every sealed check-in."""


def evolve_sealed(state: SealedState, event: DomainEvent) -> SealedState:
    if isinstance(event, SealingKeyRegistered):
        return SealedState(event.key_id, event.modulus_hex, state.entries)
    if isinstance(event, SealedMoodRecorded):
        entry = (event.recorded_at_ms, event.key_id, event.ciphertext)
        return SealedState(state.key_id, state.modulus_hex, (*state.entries, entry))
    return state
