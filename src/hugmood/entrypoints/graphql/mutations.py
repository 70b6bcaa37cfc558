"""GraphQL mutations: each sends one command through the bus and answers from read models.

The bus returns only after the read models reflect the command's events, so every response
shows the mutation's own effect (read-your-writes).
"""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from hugmood.application.handlers.identity import NewSession
from hugmood.application.queries import identity as identity_queries
from hugmood.application.queries import moods as mood_queries
from hugmood.domain import identity as identity_rules
from hugmood.domain import mood_photos as photo_rules
from hugmood.domain import moods as mood_rules
from hugmood.domain import social
from hugmood.domain.contribution import ChooseCommunityContribution
from hugmood.domain.errors import NotFound, ValidationFailed
from hugmood.domain.retention import ChooseRetention
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.entrypoints.graphql.inputs import (
    EditMoodInput,
    RecordMoodInput,
    RegisterInput,
    UpdateProfileInput,
)
from hugmood.entrypoints.graphql.readback import account_for, entries_with_authors, status_towards


async def _send(info: Ctx, command: object) -> int:
    result = await info.context.core.bus.handle(command, info.context.command)
    return result.position


async def _my_account(info: Ctx, user_id: str) -> t.Account:
    account = await identity_queries.account_by_id(info.context.core.readmodels, user_id)
    if account is None:
        raise NotFound("this account does not exist")
    return t.Account.of(account)


async def _entry(info: Ctx, user_id: str, entry_id: str) -> t.MoodEntry:
    view = await mood_queries.mood_entry(
        info.context.core.readmodels, viewer_id=user_id, entry_id=entry_id
    )
    if view is None:
        raise NotFound(f"no mood entry {entry_id}", field="id")
    return (await entries_with_authors(info, [view]))[0]


@strawberry.type
class FriendshipPayload:
    profile: t.Profile
    status: t.RelationshipStatus


