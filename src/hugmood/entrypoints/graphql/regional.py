"""GraphQL types of the regional rules as they apply to the signed-in person."""

from __future__ import annotations

import strawberry

from hugmood.application.queries.regional import MyRegionalRules


@strawberry.type(description="A feature that needs a verified age, and the rule that says so.")
class FeatureAge:
    feature: str = strawberry.field(description="public_profile, public_check_in, …")
    age: int = strawberry.field(description="The verified age it needs (0: none).")
    rule: str = strawberry.field(
        description="The rule, as refusals name it: DE.age.public_profile."
    )


@strawberry.type(description="Where your data lives and the rules that apply to you.")
class MyRules:
    country: str = strawberry.field(description="Where you live (ISO 3166-1 alpha-2).")
    home_region: str = strawberry.field(description="The region that keeps your data.")
    retention_days: int = strawberry.field(
        description="Check-ins older than this are deleted (0: kept until you delete them)."
    )
    retention_chosen: bool = strawberry.field(
        description="Whether you chose it (chooseRetention) or your country's rule applies."
    )
    ages: list[FeatureAge]
    analytics: str | None = strawberry.field(
        description="Community mood contributions where you live: opt-in or opt-out."
    )
    learning: str | None = strawberry.field(
        description="Federated learning where you live: opt-in or opt-out."
    )
    contributing: bool = strawberry.field(
        description="Whether your check-ins count in community mood now "
        "(chooseCommunityContribution, else your country's rule)."
    )

    @classmethod
    def of(cls, rules: MyRegionalRules) -> MyRules:
        return cls(
            country=rules.country,
            home_region=rules.home_region,
            retention_days=rules.retention_days,
            retention_chosen=rules.retention_chosen,
            ages=[FeatureAge(feature=f.key, age=r.threshold, rule=r.rule) for f, r in rules.ages],
            analytics=rules.analytics,
            learning=rules.learning,
            contributing=rules.contributing,
        )
