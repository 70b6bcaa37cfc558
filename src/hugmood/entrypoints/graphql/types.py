"""GraphQL output types, and their construction from query-layer views."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import Enum

import strawberry

from hugmood.application.queries.identity import AccountView
from hugmood.application.queries.moods import MoodBucket as BucketView
from hugmood.application.queries.moods import MoodEntryView
from hugmood.application.queries.social import Connection as ConnectionView
from hugmood.application.queries.social import Suggestion as SuggestionView
from hugmood.domain.history import Aggregation as Aggregation
from hugmood.domain.moods import MoodInsights as InsightsView
from hugmood.domain.privacy import Privacy as Privacy
from hugmood.domain.vocabulary import MoodWord as Word

# The domain's own enums, exposed as they are (their members are the GraphQL values).
strawberry.enum(Privacy, description="Who may see a mood entry.")
strawberry.enum(
    Aggregation, description="How mood history is grouped: raw entries, or local-time buckets."
)


@strawberry.enum(description="How the viewer stands to another user.")
class RelationshipStatus(Enum):
    SELF = "self"
    FRIENDS = "friends"
    REQUESTED = "requested"
    INCOMING = "incoming"
    BLOCKED = "blocked"
    NONE = "none"


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@strawberry.type(description="A word of the mood vocabulary, placed on energy × pleasantness.")
class MoodWord:
    word: str
    energy: float
    pleasantness: float
    quadrant: str

    @classmethod
    def of(cls, w: Word) -> MoodWord:
        return cls(
            word=w.word, energy=w.energy, pleasantness=w.pleasantness, quadrant=w.quadrant.value
        )


@strawberry.type(description="What anyone signed in may know about a user.")
class Profile:
    handle: str
    display_name: str
    bio: str
    member_since: datetime
    deleted: bool = strawberry.field(
        default=False,
        description="The account was erased: shown where it left a trace in someone else's "
        "history (a hug), with no handle and nothing of the person.",
    )

    @classmethod
    def of(cls, a: AccountView) -> Profile:
        return cls(
            handle=a.handle,
            display_name=a.display_name,
            bio=a.bio,
            member_since=ms_to_datetime(a.registered_at_ms),
        )

    @classmethod
    def named(cls, handle: str) -> Profile:
        """Someone known by their handle alone (a person of another region)."""
        return cls(handle=handle, display_name=handle, bio="", member_since=ms_to_datetime(0))

    @classmethod
    def deleted_account(cls) -> Profile:
        return cls(
            handle="",
            display_name="A deleted account",
            bio="",
            member_since=ms_to_datetime(0),
            deleted=True,
        )


@strawberry.type(description="The signed-in user's own account and privacy settings.")
class Account:
    id: strawberry.ID
    handle: str
    display_name: str
    bio: str
    home_region: str
    default_visibility: Privacy
    appear_offline: bool
    member_since: datetime

    @classmethod
    def of(cls, a: AccountView) -> Account:
        return cls(
            id=strawberry.ID(a.user_id),
            handle=a.handle,
            display_name=a.display_name,
            bio=a.bio,
            home_region=a.home_region,
            default_visibility=Privacy(a.default_visibility.value),
            appear_offline=a.appear_offline,
            member_since=ms_to_datetime(a.registered_at_ms),
        )


@strawberry.type
class ContextFactors:
    location: str | None
    weather: str | None
    social_context: str | None
    tags: list[str]


@strawberry.type(
    description="What the author's device derived from the note (sentiment, emotions)."
)
class MoodInsights:
    sentiment: float = strawberry.field(description="VADER compound score, -1 to 1.")
    emotions: list[str] = strawberry.field(description="Plutchik emotions found in the note.")
    suggested_mood: str | None = strawberry.field(description="A vocabulary word that fits.")


@strawberry.type(description="One check-in, shown only to those its privacy setting allows.")
class MoodEntry:
    id: strawberry.ID
    author: Profile
    mood_type: str
    intensity: float
    note: str | None
    context_factors: ContextFactors
    privacy: Privacy
    recorded_at: datetime
    created_at: datetime
    updated_at: datetime
    photo: str | None = strawberry.field(
        default=None,
        description="Where the check-in's photo is (GET it with your session); seen by "
        "whoever may see the check-in. Add one with POST /moods/<id>/photo.",
    )
    owner_id: strawberry.Private[str] = ""
    insight_view: strawberry.Private[InsightsView | None] = None

    @strawberry.field(
        description="Derived on the author's device; only the author sees them (null otherwise)."
    )
    def insights(self, info: strawberry.Info) -> MoodInsights | None:
        # Every field returning entries signs the caller in first, so this needs no I/O (a
        # coroutine per entry made downloading a device's changes markedly slower).
        me = info.context.signed_in_as
        if self.insight_view is None or me is None or me.user_id != self.owner_id:
            return None
        i = self.insight_view
        return MoodInsights(
            sentiment=i.sentiment, emotions=list(i.emotions), suggested_mood=i.suggested_mood
        )

    @classmethod
    def of(cls, e: MoodEntryView, author: AccountView) -> MoodEntry:
        return cls(
            id=strawberry.ID(e.entry_id),
            author=Profile.of(author),
            mood_type=e.mood_type,
            intensity=e.intensity,
            note=e.note,
            context_factors=ContextFactors(
                location=e.context.location,
                weather=e.context.weather,
                social_context=e.context.social_context,
                tags=list(e.context.tags),
            ),
            privacy=Privacy(e.privacy.value),
            recorded_at=ms_to_datetime(e.recorded_at_ms),
            created_at=ms_to_datetime(e.created_at_ms),
            updated_at=ms_to_datetime(e.updated_at_ms),
            photo=f"/moods/{e.entry_id}/photos/{e.photo_blob_id}" if e.photo_blob_id else None,
            owner_id=e.user_id,
            insight_view=e.insights,
        )


@strawberry.type(description="A day, week or month of entries in the requested time zone.")
class MoodBucket:
    start: date
    count: int
    mean_intensity: float
    dominant_mood: str
    mean_energy: float
    mean_pleasantness: float

    @classmethod
    def of(cls, b: BucketView) -> MoodBucket:
        return cls(
            start=b.start,
            count=b.count,
            mean_intensity=b.mean_intensity,
            dominant_mood=b.dominant_mood,
            mean_energy=b.mean_energy,
            mean_pleasantness=b.mean_pleasantness,
        )


@strawberry.type(description="Raw entries (aggregation NONE) or buckets, never both.")
class MoodHistory:
    aggregation: Aggregation
    entries: list[MoodEntry]
    bucket_views: strawberry.Private[list[BucketView]]

    @strawberry.field(description="One object per bucket.")
    def buckets(self) -> list[MoodBucket]:
        return [MoodBucket.of(b) for b in self.bucket_views]

    @strawberry.field(
        description="The same buckets as parallel lists, ready for a chart (and much cheaper "
        "to send for a year of days)."
    )
    def series(self) -> MoodSeries:
        views = self.bucket_views
        return MoodSeries(
            starts=[b.start for b in views],
            counts=[b.count for b in views],
            mean_intensities=[b.mean_intensity for b in views],
            dominant_moods=[b.dominant_mood for b in views],
            mean_energies=[b.mean_energy for b in views],
            mean_pleasantness=[b.mean_pleasantness for b in views],
        )


@strawberry.type(description="Buckets as columns: item i of every list is bucket i.")
class MoodSeries:
    starts: list[date]
    counts: list[int]
    mean_intensities: list[float]
    dominant_moods: list[str]
    mean_energies: list[float]
    mean_pleasantness: list[float]


@strawberry.type(description="Another user as seen from the signed-in user's side.")
class Connection:
    profile: Profile
    status: RelationshipStatus
    since: datetime

    @classmethod
    def of(cls, c: ConnectionView) -> Connection:
        return cls(
            profile=Profile.of(c.account),
            status=RelationshipStatus(c.status),
            since=ms_to_datetime(c.since_ms),
        )


@strawberry.type(description="Someone you may know, and how many friends you have in common.")
class Suggestion:
    profile: Profile
    mutual_friends: int

    @classmethod
    def of(cls, s: SuggestionView) -> Suggestion:
        return cls(profile=Profile.of(s.account), mutual_friends=s.mutual_friends)


@strawberry.type(description="A user's public profile with the entries the viewer may see.")
class UserPage:
    profile: Profile
    relationship: RelationshipStatus
    friend_count: int
    recent_moods: list[MoodEntry]


@strawberry.type(description="A new session: send `token` as `Authorization: Bearer <token>`.")
class SessionPayload:
    token: str
    expires_at: datetime
    account: Account
    device_proof: str = strawberry.field(
        description="Keep it on this device and send it with logIn next time: failed "
        "guesses by others never lock this device out."
    )
