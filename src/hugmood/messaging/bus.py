"""The event-bus port every backend implements, and the errors it may raise.

Two backends pass one contract suite (`tests/contracts/test_bus.py`): in-process (the embedded
default, one process) and NATS JetStream (a stream shared by many processes). The bus carries
bytes under subjects; what an event looks like on it (subject, payload, headers) is the
relay's business (`messaging/relay.py`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from hugmood.unavailable import BackendUnavailable

MSG_ID_HEADER = "Nats-Msg-Id"
"""The header that names a message for de-duplication (JetStream's own name for it)."""


class BusUnavailable(BackendUnavailable):
    """The bus could not be reached or did not acknowledge: what was not acknowledged may or
    may not be stored, so publish it again (with the same message id) until it is."""


class BusConfigError(Exception):
    """The stream exists with settings that cannot be changed to the configured ones (its
    storage type); the message says which, so an operator decides rather than the code."""


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """The stream that keeps published messages: created at start, or checked and updated."""

    name: str
    subjects: tuple[str, ...]
    storage: Literal["file", "memory"] = "file"
    replicas: int = 1
    max_age_s: float = 7 * 24 * 3600.0
    """How long a message is kept (0: forever). The store keeps every event regardless."""
    duplicate_window_s: float = 120.0
    """A message id published again within this window is stored once."""


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    subject: str
    data: bytes
    msg_id: str
    """Unique per message: publishing the same id again within the window stores nothing."""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Published:
    """The stream's acknowledgement of one message: where it is stored."""

    sequence: int
    duplicate: bool
    """True if the message id was already stored: `sequence` is the first copy's."""


class Delivery(Protocol):
    """One message handed to a durable consumer; it stays pending until acknowledged."""

    @property
    def subject(self) -> str: ...

    @property
    def data(self) -> bytes: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def msg_id(self) -> str: ...

    @property
    def sequence(self) -> int:
        """Its place in the stream (1, 2, …)."""
        ...

    @property
    def attempt(self) -> int:
        """1 on first delivery, 2 on the first redelivery, and so on."""
        ...

    async def ack(self) -> None:
        """Done with it: it is not delivered to this consumer again."""
        ...

    async def nak(self, delay_s: float | None = None) -> None:
        """Not done: deliver it again (to this or another puller of the same consumer), after
        `delay_s` if given."""
        ...


class EventBus(Protocol):
    """A durable, ordered, de-duplicating log of messages with durable pull consumers."""

    async def start(self) -> None:
        """Create the stream, or check an existing one and bring its settings up to date.

        Raises `BusUnavailable` if the backend cannot be reached, `BusConfigError` if the
        existing stream's settings cannot be changed to the configured ones."""
        ...

    async def publish(self, messages: Sequence[OutgoingMessage]) -> list[Published]:
        """Publish `messages` in order and return once every one is acknowledged as stored.

        Idempotent by `msg_id` within the duplicate window. If it raises `BusUnavailable`, some
        of the messages may be stored and some not: publish them all again."""
        ...

    async def pull(
        self,
        consumer: str,
        *,
        filter_subject: str | None = None,
        max_messages: int = 100,
        timeout: float = 1.0,
        ack_wait_s: float = 30.0,
        max_ack_pending: int | None = None,
    ) -> list[Delivery]:
        """Up to `max_messages` for the durable consumer named `consumer`, waiting up to
        `timeout` for the first (an empty list when none came).

        The consumer is created on first use (from the start of the stream, only subjects
        matching `filter_subject`, NATS wildcards `*` and `>`, with `ack_wait_s`); it keeps its
        place across processes and restarts. Messages come in stream order; one not
        acknowledged within `ack_wait_s`, or nak'd, is delivered again with a higher
        `attempt`. Pullers sharing a consumer share its messages: each goes to one of them.
        With `max_ack_pending`, no more than that many are out unacknowledged at once, across
        all pullers (a consumer that must apply in order sets it to its batch size, so one
        puller holds a batch at a time and the others stand by)."""
        ...

    async def close(self) -> None: ...


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: `*` is one token, a final `>` one or more tokens."""
    want, have = pattern.split("."), subject.split(".")
    for i, part in enumerate(want):
        if part == ">":
            return len(have) > i
        if i >= len(have) or part not in ("*", have[i]):
            return False
    return len(want) == len(have)
