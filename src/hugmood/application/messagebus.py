"""The message bus: routes each command to its one handler, then waits for read models.

The routing table below is the whole command side of HugMood at a glance. Events reach their
consumers (the projections) through catch-up subscriptions on the event store, so a consumer
that was down catches up instead of missing anything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.handlers import board_images, boards, hugs, identity, moods, social
from hugmood.application.ports import ReadModelsProgress
from hugmood.application.results import CommandResult
from hugmood.domain import board_images as bi
from hugmood.domain import boards as bd
from hugmood.domain import hugs as hg
from hugmood.domain import identity as idm
from hugmood.domain import moods as md
from hugmood.domain import social as sc

Handler = Callable[[Any, Dependencies, CommandContext], Awaitable[CommandResult]]

COMMAND_HANDLERS: dict[type, Handler] = {
    idm.RegisterUser: identity.register_user,
    idm.LogIn: identity.log_in,
    idm.LogOut: identity.log_out,
    idm.LogOutEverywhere: identity.log_out_everywhere,
    idm.UpdateProfile: identity.update_profile,
    idm.ChangePassword: identity.change_password,
    md.RecordMood: moods.record_mood,
    md.RecordMoods: moods.record_moods,
    md.EditMood: moods.edit_mood,
    md.DeleteMood: moods.delete_mood,
    sc.RequestFriendship: social.change_friendship,
    sc.AcceptFriendship: social.change_friendship,
    sc.DeclineFriendship: social.change_friendship,
    sc.RemoveFriend: social.change_friendship,
    sc.BlockUser: social.change_friendship,
    sc.UnblockUser: social.change_friendship,
    hg.SendHug: hugs.send_hug,
    hg.WithdrawHug: hugs.change_hug,
    hg.MarkHugDelivered: hugs.change_hug,
    hg.MarkHugSeen: hugs.change_hug,
    hg.ChangeHugSettings: hugs.change_settings,
    bd.CreateBoard: boards.create_board,
    bd.InviteMember: boards.change_board,
    bd.RemoveMember: boards.change_board,
    bd.ArchiveBoard: boards.change_board,
    bi.UploadBoardImage: board_images.upload_board_image,
}


class MessageBus:
    def __init__(self, deps: Dependencies, progress: ReadModelsProgress) -> None:
        self._deps = deps
        self._progress = progress

    async def handle(
        self,
        command: object,
        context: CommandContext | None = None,
        *,
        read_your_writes: bool = True,
    ) -> CommandResult:
        """Run the command's handler; return once read models reflect what it wrote (unless
        `read_your_writes` is off, for commands nobody waits to read back)."""
        handler = COMMAND_HANDLERS.get(type(command))
        if handler is None:
            raise LookupError(f"no handler for {type(command).__name__}")
        result = await handler(command, self._deps, context or CommandContext())
        if result.position and read_your_writes:
            await self._progress.wait_for(result.position)
        return result
