"""The per-request GraphQL context: the running core, the command context, the caller."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from strawberry.fastapi import BaseContext
from strawberry.types import Info

from hugmood.application.eventmapping import CommandContext
from hugmood.application.queries.identity import Principal, authenticate
from hugmood.bootstrap import HugMood
from hugmood.domain.errors import Unauthenticated
from hugmood.realtime.hub import PresenceStatus
from hugmood.unavailable import BackendUnavailable

SIGN_IN_FIRST = "sign in first: send 'Authorization: Bearer <token>' from logIn"


@dataclass
class RequestContext(BaseContext):
    core: HugMood
    command: CommandContext
    bearer: str | None
    socket_device: str | None = field(default=None, init=False)
    """For a WebSocket: the presence device it stands for while it is open."""
    socket_presence: tuple[PresenceStatus, str | None] = field(
        default=(PresenceStatus.ONLINE, None), init=False
    )
    """The status and view the socket's last heartbeat gave, kept fresh while it is open."""
    _principal: Principal | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        super().__init__()

    async def principal(self) -> Principal:
        """The signed-in caller; raises UNAUTHENTICATED for a missing or dead session."""
        if self._principal is None:
            if not self.bearer:
                raise Unauthenticated(SIGN_IN_FIRST)
            digest = self.core.deps.tokens.digest(self.bearer)
            edge = self.core.edge
            try:
                found = await authenticate(self.core.readmodels, digest, int(time.time() * 1000))
            except BackendUnavailable:
                # The region is away: an edge trusts a session it verified a moment ago
                # (so check-ins and hugs can still be held for it), and no other.
                found = edge.vouch(digest) if edge is not None else None
                if found is None:
                    raise
            else:
                if found is not None and edge is not None:
                    edge.verified(digest, found)
            if found is None:
                raise Unauthenticated("your session has ended or is not valid; sign in again")
            self._principal = found
        return self._principal

    @property
    def signed_in_as(self) -> Principal | None:
        """The caller if `principal()` has already found them (no I/O), else `None`."""
        return self._principal


Ctx = Info[RequestContext, Any]
