"""Similar minds: who chose to be discoverable (with the key of their vector, kept here and
nowhere else), the check-ins their vectors are built from, the suggestions, which go only to
a discoverable person and never include anyone not discoverable, blocked by them or blocking
them, and what helped the nearest `COHORT` of them (only from that many)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from hugmood.domain.errors import Forbidden, ValidationFailed
from hugmood.eventstore.envelope import RecordedEvent, to_epoch_ms
from hugmood.ids import UserId
from hugmood.sql.database import SqlDatabase, Statement
from hugmood.sql.migrations import Migration

MAX_SIMILAR = 20
MIN_CHECK_INS = 5
"""Fewer check-ins than this say too little about a person to compare them with anyone."""
COHORT = 20
"""k: what helped similar minds is told only from this many nearest discoverable people
(the asker not among them), never fewer."""
HELPED = 0.05
"""A factor helped a person when their days with it were at least this much more pleasant
(on the -1..1 scale) than their days without."""

Vector = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class MoodCounts:
    """A person's check-ins as their vector needs them: how many of each word, mean
    intensity, and each factor's effect on their days' pleasantness."""

    words: Mapping[str, int]
    mean_intensity: float
    factor_effects: Mapping[str, float] = field(default_factory=dict)
    """Factor label → mean pleasantness of days with it minus days without
    (`insights.days.pleasantness_effects`): only factors with enough days of each."""

    @property
    def total(self) -> int:
        return sum(self.words.values())


class NotDiscoverable(Forbidden):
    """Only people who are discoverable themselves are shown similar minds."""

    code = "NOT_DISCOVERABLE"


class NearestMinds(Protocol):
    """The index the suggestions come from (`analytics.minds.SimilarMinds`)."""

    def vector_of(self, key: int) -> Vector | None: ...

    def nearest(self, query: Vector, count: int) -> list[int]:
        """The keys of up to `count` vectors nearest `query`, nearest first."""
        ...

    def size(self) -> int: ...

    def factor_effects(self, key: int) -> Mapping[str, float] | None:
        """The factor effects the vector of `key` carries, if it is in the index."""
        ...


@dataclass(frozen=True, slots=True)
class SimilarMind:
    """What a suggestion shows: only what the person shows anyone (handle, display name)."""

    handle: str
    display_name: str


@dataclass(frozen=True, slots=True)
class SimilarMinds:
    people: list[SimilarMind]
    check_ins_needed: int
    """How many more check-ins the caller needs before they can be compared (0: enough)."""


async def discoverable_key(db: SqlDatabase, user_id: UserId) -> int | None:
    """The key of the person's vector if they are discoverable, else None."""
    row = await db.fetchrow(
        "SELECT mind_key FROM rm_discoverable WHERE user_id = $1 AND discoverable = 1", user_id
    )
    return None if row is None else int(row[0])


async def mind_key(db: SqlDatabase, user_id: UserId) -> tuple[int, bool] | None:
    """The key of the person's vector and whether they are discoverable now, if they ever
    were (the key stays theirs when they turn it off and on again)."""
    row = await db.fetchrow(
        "SELECT mind_key, discoverable FROM rm_discoverable WHERE user_id = $1", user_id
    )
    return None if row is None else (int(row[0]), bool(row[1]))


async def discoverable_people(db: SqlDatabase) -> list[tuple[str, int]]:
    """Every discoverable person and their vector's key."""
    rows = await db.fetch(
        "SELECT user_id, mind_key FROM rm_discoverable WHERE discoverable = 1 ORDER BY mind_key"
    )
    return [(str(r[0]), int(r[1])) for r in rows]


CheckInRow = tuple[int, str, float, str | None]
"""A check-in as a vector needs it: when, the mood word, intensity, the context (JSON)."""


