"""The GraphQL schema with its hardening: depth, alias, cost and token limits, cached parsing."""

from __future__ import annotations

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from hugmood.config import Settings
from hugmood.entrypoints.graphql.analytics import AnalyticsMutations, AnalyticsQueries
from hugmood.entrypoints.graphql.boards import BoardMutations, BoardQueries
from hugmood.entrypoints.graphql.close_friends import CloseFriendMutations, CloseFriendQueries
from hugmood.entrypoints.graphql.devices import DeviceMutations, DeviceQueries
from hugmood.entrypoints.graphql.erasure import ErasureMutations, ErasureQueries
from hugmood.entrypoints.graphql.hugs import HugMutations, HugQueries
from hugmood.entrypoints.graphql.insights import InsightMutations, InsightQueries
from hugmood.entrypoints.graphql.limits import QueryLimits, limit_rule
from hugmood.entrypoints.graphql.mfa import MfaMutations, MfaQueries
from hugmood.entrypoints.graphql.mutations import Mutation
from hugmood.entrypoints.graphql.overview import OverviewQueries
from hugmood.entrypoints.graphql.presence import PresenceMutations, PresenceQueries
from hugmood.entrypoints.graphql.queries import Query
from hugmood.entrypoints.graphql.reminders import (
    PasswordResetMutations,
    ReminderMutations,
    ReminderQueries,
)
from hugmood.entrypoints.graphql.sessions import SessionMutations, SessionQueries
from hugmood.entrypoints.graphql.social import SocialMutations, SocialQueries
from hugmood.entrypoints.graphql.subscriptions import Subscription
from hugmood.entrypoints.graphql.sync import SyncMutations, SyncQueries


class HugMoodSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Refusals are answers, not server errors: Strawberry's default would log each one
        at ERROR with the query text (passwords included). Unexpected errors are logged
        where they are mapped (`errors.map_error`)."""


def query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_cost=settings.graphql_max_cost,
    )


def limit_rules(settings: Settings) -> list[type[ASTValidationRule]]:
    """The depth, alias and cost limits as validation rules (for every operation, sockets
    too), measured with fragments expanded (`limits.py`)."""
    return [limit_rule(query_limits(settings))]


def build_schema(settings: Settings) -> strawberry.Schema:
    # The limit rules are built once and reused: the validation cache is keyed by
    # the rule classes, and a limiter built per request would make every request a miss.
    limits = limit_rules(settings)
    return HugMoodSchema(
        query=merge_types(
            "Query",
            (
                Query,
                HugQueries,
                PresenceQueries,
                SyncQueries,
                BoardQueries,
                SessionQueries,
                MfaQueries,
                SocialQueries,
                ReminderQueries,
                CloseFriendQueries,
                AnalyticsQueries,
                InsightQueries,
                OverviewQueries,
                DeviceQueries,
                ErasureQueries,
            ),
        ),
        mutation=merge_types(
            "Mutation",
            (
                Mutation,
                HugMutations,
                PresenceMutations,
                SyncMutations,
                BoardMutations,
                SessionMutations,
                MfaMutations,
                SocialMutations,
                ErasureMutations,
                ReminderMutations,
                PasswordResetMutations,
                CloseFriendMutations,
                AnalyticsMutations,
                InsightMutations,
                DeviceMutations,
            ),
        ),
        subscription=Subscription,
        config=StrawberryConfig(disable_field_suggestions=not settings.development),
        # Factories, not instances: each operation gets its own extension objects.
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=settings.graphql_max_tokens),
            lambda: AddValidationRules(limits),
            lambda: ParserCache(maxsize=256),
            lambda: ValidationCache(maxsize=256),
        ],
    )


def export_sdl() -> str:
    """The schema as SDL, for `docs/schema.graphql` (the same in every environment)."""
    return build_schema(Settings()).as_str() + "\n"
