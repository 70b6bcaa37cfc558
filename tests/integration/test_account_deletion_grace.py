"""Deleting an account with a grace period: the erasure waits, signing in again can take it
back, and once the period is over the scheduler erases the account exactly as a deletion at
once does (sessions gone, data key destroyed, the person's blobs deleted)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from hugmood.application.messagebus import MessageBus
from hugmood.application.queries.erasure import deletion_due_at
from hugmood.application.queries.identity import account_by_id
from hugmood.application.scheduled_erasures import ErasureScheduler
from hugmood.bootstrap import HugMood, open_blob_store, open_hugmood
from hugmood.config import Settings
from hugmood.domain import erasure as er
from hugmood.domain import identity as idm
from hugmood.domain import mood_photos as photos
from hugmood.domain import moods as mood_rules
from hugmood.domain.errors import Conflict, ValidationFailed
from tests.conftest import unique
from tests.e2e.test_board_images import png
from tests.fakes import FixedClock

PASSWORD = "a good password"


async def person(core: HugMood) -> str:
    handle = unique("grace")
    await core.bus.handle(idm.RegisterUser(handle, "Grace", PASSWORD, "eu-west"))
    return idm.user_id_for(handle)


def later(core: HugMood, days: float) -> tuple[MessageBus, FixedClock]:
    """The same core's commands as they run `days` from now."""
    clock = FixedClock(core.deps.clock.now() + timedelta(days=days))
    return MessageBus(replace(core.deps, clock=clock), core.projections), clock


async def test_a_deletion_with_a_grace_period_waits_can_be_cancelled_and_then_erases(
    durable_settings: Settings,
) -> None:
    async with open_hugmood(replace(durable_settings, erasure_check_s=3600)) as core:
        ann = await person(core)
        entry = str(uuid.uuid4())
        await core.bus.handle(mood_rules.RecordMood(entry, ann, "calm", 0.5, note="mine"))
        image = (await core.bus.handle(photos.AttachMoodPhoto(entry, ann, png(), None))).value
        assert await core.deps.blobs.get(image.blob_id) is not None
        for wrong in (-1, 31, True):
            with pytest.raises(ValidationFailed):
                await core.bus.handle(idm.DeleteAccount(ann, PASSWORD, wrong))
        with pytest.raises(ValidationFailed):
            await core.bus.handle(idm.DeleteAccount(ann, "not the password", 7))

        due = (await core.bus.handle(idm.DeleteAccount(ann, PASSWORD, 7))).value
        assert await deletion_due_at(core.readmodels, ann) == due
        with pytest.raises(Conflict):
            await core.bus.handle(idm.DeleteAccount(ann, PASSWORD, 7))
        # Before it is due, the scheduler leaves the account alone, even a day before.
        bus, clock = later(core, 6)
        assert await ErasureScheduler(bus, core.readmodels, clock, 3600).run_once() == 0
        assert await account_by_id(core.readmodels, ann) is not None

        await core.bus.handle(er.CancelAccountDeletion(ann))
        assert await deletion_due_at(core.readmodels, ann) is None
        with pytest.raises(Conflict):
            await core.bus.handle(er.CancelAccountDeletion(ann))
        bus, clock = later(core, 8)
        assert await ErasureScheduler(bus, core.readmodels, clock, 3600).run_once() == 0
        assert await account_by_id(core.readmodels, ann) is not None

        await core.bus.handle(idm.DeleteAccount(ann, PASSWORD, 1))
        bus, clock = later(core, 1.01)
        assert await ErasureScheduler(bus, core.readmodels, clock, 3600).run_once() == 1
        await core.projections.wait_for(await core.store.last_position())
        assert await account_by_id(core.readmodels, ann) is None
        assert await deletion_due_at(core.readmodels, ann) is None
        raw = await open_blob_store(durable_settings)  # the bytes, not only their key, gone
        try:
            assert await raw.get(image.blob_id) is None, "her photo is deleted"
        finally:
            await raw.close()
        # Run again (another process, or the next round): nothing more to do.
        assert await ErasureScheduler(bus, core.readmodels, clock, 3600).run_once() == 0