async def mood_rows(db: SqlDatabase, user_ids: Sequence[str]) -> dict[str, list[CheckInRow]]:
    """Each person's check-ins as their vector is built from (nothing from notes); the
    counts and factor effects are worked out by `analytics.vectors.mood_counts`."""
    rows_of: dict[str, list[CheckInRow]] = {}
    for start in range(0, len(user_ids), 200):
        chunk = list(user_ids[start : start + 200])
        marks = ", ".join(f"${i + 1}" for i in range(len(chunk)))
        rows = await db.fetch(
            "SELECT user_id, recorded_at_ms, mood_type, intensity, context_factors"
            f" FROM rm_mood_entries WHERE user_id IN ({marks})",
            *chunk,
        )
        for user_id, at_ms, word, intensity, context in rows:
            rows_of.setdefault(str(user_id), []).append(
                (int(at_ms), str(word), float(intensity), context)
            )
    return rows_of


async def similar_minds(
    db: SqlDatabase, minds: NearestMinds, viewer_id: UserId, limit: int
) -> SimilarMinds:
    """Up to `limit` discoverable people whose mood patterns are nearest the viewer's."""
    if not 1 <= limit <= MAX_SIMILAR:
        raise ValidationFailed(f"limit must be from 1 to {MAX_SIMILAR}", field="limit")
    key = await discoverable_key(db, viewer_id)
    if key is None:
        raise NotDiscoverable(
            "similar minds are shown only to people who are discoverable themselves:"
            " turn on setDiscoverable first"
        )
    vector = minds.vector_of(key)
    if vector is None:
        rows = await db.fetchrow(
            "SELECT COUNT(*) FROM rm_mood_entries WHERE user_id = $1", viewer_id
        )
        have = int(rows[0]) if rows else 0
        return SimilarMinds([], max(1, MIN_CHECK_INS - have))
    wanted = limit + 1  # the viewer is their own nearest
    while True:
        found = minds.nearest(vector, wanted)
        people = await _shown(db, viewer_id, [k for k in found if k != key])
        if len(people) >= limit or wanted >= minds.size():
            return SimilarMinds(people[:limit], 0)
        wanted = min(minds.size(), wanted * 4)


async def _shown(db: SqlDatabase, viewer_id: UserId, keys: list[int]) -> list[SimilarMind]:
    """The people behind `keys`, in that order, less anyone not discoverable now or blocked
    either way (checked here, against the read models, not trusted from the index)."""
    return [person for _, person in await _visible(db, viewer_id, keys)]


async def _visible(
    db: SqlDatabase, viewer_id: UserId, keys: list[int]
) -> list[tuple[int, SimilarMind]]:
    if not keys:
        return []
    marks = ", ".join(f"${i + 2}" for i in range(len(keys)))
    rows = await db.fetch(
        "SELECT d.mind_key, a.handle, a.display_name FROM rm_discoverable d"
        " JOIN rm_accounts a ON a.user_id = d.user_id"
        f" WHERE d.mind_key IN ({marks}) AND d.discoverable = 1 AND d.user_id <> $1"
        " AND NOT EXISTS (SELECT 1 FROM rm_blocks b WHERE"
        " (b.blocker_id = $1 AND b.blocked_id = d.user_id)"
        " OR (b.blocker_id = d.user_id AND b.blocked_id = $1))",
        viewer_id,
        *keys,
    )
    by_key = {int(r[0]): SimilarMind(str(r[1]), str(r[2])) for r in rows}
    return [(k, by_key[k]) for k in keys if k in by_key]


_COMPANY = {
    "alone": "time alone",
    "partner": "time with a partner",
    "family": "time with family",
    "friends": "time with friends",
    "colleagues": "time with colleagues",
    "strangers": "time among strangers",
    "online": "time online",
}


def factor_name(label: str) -> str:
    """How a sentence names a factor label: `time with friends`, `sunny days`, `walks`."""
    kind, _, value = label.partition(":")
    if kind == "company":
        return _COMPANY.get(value, f"time with {value}")
    if kind == "weather":
        return f"{value} days"
    return f"“{value}”"


