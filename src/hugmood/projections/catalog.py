"""Every read model HugMood maintains, in one list. Each lives in one module of
`application/queries/`: its tables (versioned DDL), the projection that fills them from the
log, and the queries that read them; nothing else names its tables."""

from __future__ import annotations

from hugmood.application.queries.boards import BoardsProjection
from hugmood.application.queries.erasure import ErasuresProjection
from hugmood.application.queries.hugs import HugsProjection
from hugmood.application.queries.identity import (
    AccountsProjection,
    ForeignAccountsProjection,
    SessionsProjection,
)
from hugmood.application.queries.insights import InsightsProjection
from hugmood.application.queries.minds import DiscoverableProjection
from hugmood.application.queries.moods import MoodEntriesProjection
from hugmood.application.queries.password_resets import PasswordResetsProjection
from hugmood.application.queries.reminders import RemindersProjection
from hugmood.application.queries.social import FriendshipsProjection
from hugmood.projections.projection import Projection


def all_projections() -> list[Projection]:
    return [
        AccountsProjection(),
        SessionsProjection(),
        FriendshipsProjection(),
        MoodEntriesProjection(),
        HugsProjection(),
        BoardsProjection(),
        RemindersProjection(),
        PasswordResetsProjection(),
        DiscoverableProjection(),
        InsightsProjection(),
        ErasuresProjection(),
        ForeignAccountsProjection(),
    ]
