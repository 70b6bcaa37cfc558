"""GraphQL input types, and their conversion to domain commands' parts."""

from __future__ import annotations

from datetime import datetime

import strawberry

from hugmood.domain.moods import ContextFactors, MoodInsights, RecordMood
from hugmood.entrypoints.graphql.types import Privacy


@strawberry.input
class RegisterInput:
    handle: str = strawberry.field(description="3–30 characters: a letter, then a-z, 0-9 or _.")
    display_name: str
    password: str = strawberry.field(description="At least 10 characters.")
    country: str | None = strawberry.field(
        default=None,
        description="Where you live (ISO 3166-1 alpha-2, like DE or US): it decides where "
        "your data lives and which rules apply. Omitted: the server's default country. "
        "Changed later only by a migration of your account, not by you.",
    )
    home_region: str | None = strawberry.field(
        default=None,
        description="Older clients only: where your data lives (eu-west, us-east). It follows "
        "from `country`; naming a region that is not the country's is refused.",
    )
    default_visibility: Privacy | None = strawberry.field(
        default=None,
        description="Who sees your check-ins when you don't choose for one; PRIVATE (only "
        "you) unless you say otherwise. Change it later with updateProfile.",
    )


@strawberry.input
class ContextFactorsInput:
    location: str | None = None
    weather: str | None = None
    social_context: str | None = None
    tags: list[str] = strawberry.field(default_factory=list)

    def to_domain(self) -> ContextFactors:
        return ContextFactors(self.location, self.weather, self.social_context, tuple(self.tags))


@strawberry.input(description="Derived on the device from the note, which may stay there.")
class MoodInsightsInput:
    sentiment: float = strawberry.field(description="VADER compound score, -1 to 1.")
    emotions: list[str] = strawberry.field(
        default_factory=list, description="Plutchik emotions: joy, trust, fear, surprise, …"
    )
    suggested_mood: str | None = strawberry.field(
        default=None, description="A word from `moodVocabulary`."
    )

    def to_domain(self) -> MoodInsights:
        return MoodInsights(self.sentiment, tuple(self.emotions), self.suggested_mood)


@strawberry.input
class RecordMoodInput:
    id: strawberry.ID | None = strawberry.field(
        default=None,
        description="A UUID chosen by the device; sending the same id again stores it once.",
    )
    mood_type: str = strawberry.field(description="A word from `moodVocabulary`.")
    intensity: float = strawberry.field(description="From 0 (barely) to 1 (completely).")
    note: str | None = None
    context_factors: ContextFactorsInput | None = None
    privacy: Privacy | None = strawberry.field(
        default=None, description="Defaults to your profile's default visibility."
    )
    recorded_at: datetime | None = strawberry.field(
        default=None, description="When you felt it; defaults to now. Not in the future."
    )
    insights: MoodInsightsInput | None = strawberry.field(
        default=None, description="Sentiment and emotions your device derived from the note."
    )

    def to_command(self, user_id: str, *, new_id: str) -> RecordMood:
        """The check-in as a command (`new_id` when the device chose no id)."""
        return RecordMood(
            entry_id=str(self.id) if self.id else new_id,
            user_id=user_id,
            mood_type=self.mood_type,
            intensity=self.intensity,
            note=self.note,
            context=self.context_factors.to_domain() if self.context_factors else ContextFactors(),
            privacy=self.privacy.value if self.privacy else None,
            recorded_at=self.recorded_at,
            insights=self.insights.to_domain() if self.insights else None,
        )


@strawberry.input
class EditMoodInput:
    id: strawberry.ID
    mood_type: str | None = None
    intensity: float | None = None
    note: str | None = None
    clear_note: bool = False
    context_factors: ContextFactorsInput | None = None
    privacy: Privacy | None = None
    recorded_at: datetime | None = None


@strawberry.input
class UpdateProfileInput:
    display_name: str | None = None
    bio: str | None = None
    default_visibility: Privacy | None = None
    appear_offline: bool | None = strawberry.field(
        default=None, description="Friends see you as offline whatever your devices say."
    )
