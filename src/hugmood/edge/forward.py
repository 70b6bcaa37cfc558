"""Store-and-forward: the edge's command bus holds a check-in or hug it cannot store because
the home region is away, and a service forwards what it holds, in order, once it returns."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.messagebus import MessageBus
from hugmood.application.ports import ReadModelsProgress
from hugmood.application.results import CommandResult
from hugmood.domain import hugs as hug_rules
from hugmood.domain import moods as mood_rules
from hugmood.domain.common import canonical_id
from hugmood.domain.errors import HugMoodError, RateLimited
from hugmood.domain.privacy import Privacy
from hugmood.edge.commands import HeldCommand, Queueable
from hugmood.edge.errors import Queued
from hugmood.edge.queue import HeldQueue
from hugmood.services import Loop, Service
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger(__name__)

RETRY_MIN_S = 0.2
RETRY_MAX_S = 5.0
IDLE_CHECK_S = 5.0


class Clock(Protocol):
    def now(self) -> datetime: ...


def settled(command: Queueable, now: datetime) -> Queueable:
    """The command as it will be forwarded: canonical id, a check-in's time fixed to when the
    edge accepted it, and checked by the pure rules (bad input is refused now, not later)."""
    if isinstance(command, mood_rules.RecordMood):
        command = replace(
            command,
            entry_id=mood_rules.canonical_entry_id(command.entry_id),
            recorded_at=command.recorded_at or now,
        )
        mood_rules.decide_record(command, now=now, default_privacy=Privacy.FRIENDS_ONLY)
        return command
    command = replace(command, hug_id=canonical_id(command.hug_id))
    # Friendship and the recipient's settings live in the region: checked when forwarded.
    hug_rules.decide_send(
        None, command, are_friends=True, recipient_settings=hug_rules.HugSettings()
    )
    return command


class ForwardingBus(MessageBus):
    """The edge's bus: as `MessageBus`, but while the region's store is away a check-in or a
    hug is held (`Queued`). Anything else fails as before (`BackendUnavailable`: the GraphQL
    layer of an edge answers it `READ_ONLY`, internal callers retry as they always did). While
    the queue holds anything, new check-ins and hugs join it behind what it holds (a person's
    entries reach the region in the order they were sent)."""

    def __init__(self, deps: Dependencies, progress: ReadModelsProgress, queue: HeldQueue) -> None:
        super().__init__(deps, progress)
        self._clock: Clock = deps.clock
        self.queue = queue
        self.wake = asyncio.Event()
        self.holding = False
        """True from the first held command until the queue is empty again."""
        self.held_now = 0
        """How many commands the queue holds (kept in step without reading it)."""

    async def handle(
        self,
        command: object,
        context: CommandContext | None = None,
        *,
        read_your_writes: bool = True,
    ) -> CommandResult:
        if not isinstance(command, mood_rules.RecordMood | hug_rules.SendHug):
            return await super().handle(command, context, read_your_writes=read_your_writes)
        if not self.holding:
            try:
                return await super().handle(command, context, read_your_writes=read_your_writes)
            except BackendUnavailable as e:
                log.warning("the region's store is away; holding check-ins and hugs: %s", e)
        raise await self.hold(command, context or CommandContext())

    async def hold(self, command: Queueable, context: CommandContext) -> Queued:
        """Keep the command durably; the answer to give its sender."""
        held = HeldCommand(settled(command, self._clock.now()), context)
        # The client's address is for login throttling only; it is never kept.
        held = replace(held, context=replace(held.context, source_address=None))
        if await self.queue.hold(held):
            self.held_now += 1
        self.holding = True
        self.wake.set()
        return Queued(held.kind, held.item_id)

    async def forward(self, held: HeldCommand) -> CommandResult:
        """Store a held command in the region (nobody waits to read it back)."""
        return await super().handle(held.command, held.context, read_your_writes=False)


class Forwarder(Service):
    """Forwards the held commands, oldest first, as soon as the region's store answers; an
    entry the region refuses (a hug to someone no longer a friend) is set aside with its
    refusal's code, never retried for ever."""

    name = "edge forwarder"

    def __init__(self, bus: ForwardingBus) -> None:
        super().__init__()
        self._bus = bus
        self.forwarded = 0
        self.refused = 0

    @property
    def held_now(self) -> int:
        return self._bus.held_now

    async def starting(self) -> None:
        # Held by an earlier run of this edge (a crash or a restart while the region was away).
        self._bus.held_now = await self._bus.queue.depth()
        self._bus.holding = self._bus.held_now > 0

    def loops(self) -> Sequence[tuple[str, Loop]]:
        return [("forward held commands", self._run)]

    async def _run(self) -> None:
        pause = RETRY_MIN_S
        while True:
            # Cleared before the queue is read: a command held from now on sets it again.
            self._bus.wake.clear()
            if await self._forward_some():
                pause = RETRY_MIN_S
                continue
            if not self._bus.holding:
                try:
                    async with asyncio.timeout(IDLE_CHECK_S):
                        await self._bus.wake.wait()
                except TimeoutError:
                    pass
                continue
            await asyncio.sleep(pause)
            pause = min(RETRY_MAX_S, pause * 2)

    async def _forward_some(self) -> bool:
        """Forward what the queue holds; True if it made progress and more may be waiting."""
        queue = self._bus.queue
        entries = await queue.oldest()
        if not entries:
            # Unless a command was held while the queue was being read.
            self._bus.holding = self._bus.wake.is_set()
            return False
        for entry in entries:
            try:
                await self._bus.forward(entry.held)
            except BackendUnavailable:
                await queue.attempted(entry.seq)
                return False
            except RateLimited as e:
                await asyncio.sleep(e.retry_after_s)
                return True
            except HugMoodError as e:
                log.warning("the region refused a held %s (%s)", entry.held.kind, e.code)
                await queue.refused(entry, e.code)
                self.refused += 1
                self._bus.held_now = max(0, self._bus.held_now - 1)
                continue
            await queue.forwarded(entry.seq)
            self.forwarded += 1
            self._bus.held_now = max(0, self._bus.held_now - 1)
        return True
