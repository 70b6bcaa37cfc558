"""Parked messages: what a durable consumer could not take, kept with the reason, never
silently dropped. An operator lists them, retries one (it is published again to the subject
it came on, where every consumer sees it once more and the idempotent ones ignore what they
already applied) or discards it (`hugmood bus parked list | retry | discard`).

Two backends, like the bus: a list in this process and a JetStream stream of its own
(`jetstream.JetStreamParking`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from hugmood.messaging.bus import Delivery

CONSUMER_HEADER = "Hugmood-Consumer"
REASON_HEADER = "Hugmood-Parked-Reason"
SUBJECT_HEADER = "Hugmood-Original-Subject"
PARKED_AT_HEADER = "Hugmood-Parked-At"
REASON_MAX = 500
"""A reason is cut to this many characters (it may quote what was received)."""


@dataclass(frozen=True, slots=True)
class ParkedMessage:
    sequence: int
    """Its number among the parked, for `retry` and `discard`."""
    consumer: str
    reason: str
    subject: str
    """Where it came from, and where a retry publishes it again."""
    data: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    """Its own headers (message id, position, trace), without the parking ones."""
    parked_at: str = ""


class UnknownParked(LookupError):
    """No parked message has that number (never did, or it was retried or discarded)."""


class Parking(Protocol):
    async def park(self, consumer: str, delivery: Delivery, reason: str) -> None:
        """Keep `delivery` with `reason`; returns once it is stored (raises `BusUnavailable`
        otherwise, and the delivery stays unacknowledged)."""
        ...

    async def list(self, *, limit: int = 100) -> list[ParkedMessage]:
        """The oldest `limit` parked messages."""
        ...

    async def count(self) -> int: ...

    async def get(self, sequence: int) -> ParkedMessage:
        """One of them (raises `UnknownParked`)."""
        ...

    async def discard(self, sequence: int) -> None:
        """Remove one for good (raises `UnknownParked`)."""
        ...


def parking_headers(consumer: str, delivery: Delivery, reason: str) -> dict[str, str]:
    return {
        **delivery.headers,
        CONSUMER_HEADER: consumer,
        REASON_HEADER: " ".join(reason.split())[:REASON_MAX],
        SUBJECT_HEADER: delivery.subject,
        PARKED_AT_HEADER: datetime.now(UTC).isoformat(timespec="seconds"),
    }


def parked_message(sequence: int, data: bytes, headers: Mapping[str, str]) -> ParkedMessage:
    own = {
        k: v
        for k, v in headers.items()
        if k not in (CONSUMER_HEADER, REASON_HEADER, SUBJECT_HEADER, PARKED_AT_HEADER)
    }
    return ParkedMessage(
        sequence=sequence,
        consumer=headers.get(CONSUMER_HEADER, ""),
        reason=headers.get(REASON_HEADER, ""),
        subject=headers.get(SUBJECT_HEADER, ""),
        data=data,
        headers=own,
        parked_at=headers.get(PARKED_AT_HEADER, ""),
    )


class InMemoryParking:
    """Parked messages in this process (the embedded bus)."""

    def __init__(self) -> None:
        self._parked: dict[int, ParkedMessage] = {}
        self._next = 1

    async def park(self, consumer: str, delivery: Delivery, reason: str) -> None:
        headers = parking_headers(consumer, delivery, reason)
        self._parked[self._next] = parked_message(self._next, delivery.data, headers)
        self._next += 1

    async def list(self, *, limit: int = 100) -> list[ParkedMessage]:
        return [self._parked[s] for s in sorted(self._parked)[:limit]]

    async def count(self) -> int:
        return len(self._parked)

    async def get(self, sequence: int) -> ParkedMessage:
        try:
            return self._parked[sequence]
        except KeyError:
            raise UnknownParked(f"no parked message number {sequence}") from None

    async def discard(self, sequence: int) -> None:
        await self.get(sequence)
        del self._parked[sequence]


def describe(messages: Sequence[ParkedMessage]) -> list[dict[str, object]]:
    """For the CLI's output: the payload only as its size (an event may hold personal data,
    which an operator's terminal does not need)."""
    return [
        {
            "sequence": m.sequence,
            "consumer": m.consumer,
            "reason": m.reason,
            "subject": m.subject,
            "parkedAt": m.parked_at,
            "messageId": m.headers.get("Nats-Msg-Id", ""),
            "position": m.headers.get("Hugmood-Position", ""),
            "bytes": len(m.data),
        }
        for m in messages
    ]
