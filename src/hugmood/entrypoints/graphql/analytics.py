"""GraphQL for community mood (private releases from the analytics column store) and similar
minds (opt-in suggestions of people with mood patterns like yours)."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from hugmood.analytics import release
from hugmood.analytics.community import AnalyticsUnavailable
from hugmood.application.age import AgeGate
from hugmood.application.queries import minds as mind_queries
from hugmood.domain.discovery import SetDiscoverable
from hugmood.domain.regions import COMMUNITY, SIMILAR_MINDS, GatedFeature
from hugmood.entrypoints.graphql.context import Ctx

WAIT_S = 2.0
DISCOVERABLE = (
    "Whether HugMood may suggest you as a similar mind to other discoverable people. Off "
    "until you turn it on. What is compared: how your check-ins spread over the mood words, "
    "their energy and pleasantness, their intensity, and what went with your more pleasant "
    "days (weather, company, a few common tags); never your notes. What others see "
    "of you: your handle and display name, nothing else (not your check-ins, not how similar "
    "you are). Nobody you blocked or who blocked you is ever shown you, or you them. You see "
    "similar minds only while you are discoverable yourself."
)


COMMUNITY_MOOD = GatedFeature(COMMUNITY.key, "How people in your region felt")
SIMILAR_MINDS_FEATURE = SIMILAR_MINDS


@strawberry.type(description="One quadrant's share of a cohort's check-ins (noisy).")
class QuadrantShare:
    quadrant: str
    share: float


@strawberry.type(
    description="How people whose home is a region felt in an ISO week, with differential "
    "privacy. `released` is false when fewer than `minimumPeople` people checked in: then "
    "every number is null (not enough people yet). Each release spends `epsilon` of the "
    "cohort's `budgetTotal`; the same release is served again until it is a day old, and "
    "forever once the budget is spent."
)
class CommunityMood:
    region: str
    week: str
    released: bool
    minimum_people: int
    people: float | None = strawberry.field(description="Noisy number of people.")
    mean_energy: float | None
    mean_pleasantness: float | None
    mean_intensity: float | None
    quadrants: list[QuadrantShare]
    epsilon: float = strawberry.field(description="ε spent by this release (0 if none).")
    budget_spent: float = strawberry.field(description="ε spent by every release of it so far.")
    budget_total: float
    released_at: datetime | None

    @classmethod
    def of(cls, m: release.CommunityMood) -> CommunityMood:
        return cls(
            region=m.region,
            week=m.week,
            released=m.released,
            minimum_people=m.minimum_people,
            people=m.people,
            mean_energy=m.mean_energy,
            mean_pleasantness=m.mean_pleasantness,
            mean_intensity=m.mean_intensity,
            quadrants=[QuadrantShare(quadrant=q, share=v) for q, v in m.quadrant_shares.items()],
            epsilon=m.epsilon,
            budget_spent=m.budget_spent,
            budget_total=m.budget_total,
            released_at=None
            if m.released_at_ms is None
            else datetime.fromtimestamp(m.released_at_ms / 1000, UTC),
        )


@strawberry.type(description="A discoverable person: only what they show anyone.")
class SimilarMind:
    handle: str
    display_name: str


@strawberry.type
class SimilarMinds:
    people: list[SimilarMind] = strawberry.field(description="Most similar first.")
    check_ins_needed: int = strawberry.field(
        description="How many more check-ins you need before you can be compared (0: enough)."
    )


@strawberry.type(
    description="What went with better days for most of the 20 discoverable people whose "
    'patterns are nearest yours ("people with patterns like yours found walks and company '
    'helped"), never naming anyone. `enoughPeople` is false, and `factors` empty, while fewer '
    "than `minimumPeople` such people (not blocked either way) can be compared with you."
)
class SimilarMindsHelped:
    enough_people: bool
    minimum_people: int
    factors: list[str] = strawberry.field(
        description="Factor labels (`company:friends`, `weather:sunny`, `tag:walk`), most "
        "shared first: each one's days were at least 0.05 more pleasant than days without it "
        "for more than half of those people."
    )
    sentence: str = strawberry.field(description="The same in words.")
    check_ins_needed: int = strawberry.field(
        description="How many more check-ins you need before you can be compared (0: enough)."
    )


@strawberry.type
class AnalyticsQueries:
    @strawberry.field(
        description="How people whose home is `region` felt in `week` (ISO, e.g. 2026-W49): "
        "answered only for at least 20 people, with noise (see CommunityMood). VALIDATION "
        "for an unknown region or a malformed or future week. A process that does not keep "
        "the analytics store (an edge) answers from releases already made (the process that "
        "keeps the store releases, hourly, every cohort with enough people that is due: the "
        "current week at most every 3 days, the finished week once more with its final "
        "numbers), and ANALYTICS_UNAVAILABLE for a cohort with no release yet."
    )
    async def community_mood(self, info: Ctx, region: str, week: str) -> CommunityMood:
        me = await info.context.principal()
        core = info.context.core
        await AgeGate(core.deps, me.user_id).require(COMMUNITY_MOOD)
        now = datetime.now(UTC)
        if core.community is None or not core.community.keeps_store:
            # An edge (or a second process on the data dir): cohorts are released into the
            # shared ledger by the process that keeps the store; answer from there.
            found = await release.latest_release(
                core.readmodels, region[:40], week[:40], now.date()
            )
            if found is None:
                raise AnalyticsUnavailable(
                    "this process answers community mood only from releases already made,"
                    " and this cohort has none yet; ask again later"
                )
            return CommunityMood.of(found)
        community = core.community
        columns = community.columns
        # Read-your-writes, within reason: what was logged before the question counts if the
        # consumer gets to it soon; a lagging consumer answers from what it has.
        await community.wait_for(await info.context.core.store.last_position(), WAIT_S)
        answer = await release.community_mood(
            info.context.core.readmodels,
            columns,
            region[:40],
            week[:40],
            now,
        )
        return CommunityMood.of(answer)

    @strawberry.field(description=DISCOVERABLE)
    async def discoverable(self, info: Ctx) -> bool:
        me = await info.context.principal()
        return (
            await mind_queries.discoverable_key(info.context.core.readmodels, me.user_id)
            is not None
        )

    @strawberry.field(
        description="Discoverable people whose mood patterns are nearest yours (`limit` 1–20). "
        "NOT_DISCOVERABLE unless you are discoverable yourself. " + DISCOVERABLE
    )
    async def similar_minds(self, info: Ctx, limit: int = 5) -> SimilarMinds:
        me = await info.context.principal()
        core = info.context.core
        await AgeGate(core.deps, me.user_id).require(SIMILAR_MINDS_FEATURE)
        if core.minds is None:
            raise AnalyticsUnavailable("similar minds are not kept by this process")
        await core.minds.refresh(await core.read_models_position(), also=(me.user_id,))
        found = await mind_queries.similar_minds(core.readmodels, core.minds, me.user_id, limit)
        return SimilarMinds(
            people=[
                SimilarMind(handle=p.handle, display_name=p.display_name) for p in found.people
            ],
            check_ins_needed=found.check_ins_needed,
        )

    @strawberry.field(
        description="What helped the people with mood patterns like yours (see "
        "SimilarMindsHelped). NOT_DISCOVERABLE unless you are discoverable yourself; age-gated "
        "like similarMinds. " + DISCOVERABLE
    )
    async def similar_minds_helped(self, info: Ctx) -> SimilarMindsHelped:
        me = await info.context.principal()
        core = info.context.core
        await AgeGate(core.deps, me.user_id).require(SIMILAR_MINDS_FEATURE)
        if core.minds is None:
            raise AnalyticsUnavailable("similar minds are not kept by this process")
        await core.minds.refresh(await core.read_models_position(), also=(me.user_id,))
        found = await mind_queries.what_helped_similar_minds(
            core.readmodels, core.minds, me.user_id
        )
        return SimilarMindsHelped(
            enough_people=found.enough_people,
            minimum_people=found.minimum_people,
            factors=found.factors,
            sentence=found.sentence,
            check_ins_needed=found.check_ins_needed,
        )


@strawberry.type
class AnalyticsMutations:
    @strawberry.mutation(
        description="Turn being discoverable on or off; returns it. " + DISCOVERABLE
    )
    async def set_discoverable(self, info: Ctx, discoverable: bool) -> bool:
        me = await info.context.principal()
        await info.context.core.bus.handle(
            SetDiscoverable(me.user_id, discoverable), info.context.command
        )
        return discoverable
