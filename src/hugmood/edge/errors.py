"""What the edge answers while the home region is away: a held command (`QUEUED`) and
everything else that needs the region (`READ_ONLY`)."""

from __future__ import annotations

from typing import Any

from hugmood.domain.errors import HugMoodError

QUEUEABLE = ("recordMood", "sendHug")


class Queued(HugMoodError):
    """Accepted and kept durably at the edge; it is stored when the region returns. Not a
    failure: the client may treat it as done (and a retry with the same id is harmless)."""

    code = "QUEUED"

    def __init__(self, kind: str, item_id: str) -> None:
        super().__init__(
            f"your {kind} is accepted and will be delivered: your region's storage is away for "
            "a moment, and this edge keeps it safely until it returns (sending it again with "
            "the same id is safe)"
        )
        self.extensions: dict[str, Any] = {"queued": True, "id": item_id}


class TemporarilyReadOnly(HugMoodError):
    """The home region is away: only check-ins and hugs are taken (and held); this needs it."""

    code = "READ_ONLY"

    def __init__(self) -> None:
        super().__init__(
            "HugMood is temporarily read-only here: your region's storage is away for a "
            "moment. Check-ins and hugs are still accepted and delivered when it returns; "
            "this needs it, so please try again shortly"
        )
        self.extensions: dict[str, Any] = {"queueable": list(QUEUEABLE)}
