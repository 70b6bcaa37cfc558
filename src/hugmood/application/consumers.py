"""Every consumer of the event log, in one table: what it reacts to, how it keeps its place,
and where it may run. Beside `messagebus.COMMAND_HANDLERS` (commands → handlers), this is the
other half of HugMood's reactive graph (events → consumers).

Each entry is implemented by one service of the same name (`services.Service`), which takes
its event types from here; `bootstrap` checks that every entry has its service and starts
them. Where an entry runs is a deployment choice read from this table, not a code change:
consumers that may run `ANYWHERE` can move to worker processes; `WITH_SOCKETS` ones run in
every web process, because they push to that process's own sockets.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hugmood.domain import boards, discovery, hugs, identity, moods
from hugmood.domain.common import DomainEvent


class Resume(StrEnum):
    """How a consumer keeps its place in the log."""

    CHECKPOINT = "checkpoint"
    """Durable: it stores the last position it applied together with its effects, and
    resumes after it; nothing is applied twice or skipped."""
    FROM_NOW = "from now"
    """Live work layered on durable state: it starts at the end of the log, since what
    happened before is served from the read models when a client connects."""


class Placement(StrEnum):
    ANYWHERE = "anywhere"
    """In the web process or a worker: it talks only to storage."""
    WITH_SOCKETS = "with sockets"
    """In every process that holds sockets: it pushes to that process's own connections."""


@dataclass(frozen=True, slots=True)
class EventConsumer:
    name: str
    handles: frozenset[str] | None
    """The event types it reacts to; None: every event (a checkpoint covers every position)."""
    resume: Resume
    runs: Placement
    purpose: str


def _types(*events: type[DomainEvent]) -> frozenset[str]:
    return frozenset(str(e.EVENT_TYPE) for e in events)


READ_MODELS = "read models"
LIVE_RELAY = "live relay"
BOARD_ROOMS = "board rooms"
INSIGHTS = "insights"
COMMUNITY_MOOD = "community mood"
SIMILAR_MINDS = "similar minds"
EDGE_CACHE = "edge cache"
LEARNING = "federated learning"
FEDERATION_OUTBOX = "federation outbox"

EVENT_CONSUMERS: tuple[EventConsumer, ...] = (
    EventConsumer(
        READ_MODELS,
        handles=None,
        resume=Resume.CHECKPOINT,
        runs=Placement.ANYWHERE,
        purpose="every read model (`readmodels/`), so queries answer from them",
    ),
    EventConsumer(
        LIVE_RELAY,
        handles=_types(
            hugs.HugSent,
            hugs.HugDelivered,
            hugs.HugSeen,
            hugs.HugWithdrawn,
            identity.SessionEnded,
            moods.MoodRecorded,
        ),
        resume=Resume.FROM_NOW,
        runs=Placement.WITH_SOCKETS,
        purpose="live hugs, hug statuses, friends' check-ins and logouts to subscriptions",
    ),
    EventConsumer(
        BOARD_ROOMS,
        handles=_types(
            boards.BoardContentUpdated,
            boards.BoardContentRebased,
            boards.BoardMemberAdded,
            boards.BoardMemberRoleChanged,
            boards.BoardMemberRemoved,
            boards.BoardArchived,
            identity.SessionEnded,
            identity.UserErased,
        ),
        resume=Resume.FROM_NOW,
        runs=Placement.WITH_SOCKETS,
        purpose="other processes' board edits, rebases, roles and logouts to open board rooms",
    ),
    EventConsumer(
        INSIGHTS,
        handles=_types(moods.MoodRecorded, moods.MoodEdited, moods.MoodDeleted),
        resume=Resume.CHECKPOINT,
        runs=Placement.ANYWHERE,
        purpose="what a person's check-ins say about them, told when enough changed",
    ),
    EventConsumer(
        COMMUNITY_MOOD,
        handles=_types(
            moods.MoodRecorded, moods.MoodEdited, moods.MoodDeleted, identity.UserErased
        ),
        resume=Resume.CHECKPOINT,
        runs=Placement.ANYWHERE,
        purpose="de-identified check-ins into the DuckDB column store (`analytics/`) for"
        " community mood; one process writes its file",
    ),
    EventConsumer(
        SIMILAR_MINDS,
        handles=_types(
            moods.MoodRecorded,
            moods.MoodEdited,
            moods.MoodDeleted,
            discovery.DiscoverabilityChanged,
            identity.UserErased,
        ),
        resume=Resume.FROM_NOW,
        runs=Placement.WITH_SOCKETS,
        purpose="the in-memory similar-minds index of each process that answers queries"
        " (loaded from the read models at start)",
    ),
    EventConsumer(
        EDGE_CACHE,
        handles=None,
        resume=Resume.FROM_NOW,
        runs=Placement.WITH_SOCKETS,
        purpose="drops this process's cached public profiles and warmed views of anyone an"
        " event names, and on an edge the sessions that ended (`hugmood.edge`)",
    ),
    EventConsumer(
        LEARNING,
        handles=_types(identity.UserErased),
        resume=Resume.CHECKPOINT,
        runs=Placement.ANYWHERE,
        purpose="the federated-learning coordinator (`learning.service`): rounds for signed-in"
        " devices, forgetting erased accounts; its journal stream keeps its place in the log;"
        " with NATS, the process holding its lease is the active one, the others forward"
        " device calls to it",
    ),
    EventConsumer(
        FEDERATION_OUTBOX,
        handles=None,
        resume=Resume.CHECKPOINT,
        runs=Placement.ANYWHERE,
        purpose="copies what this region decided about friendships and hugs across a border"
        " to the other region, retrying until it is there (`application.federation_outbox`)",
    ),
)


def consumer(name: str) -> EventConsumer:
    """The table's entry of that name."""
    for entry in EVENT_CONSUMERS:
        if entry.name == name:
            return entry
    raise LookupError(f"no event consumer named {name!r}")


def known_event_types() -> frozenset[str]:
    """Every event type this version writes: the domain's and the board rooms' content."""
    from hugmood.application.eventmapping import EVENT_CLASSES

    content = (boards.BoardContentUpdated, boards.BoardContentCompacted, boards.BoardContentRebased)
    return frozenset(EVENT_CLASSES) | _types(*content)