async def _befriend(info: Ctx, handle: str, make: type) -> FriendshipPayload:
    me = await info.context.principal()
    other_id = identity_rules.user_id_for(handle)
    await _send(info, make(user_id=me.user_id, other_id=other_id))
    account = await account_for(info, handle)
    return FriendshipPayload(
        profile=t.Profile.of(account), status=await status_towards(info, account.user_id)
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an account. Then call logIn.")
    async def register(self, info: Ctx, input: RegisterInput) -> t.Profile:
        command = identity_rules.RegisterUser(
            input.handle,
            input.display_name,
            input.password,
            input.home_region,
            input.default_visibility.value if input.default_visibility else None,
            input.country,
        )
        result = await info.context.core.bus.handle(command, info.context.command)
        account = await identity_queries.account_by_id(info.context.core.readmodels, result.value)
        if account is None:
            raise NotFound("the new account could not be read back; try logging in")
        return t.Profile.of(account)

    @strawberry.mutation(
        description="Start a session; the token is shown only this once. With a second factor "
        "on (or required by the server), the right password answers MFA_REQUIRED instead, "
        "with extensions.mfaToken and extensions.methods: finish with completeLogIn, "
        "finishPasskeyLogIn, or confirmAuthenticatorSetup(mfaToken)."
    )
    async def log_in(
        self,
        info: Ctx,
        handle: str,
        password: str,
        device: str | None = None,
        device_proof: Annotated[
            str | None,
            strawberry.argument(
                description="The deviceProof this device got from its last logIn: it is let "
                "in even while failed guesses from elsewhere shut the account to others."
            ),
        ] = None,
    ) -> t.SessionPayload:
        if device is not None and len(device) > 100:
            raise ValidationFailed("device must be at most 100 characters", field="device")
        if device_proof is not None and len(device_proof) > 200:
            device_proof = None  # not one of ours: counted as an unknown device
        result = await info.context.core.bus.handle(
            identity_rules.LogIn(handle, password, device, device_proof), info.context.command
        )
        session: NewSession = result.value
        return t.SessionPayload(
            token=session.token,
            expires_at=t.ms_to_datetime(session.expires_at_ms),
            account=await _my_account(info, session.user_id),
            device_proof=session.device_proof,
        )

    @strawberry.mutation(
        description="Change your password; every other session (your other devices) ends, "
        "this one stays. Returns how many sessions were ended."
    )
    async def change_password(self, info: Ctx, current_password: str, new_password: str) -> int:
        me = await info.context.principal()
        command = identity_rules.ChangePassword(
            me.user_id, current_password, new_password, keep_session_id=me.session_id
        )
        result = await info.context.core.bus.handle(command, info.context.command)
        return int(result.value)

    @strawberry.mutation(description="End this session; its token stops working at once.")
    async def log_out(self, info: Ctx) -> bool:
        me = await info.context.principal()
        await _send(info, identity_rules.LogOut(me.user_id, me.session_id))
        return True

    @strawberry.mutation(
        description="End every session of yours, on every device (this one too); returns how "
        "many were ended."
    )
    async def log_out_everywhere(self, info: Ctx) -> int:
        me = await info.context.principal()
        command = identity_rules.LogOutEverywhere(me.user_id)
        result = await info.context.core.bus.handle(command, info.context.command)
        return int(result.value)

    @strawberry.mutation(
        description="How long your check-ins are kept: older ones are deleted (every copy "
        "the server reads from; see the README on what the log keeps). `days`: 0 keeps them "
        "until you delete them, 30 to 36500 days, or null for your country's rule. Returns "
        "the days now in force for you (0: kept)."
    )
    async def choose_retention(self, info: Ctx, days: int | None) -> int:
        me = await info.context.principal()
        result = await info.context.core.bus.handle(
            ChooseRetention(me.user_id, days), info.context.command
        )
        return int(result.value)

    @strawberry.mutation(
        description="Whether your check-ins count in community mood (de-identified, released "
        "only for weeks with enough people): true, false (your rows there are deleted), or "
        "null for your country's rule (opt-in in eu-west). Returns whether they count now."
    )
    async def choose_community_contribution(self, info: Ctx, contribute: bool | None) -> bool:
        me = await info.context.principal()
        result = await info.context.core.bus.handle(
            ChooseCommunityContribution(me.user_id, contribute), info.context.command
        )
        return bool(result.value)

    @strawberry.mutation(description="Change display name, bio or default mood visibility.")
    async def update_profile(self, info: Ctx, input: UpdateProfileInput) -> t.Account:
        me = await info.context.principal()
        await _send(
            info,
            identity_rules.UpdateProfile(
                me.user_id,
                display_name=input.display_name,
                bio=input.bio,
                default_visibility=input.default_visibility.value
                if input.default_visibility
                else None,
                appear_offline=input.appear_offline,
            ),
        )
        if input.appear_offline is not None:
            await info.context.core.presence.announce(me.user_id)
        return await _my_account(info, me.user_id)

    @strawberry.mutation(description="Check in a mood. Safe to retry with the same id.")
    async def record_mood(self, info: Ctx, input: RecordMoodInput) -> t.MoodEntry:
        me = await info.context.principal()
        command = input.to_command(me.user_id, new_id=str(uuid.uuid4()))
        result = await info.context.core.bus.handle(command, info.context.command)
        return await _entry(info, me.user_id, result.value)

    @strawberry.mutation(description="Change fields of one of your entries.")
    async def edit_mood(self, info: Ctx, input: EditMoodInput) -> t.MoodEntry:
        me = await info.context.principal()
        command = mood_rules.EditMood(
            entry_id=str(input.id),
            user_id=me.user_id,
            mood_type=input.mood_type,
            intensity=input.intensity,
            note=input.note,
            clear_note=input.clear_note,
            context=input.context_factors.to_domain() if input.context_factors else None,
            privacy=input.privacy.value if input.privacy else None,
            recorded_at=input.recorded_at,
        )
        result = await info.context.core.bus.handle(command, info.context.command)
        return await _entry(info, me.user_id, result.value)

    @strawberry.mutation(description="Delete one of your entries; returns its id.")
    async def delete_mood(self, info: Ctx, id: strawberry.ID) -> strawberry.ID:
        me = await info.context.principal()
        result = await info.context.core.bus.handle(
            mood_rules.DeleteMood(entry_id=str(id), user_id=me.user_id), info.context.command
        )
        return strawberry.ID(result.value)

    @strawberry.mutation(description="Take the photo off one of your entries; the entry.")
    async def remove_mood_photo(self, info: Ctx, id: strawberry.ID) -> t.MoodEntry:
        me = await info.context.principal()
        command = photo_rules.RemoveMoodPhoto(entry_id=str(id)[:100], user_id=me.user_id)
        await _send(info, command)
        return await _entry(info, me.user_id, str(id)[:100])

    @strawberry.mutation(description="Ask to be friends (accepts theirs if they asked first).")
    async def request_friendship(self, info: Ctx, handle: str) -> FriendshipPayload:
        return await _befriend(info, handle, social.RequestFriendship)

    @strawberry.mutation
    async def accept_friendship(self, info: Ctx, handle: str) -> FriendshipPayload:
        return await _befriend(info, handle, social.AcceptFriendship)

    @strawberry.mutation
    async def decline_friendship(self, info: Ctx, handle: str) -> FriendshipPayload:
        return await _befriend(info, handle, social.DeclineFriendship)

    @strawberry.mutation(description="Unfriend, or withdraw a request you sent.")
    async def remove_friend(self, info: Ctx, handle: str) -> FriendshipPayload:
        return await _befriend(info, handle, social.RemoveFriend)

    @strawberry.mutation(description="Block: ends any friendship; neither sees the other's moods.")
    async def block_user(self, info: Ctx, handle: str) -> FriendshipPayload:
        return await _befriend(info, handle, social.BlockUser)

    @strawberry.mutation
    async def unblock_user(self, info: Ctx, handle: str) -> FriendshipPayload:
        return await _befriend(info, handle, social.UnblockUser)