@dataclass(frozen=True, slots=True)
class WhatHelped:
    """What went with better days for most of the `COHORT` people nearest the asker: factor
    labels, the most shared first. Empty with `enough_people` False below `COHORT` people."""

    factors: list[str]
    enough_people: bool
    check_ins_needed: int
    """How many more check-ins the asker needs before they can be compared (0: enough)."""
    minimum_people: int = COHORT

    @property
    def sentence(self) -> str:
        if not self.enough_people:
            return (
                f"Not enough people yet: this needs at least {self.minimum_people} discoverable"
                " people with patterns like yours."
            )
        if not self.factors:
            return (
                f"Nothing went with better days for most of the {self.minimum_people} people"
                " with patterns nearest yours."
            )
        names = [factor_name(f) for f in self.factors]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"People with patterns like yours felt better with {listed}."


async def what_helped_similar_minds(
    db: SqlDatabase, minds: NearestMinds, viewer_id: UserId
) -> WhatHelped:
    """ "People with patterns like yours found walks and company helped": the factors whose
    effect on pleasantness was at least `HELPED` for more than half of the `COHORT`
    discoverable people nearest the asker (blocked either way left out), never naming them,
    and nothing at all from fewer than `COHORT` of them."""
    key = await discoverable_key(db, viewer_id)
    if key is None:
        raise NotDiscoverable(
            "what helped similar minds is shown only to people who are discoverable"
            " themselves: turn on setDiscoverable first"
        )
    vector = minds.vector_of(key)
    if vector is None:
        row = await db.fetchrow(
            "SELECT COUNT(*) FROM rm_mood_entries WHERE user_id = $1", viewer_id
        )
        return WhatHelped([], False, max(1, MIN_CHECK_INS - (int(row[0]) if row else 0)))
    wanted = COHORT + 1  # the asker is their own nearest
    while True:
        found = minds.nearest(vector, wanted)
        cohort = [k for k, _ in await _visible(db, viewer_id, [k for k in found if k != key])]
        if len(cohort) >= COHORT or wanted >= minds.size():
            break
        wanted = min(minds.size(), wanted * 4)
    cohort = cohort[:COHORT]
    if len(cohort) < COHORT:
        return WhatHelped([], False, 0)
    helped: dict[str, int] = {}
    for member in cohort:
        effects = minds.factor_effects(member) or {}
        for factor, effect in effects.items():
            if effect >= HELPED:
                helped[factor] = helped.get(factor, 0) + 1
    most = sorted((f for f, n in helped.items() if 2 * n > COHORT), key=lambda f: (-helped[f], f))
    return WhatHelped(most, True, 0)


DISCOVERABLE_SCHEMA = """
-- Who is discoverable, and the key of their vector in the similar-minds index: the position
-- of their first opt-in, so a rebuild gives everyone the same key again.
CREATE TABLE IF NOT EXISTS rm_discoverable (
    user_id TEXT PRIMARY KEY,
    mind_key BIGINT NOT NULL UNIQUE,
    discoverable INTEGER NOT NULL,
    changed_at_ms BIGINT NOT NULL
);
"""


class DiscoverableProjection:
    name: str = "discoverable"
    tables: tuple[str, ...] = ("rm_discoverable",)
    migrations: tuple[Migration, ...] = (Migration(1, "tables", DISCOVERABLE_SCHEMA),)

    def statements(self, event: RecordedEvent) -> list[Statement]:
        if event.event_type == "UserErased":
            # An erased person is forgotten here (`privacy.keys`: their data key is gone).
            u = event.data["userId"]
            return [
                ("DELETE FROM rm_discoverable WHERE user_id = $1", (u,)),
            ]
        if event.event_type != "DiscoverabilityChanged":
            return []
        d = event.data
        return [
            (
                "INSERT INTO rm_discoverable (user_id, mind_key, discoverable, changed_at_ms)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET"
                " discoverable = excluded.discoverable, changed_at_ms = excluded.changed_at_ms",
                (
                    d["userId"],
                    event.position,
                    1 if d["discoverable"] else 0,
                    to_epoch_ms(event.timestamp),
                ),
            )
        ]
