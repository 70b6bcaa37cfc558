"""The local-first device: check in offline (analysed, sealed, queued), sync when online."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hugmood.client.analysis import analyse
from hugmood.client.api import AsyncHugMoodClient
from hugmood.client.devices import OwnDevices
from hugmood.client.errors import InvalidInput, NotLoggedIn
from hugmood.client.records import SHARE_NOTES, Insights, LocalEntry
from hugmood.client.sync import SyncReport, sync
from hugmood.client.vault import Vault
from hugmood.domain import moods
from hugmood.domain.errors import ValidationFailed
from hugmood.domain.privacy import Privacy

Progress = Callable[[int, int], None]


class Device:
    """One device's HugMood: an unlocked vault, and the server it syncs with."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault

    # --- settings ----------------------------------------------------------------------------

    @property
    def server_url(self) -> str | None:
        return self.vault.setting("server")

    @property
    def handle(self) -> str | None:
        return self.vault.setting("handle")

    @property
    def token(self) -> str | None:
        return self.vault.setting("token")

    @property
    def device_id(self) -> str:
        found = self.vault.setting("device_id")
        if found is None:
            found = str(uuid.uuid4())
            self.vault.set_settings({"device_id": found})
        return found

    @property
    def share_notes(self) -> str:
        """`never` (default), `friends` or `public`: which raw notes may leave the device."""
        return self.vault.setting("share_notes") or "never"

    def set_share_notes(self, value: str) -> None:
        if value not in SHARE_NOTES:
            raise InvalidInput(
                f"shareNotes must be one of {', '.join(SHARE_NOTES)} (got {value!r})",
                field="shareNotes",
            )
        self.vault.set_settings({"share_notes": value})

    def remember_session(self, server_url: str, handle: str, token: str) -> None:
        owner = self.handle
        if owner is not None and owner != handle:
            raise InvalidInput(
                f"this vault belongs to {owner}; use another vault (--vault) for {handle}",
                field="handle",
            )
        self.vault.set_settings({"server": server_url, "handle": handle, "token": token})

    def forget_session(self) -> None:
        self.vault.set_settings({"token": None})

    def client(self, server_url: str | None = None) -> AsyncHugMoodClient:
        """An SDK client for the server this device syncs with, signed in if it can be."""
        url = server_url or self.server_url
        if url is None:
            raise NotLoggedIn("this device has no server yet: run `hugmood login`")
        return AsyncHugMoodClient(url, token=self.token, device_id=self.device_id)

    # --- check-ins -------------------------------------------------------------------------

    def check_in(
        self,
        *,
        intensity: float,
        mood_type: str | None = None,
        note: str | None = None,
        context: dict[str, Any] | None = None,
        privacy: str | None = None,
        recorded_at: datetime | None = None,
        entry_id: str | None = None,
        now: datetime | None = None,
    ) -> LocalEntry:
        """Analyse the note, seal the entry into the vault and queue it; works offline.

        Without a mood word the analysis suggests one from the note. The rules are the
        server's own (`hugmood.domain.moods`), so what is accepted here is accepted there.
        """
        entry = prepare_entry(
            intensity=intensity,
            mood_type=mood_type,
            note=note,
            context=context,
            privacy=privacy,
            recorded_at=recorded_at,
            entry_id=entry_id,
            now=now or datetime.now(UTC),
        )
        self.vault.add_entry(entry)
        return entry

    def queue_hug(self, to: str, hug_type: str, message: str | None = None) -> str:
        """Queue a hug for the next sync (it gets its id now, so a retry sends it once)."""
        hug_id = str(uuid.uuid4())
        payload = {"to": to, "hugType": hug_type, "message": message}
        self.vault.queue(hug_id, "hug", json.dumps(payload).encode())
        return hug_id

    async def sync(self, *, progress: Progress | None = None, batch_size: int = 200) -> SyncReport:
        """Upload the outbox (exactly once per item), then download other devices' changes."""
        if self.token is None:
            raise NotLoggedIn("this device is logged out: run `hugmood login` to sync")
        async with self.client() as api:
            report = await sync(
                self.vault,
                api,
                share_notes=self.share_notes,
                progress=progress,
                batch_size=batch_size,
            )
            # Notes between this person's own devices, end to end (a no-op if not linked).
            notes = await OwnDevices(self.vault, self.device_id, api).exchange_notes()
            report.notes_sealed, report.notes_opened = notes.sealed, notes.opened
            report.notes_unreadable = notes.unreadable
            return report


def prepare_entry(
    *,
    intensity: float,
    mood_type: str | None,
    note: str | None,
    context: dict[str, Any] | None,
    privacy: str | None,
    recorded_at: datetime | None,
    entry_id: str | None,
    now: datetime,
) -> LocalEntry:
    """A validated, analysed entry (not yet stored); `InvalidInput` names what is wrong."""
    try:
        clean_note = moods.check_note(note)
        insights: Insights | None = analyse(clean_note) if clean_note else None
        if mood_type is None:
            if insights is None or insights.suggested_mood is None:
                raise InvalidInput(
                    "give a mood word (or a note, from which one is suggested)", field="moodType"
                )
            mood_type = insights.suggested_mood
        factors = moods.check_context(moods.ContextFactors.from_data(context or {}))
        at = moods.check_recorded_at(recorded_at or now, now)
        return LocalEntry(
            entry_id=moods.canonical_entry_id(entry_id or str(uuid.uuid4())),
            recorded_at_ms=int(at.timestamp() * 1000),
            mood_type=moods.check_mood_type(mood_type),
            intensity=moods.check_intensity(intensity),
            note=clean_note,
            context={k: v for k, v in factors.to_data().items() if v},
            privacy=Privacy.parse(privacy).value if privacy else None,
            insights=insights,
        )
    except ValidationFailed as e:
        raise InvalidInput(e.message, field=e.field) from None
