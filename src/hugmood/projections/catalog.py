"""Every read model HugMood maintains, in one list."""

from __future__ import annotations

from hugmood.projections.accounts import AccountsProjection, SessionsProjection
from hugmood.projections.boards import BoardsProjection
from hugmood.projections.hugs import HugsProjection
from hugmood.projections.moods import MoodEntriesProjection
from hugmood.projections.projection import Projection
from hugmood.projections.social import FriendshipsProjection


def all_projections() -> list[Projection]:
    return [
        AccountsProjection(),
        SessionsProjection(),
        FriendshipsProjection(),
        MoodEntriesProjection(),
        HugsProjection(),
        BoardsProjection(),
    ]
