"""Photos on check-ins in the read models, on every backend: only those who may see the entry
get its photo; a removed photo or a deleted entry takes it away."""

from __future__ import annotations

import uuid

import pytest

from hugmood.application.handlers.mood_photos import read_mood_photo
from hugmood.application.queries import moods as mq
from hugmood.bootstrap import open_hugmood
from hugmood.config import Settings
from hugmood.domain import mood_photos as mp
from hugmood.domain import moods as mood_rules
from hugmood.domain.errors import NotFound
from tests.e2e.test_board_images import png
from tests.integration.test_close_friends import befriend, people


async def test_a_photo_follows_its_check_ins_privacy(settings: Settings) -> None:
    async with open_hugmood(settings) as core:
        ann, ben, cat = await people(core, "ann", "ben", "cat")
        await befriend(core, ann, ben)
        entry = str(uuid.uuid4())
        await core.bus.handle(
            mood_rules.RecordMood(entry, ann, "calm", 0.5, privacy="friends-only")
        )
        with pytest.raises(NotFound):
            await core.bus.handle(mp.AttachMoodPhoto(entry, ben, png(), "image/png"))
        image = (await core.bus.handle(mp.AttachMoodPhoto(entry, ann, png(), None))).value

        for viewer in (ann, ben):
            kind, data = await read_mood_photo(
                core.deps, entry_id=entry, viewer_id=viewer, blob_id=image.blob_id
            )
            assert (kind, data) == ("image/png", png())
        with pytest.raises(NotFound):
            await read_mood_photo(core.deps, entry_id=entry, viewer_id=cat, blob_id=image.blob_id)
        view = await mq.mood_entry(core.readmodels, viewer_id=ben, entry_id=entry)
        assert view is not None and view.photo_blob_id == image.blob_id

        await core.bus.handle(mp.RemoveMoodPhoto(entry, ann))
        assert await mq.mood_photo(core.readmodels, viewer_id=ann, entry_id=entry) is None
        await core.bus.handle(mp.AttachMoodPhoto(entry, ann, png(), None))
        await core.bus.handle(mood_rules.DeleteMood(entry, ann))
        assert await mq.mood_photo(core.readmodels, viewer_id=ann, entry_id=entry) is None
