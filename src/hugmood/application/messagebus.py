"""The message bus: routes each command to its one handler, then waits for read models.

The routing table below is the whole command side of HugMood at a glance; its other half,
every consumer of the events that handlers append, is `consumers.EVENT_CONSUMERS`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.handlers import (
    board_images,
    boards,
    contribution,
    discovery,
    erasure,
    hugs,
    identity,
    identity_mfa,
    identity_oidc,
    insights,
    mood_photos,
    moods,
    password_reset,
    reminders,
    retention,
    social,
)
from hugmood.application.ports import ReadModelsProgress
from hugmood.application.results import CommandResult
from hugmood.domain.board_images import UploadBoardImage
from hugmood.domain.boards import ArchiveBoard, CreateBoard, InviteMember, RemoveMember
from hugmood.domain.close_friends import AddCloseFriend, RemoveCloseFriend
from hugmood.domain.contribution import ChooseCommunityContribution
from hugmood.domain.discovery import SetDiscoverable
from hugmood.domain.erasure import CancelAccountDeletion, EraseWhenDue
from hugmood.domain.hugs import (
    ChangeHugSettings,
    MarkHugDelivered,
    MarkHugSeen,
    SendHug,
    WithdrawHug,
)
from hugmood.domain.identity import (
    ChangePassword,
    DeleteAccount,
    LogIn,
    LogOut,
    LogOutEverywhere,
    RegisterUser,
    UpdateProfile,
)
from hugmood.domain.identity_mfa import (
    CompleteLogIn,
    DisableTotp,
    FinishPasskeyLogIn,
    FinishPasskeyRegistration,
    RemovePasskey,
    ReplaceRecoveryCodes,
    StartPasskeyLogIn,
    StartPasskeyRegistration,
    StartTotpEnrolment,
)
from hugmood.domain.identity_oidc import FinishSocialSignIn, LinkSocialSignIn, StartSocialSignIn
from hugmood.domain.insights import DismissInsight, MarkInsightHelpful, TellInsight
from hugmood.domain.mail import ConfirmEmailAddress, RemoveEmailAddress, SetEmailAddress
from hugmood.domain.mood_photos import AttachMoodPhoto, RemoveMoodPhoto
from hugmood.domain.moods import DeleteMood, EditMood, RecordMood, RecordMoods
from hugmood.domain.password_reset import IssueResetToken, RequestPasswordReset, ResetPassword
from hugmood.domain.reminders import (
    AddPushSubscription,
    MarkReminderSent,
    RemovePushSubscription,
    SetReminder,
)
from hugmood.domain.retention import ChooseRetention
from hugmood.domain.social import (
    AcceptFriendship,
    BlockUser,
    DeclineFriendship,
    RemoveFriend,
    RequestFriendship,
    UnblockUser,
)
from hugmood.observability.tracing import command_span, current_traceparent

Handler = Callable[[Any, Dependencies, CommandContext], Awaitable[CommandResult]]

COMMAND_HANDLERS: dict[type, Handler] = {
    RegisterUser: identity.register_user,
    LogIn: identity.log_in,
    CompleteLogIn: identity_mfa.complete_log_in,
    StartTotpEnrolment: identity_mfa.start_totp_enrolment,
    identity_mfa.ConfirmTotp: identity_mfa.confirm_totp_enrolment,
    DisableTotp: identity_mfa.disable_totp,
    ReplaceRecoveryCodes: identity_mfa.replace_recovery_codes,
    StartPasskeyRegistration: identity_mfa.start_passkey_registration,
    FinishPasskeyRegistration: identity_mfa.finish_passkey_registration,
    RemovePasskey: identity_mfa.remove_passkey,
    StartPasskeyLogIn: identity_mfa.start_passkey_log_in,
    FinishPasskeyLogIn: identity_mfa.finish_passkey_log_in,
    StartSocialSignIn: identity_oidc.start_social_sign_in,
    FinishSocialSignIn: identity_oidc.finish_social_sign_in,
    LinkSocialSignIn: identity_oidc.link_social_sign_in,
    LogOut: identity.log_out,
    LogOutEverywhere: identity.log_out_everywhere,
    DeleteAccount: erasure.delete_account,
    CancelAccountDeletion: erasure.cancel_account_deletion,
    EraseWhenDue: erasure.erase_when_due,
    UpdateProfile: identity.update_profile,
    ChangePassword: identity.change_password,
    RecordMood: moods.record_mood,
    RecordMoods: moods.record_moods,
    EditMood: moods.edit_mood,
    DeleteMood: moods.delete_mood,
    AttachMoodPhoto: mood_photos.attach_mood_photo,
    RemoveMoodPhoto: mood_photos.remove_mood_photo,
    RequestFriendship: social.change_friendship,
    AcceptFriendship: social.change_friendship,
    DeclineFriendship: social.change_friendship,
    RemoveFriend: social.change_friendship,
    BlockUser: social.change_friendship,
    UnblockUser: social.change_friendship,
    AddCloseFriend: social.change_close_friends,
    RemoveCloseFriend: social.change_close_friends,
    SendHug: hugs.send_hug,
    WithdrawHug: hugs.change_hug,
    MarkHugDelivered: hugs.change_hug,
    MarkHugSeen: hugs.change_hug,
    ChangeHugSettings: hugs.change_settings,
    CreateBoard: boards.create_board,
    InviteMember: boards.change_board,
    RemoveMember: boards.change_board,
    ArchiveBoard: boards.change_board,
    UploadBoardImage: board_images.upload_board_image,
    SetReminder: reminders.change_reminder,
    AddPushSubscription: reminders.change_reminder,
    RemovePushSubscription: reminders.change_reminder,
    MarkReminderSent: reminders.change_reminder,
    SetEmailAddress: reminders.propose_email,
    ConfirmEmailAddress: reminders.confirm_email,
    RemoveEmailAddress: reminders.remove_email,
    RequestPasswordReset: password_reset.request_password_reset,
    IssueResetToken: password_reset.issue_reset_token,
    ResetPassword: password_reset.reset_password,
    SetDiscoverable: discovery.set_discoverable,
    ChooseRetention: retention.choose_retention,
    ChooseCommunityContribution: contribution.choose_contribution,
    TellInsight: insights.tell_insight,
    MarkInsightHelpful: insights.answer_insight,
    DismissInsight: insights.answer_insight,
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
        with command_span(command):
            # What the handler appends carries this span's trace (events' `traceparent`).
            context = context or CommandContext()
            traced = replace(context, traceparent=current_traceparent() or context.traceparent)
            result = await handler(command, self._deps, traced)
        if result.position and read_your_writes:
            await self._progress.wait_for(result.position)
        return result

    async def wait_for(self, position: int) -> None:
        """Until the read models reflect `position` (written other than by a command)."""
        await self._progress.wait_for(position)
