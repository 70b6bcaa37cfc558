"""GraphQL for signing in with another provider (OpenID Connect).

The web app calls `startSocialSignIn`, sends the person to the URL, and hands what the
provider sends back to its redirect URL (`state`, `code`) to `finishSocialSignIn`. An
identity no account has claimed answers `NOT_LINKED` with `extensions.linkToken`; the
account's owner links it with `linkSocialSignIn` (signed in, with their password).
"""

from __future__ import annotations

import strawberry

from hugmood.domain import identity_oidc as oidc
from hugmood.domain.errors import ValidationFailed
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.entrypoints.graphql.mfa import session_payload


@strawberry.type(description="The provider this server signs people in with.")
class SocialProvider:
    name: str


@strawberry.type
class SocialQueries:
    @strawberry.field(
        description="The other provider people can sign in with; null when none is set up."
    )
    def social_sign_in(self, info: Ctx) -> SocialProvider | None:
        provider = info.context.core.deps.oidc
        return SocialProvider(name=provider.name) if provider else None


@strawberry.type
class SocialMutations:
    @strawberry.mutation(
        description="Start signing in with the other provider: the URL to send the person "
        "to (its state and nonce are checked when they come back, once, within ten minutes)."
    )
    async def start_social_sign_in(self, info: Ctx) -> str:
        result = await info.context.core.bus.handle(oidc.StartSocialSignIn(), info.context.command)
        url: str = result.value
        return url

    @strawberry.mutation(
        description="Finish signing in with what the provider sent back. UNAUTHENTICATED for "
        "a wrong or reused state or a wrong nonce; MFA_REQUIRED when the account has a "
        "second step; NOT_LINKED (with extensions.linkToken) when no account has linked "
        "this identity yet."
    )
    async def finish_social_sign_in(
        self, info: Ctx, state: str, code: str, device: str | None = None
    ) -> t.SessionPayload:
        if device is not None and len(device) > 100:
            raise ValidationFailed("device must be at most 100 characters", field="device")
        command = oidc.FinishSocialSignIn(state, code, device)
        result = await info.context.core.bus.handle(command, info.context.command)
        return await session_payload(info, result.value)

    @strawberry.mutation(
        description="Link the other provider's identity (the linkToken of a NOT_LINKED "
        "answer) to your account; your password confirms it is you."
    )
    async def link_social_sign_in(self, info: Ctx, link_token: str, password: str) -> bool:
        me = await info.context.principal()
        command = oidc.LinkSocialSignIn(me.user_id, link_token, password)
        await info.context.core.bus.handle(command, info.context.command)
        return True
