"""GraphQL for two-step sign-in: the second step of logIn, an authenticator app (TOTP) with
recovery codes, and passkeys (WebAuthn).

`logIn` answers `MFA_REQUIRED` with `extensions.mfaToken` (five minutes, not a session) and
`extensions.methods` when the password was right and a second step is needed; only then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from hugmood.application.handlers import identity_mfa as handlers
from hugmood.application.queries import identity as identity_queries
from hugmood.domain import identity_mfa as mfa
from hugmood.domain.errors import NotFound, ValidationFailed
from hugmood.entrypoints.graphql import types as t
from hugmood.entrypoints.graphql.context import Ctx
from hugmood.security.mfa import PendingClaims

MAX_DEVICE = 100


@strawberry.type(description="A new authenticator app's secret: shown this once.")
class AuthenticatorSetup:
    secret: str = strawberry.field(description="Type it into the app if it cannot scan.")
    otpauth_uri: str = strawberry.field(description="The `otpauth://` URI (for a QR code).")


@strawberry.type(description="The authenticator app is on.")
class AuthenticatorOn:
    recovery_codes: list[str] = strawberry.field(
        description="Ten one-time codes for when the app is lost: shown this once."
    )
    session: t.SessionPayload | None = strawberry.field(
        description="Set when this setup finished a sign-in (mfaToken from an "
        "MFA_REQUIRED answer with the method ENROL_TOTP)."
    )


@strawberry.type(description="A WebAuthn ceremony to run in the browser.")
class PasskeyCeremony:
    challenge_id: strawberry.ID = strawberry.field(description="Send it back with the answer.")
    options_json: str = strawberry.field(
        description="PublicKeyCredentialCreationOptions or …RequestOptions, as WebAuthn's JSON."
    )


@strawberry.type(description="One of your passkeys.")
class Passkey:
    id: strawberry.ID
    name: str
    added_at: datetime


@strawberry.type(description="Your second factors.")
class SecondFactors:
    authenticator_app: bool
    recovery_codes_left: int
    passkeys: list[Passkey]
    required: bool = strawberry.field(
        description="The operator requires every account to have a second factor."
    )


async def session_payload(info: Ctx, session: handlers.NewSession) -> t.SessionPayload:
    account = session.account or await identity_queries.account_by_id(
        info.context.core.readmodels, session.user_id
    )
    if account is None:
        raise NotFound("this account does not exist")
    return t.SessionPayload(
        token=session.token,
        expires_at=t.ms_to_datetime(session.expires_at_ms),
        account=t.Account.of(account),
        device_proof=session.device_proof,
    )


async def _enrolling(info: Ctx, mfa_token: str | None) -> tuple[str, str, PendingClaims | None]:
    """Who sets a factor up: the signed-in caller, or someone the operator's rule holds at
    sign-in (their pending token)."""
    if mfa_token is not None:
        claims = handlers.pending(info.context.core.deps, mfa_token, handlers.ENROL)
        return claims.user_id, claims.handle, claims
    me = await info.context.principal()
    return me.user_id, me.handle, None


def _factors(state: mfa.SecondFactors, required: bool) -> SecondFactors:
    return SecondFactors(
        authenticator_app=state.totp_on,
        recovery_codes_left=len(state.recovery_code_hashes),
        passkeys=[
            Passkey(
                id=strawberry.ID(p.credential_id),
                name=p.name,
                added_at=t.ms_to_datetime(p.added_at_ms),
            )
            for p in sorted(state.passkeys.values(), key=lambda p: p.added_at_ms)
        ],
        required=required,
    )


def _short(value: str | None, field: str, limit: int) -> str | None:
    if value is not None and len(value) > limit:
        raise ValidationFailed(f"{field} must be at most {limit} characters", field=field)
    return value


@strawberry.type
class MfaQueries:
    @strawberry.field(description="Your authenticator app, recovery codes and passkeys.")
    async def my_second_factors(self, info: Ctx) -> SecondFactors:
        me = await info.context.principal()
        deps = info.context.core.deps
        return _factors(await handlers.factors_of(deps, me.user_id), deps.mfa_required)


@strawberry.type
class MfaMutations:
    @strawberry.mutation(
        description="The second step of logIn: the mfaToken from its MFA_REQUIRED answer "
        "and a code from your authenticator app, or one of your recovery codes (each works "
        "once). A wrong or reused code is refused (UNAUTHENTICATED) and counted like a wrong "
        "password."
    )
    async def complete_log_in(
        self,
        info: Ctx,
        mfa_token: str,
        code: str | None = None,
        recovery_code: str | None = None,
    ) -> t.SessionPayload:
        command = mfa.CompleteLogIn(mfa_token, code, recovery_code)
        result = await info.context.core.bus.handle(command, info.context.command)
        return await session_payload(info, result.value)

    @strawberry.mutation(
        description="Start setting up an authenticator app: a new secret, shown once. Signed "
        "in, or with the mfaToken of a sign-in held back until a second factor is set up."
    )
    async def start_authenticator_setup(
        self, info: Ctx, mfa_token: str | None = None
    ) -> AuthenticatorSetup:
        user_id, handle, _ = await _enrolling(info, mfa_token)
        command = mfa.StartTotpEnrolment(user_id, handle)
        result = await info.context.core.bus.handle(command, info.context.command)
        setup: handlers.TotpSetup = result.value
        return AuthenticatorSetup(secret=setup.secret, otpauth_uri=setup.otpauth_uri)

    @strawberry.mutation(
        description="Turn the authenticator app on with a first code from it; returns your "
        "recovery codes (and a session, when this finishes a sign-in)."
    )
    async def confirm_authenticator_setup(
        self, info: Ctx, code: str, mfa_token: str | None = None
    ) -> AuthenticatorOn:
        user_id, _, claims = await _enrolling(info, mfa_token)
        _short(code, "code", 20)
        command = handlers.ConfirmTotp(mfa.ConfirmTotpEnrolment(user_id, code), claims)
        result = await info.context.core.bus.handle(command, info.context.command)
        on: handlers.TotpTurnedOn = result.value
        session = await session_payload(info, on.session) if on.session else None
        return AuthenticatorOn(recovery_codes=on.recovery_codes, session=session)

    @strawberry.mutation(
        description="Turn the authenticator app off: your password and a current code (or a "
        "recovery code). Your recovery codes stop working too."
    )
    async def turn_off_authenticator(
        self,
        info: Ctx,
        password: str,
        code: str | None = None,
        recovery_code: str | None = None,
    ) -> bool:
        me = await info.context.principal()
        command = mfa.DisableTotp(me.user_id, password, code, recovery_code)
        await info.context.core.bus.handle(command, info.context.command)
        return True

    @strawberry.mutation(
        description="Ten new recovery codes for a current code from your app; the old ones "
        "stop working."
    )
    async def new_recovery_codes(self, info: Ctx, code: str) -> list[str]:
        me = await info.context.principal()
        _short(code, "code", 20)
        command = mfa.ReplaceRecoveryCodes(me.user_id, code)
        result = await info.context.core.bus.handle(command, info.context.command)
        codes: list[str] = result.value
        return codes

    @strawberry.mutation(
        description="Start adding a passkey: pass optionsJson to navigator.credentials.create."
    )
    async def start_passkey_registration(self, info: Ctx) -> PasskeyCeremony:
        me = await info.context.principal()
        command = mfa.StartPasskeyRegistration(me.user_id, me.handle, me.handle)
        result = await info.context.core.bus.handle(command, info.context.command)
        options: handlers.PasskeyOptions = result.value
        return PasskeyCeremony(
            challenge_id=strawberry.ID(options.challenge_id), options_json=options.options_json
        )

    @strawberry.mutation(
        description="Finish adding a passkey: the authenticator's answer (its JSON, as "
        "PublicKeyCredential.toJSON() gives it). The challenge works once, for five minutes."
    )
    async def finish_passkey_registration(
        self,
        info: Ctx,
        challenge_id: strawberry.ID,
        credential: str,
        name: Annotated[str, strawberry.argument(description="What you call it.")] = "Passkey",
    ) -> SecondFactors:
        me = await info.context.principal()
        _short(name, "name", 200)
        command = mfa.FinishPasskeyRegistration(me.user_id, str(challenge_id), credential, name)
        await info.context.core.bus.handle(command, info.context.command)
        deps = info.context.core.deps
        return _factors(await handlers.factors_of(deps, me.user_id), deps.mfa_required)

    @strawberry.mutation(description="Remove one of your passkeys (your password confirms it).")
    async def remove_passkey(self, info: Ctx, id: strawberry.ID, password: str) -> bool:
        me = await info.context.principal()
        command = mfa.RemovePasskey(me.user_id, str(id)[:1400], password)
        await info.context.core.bus.handle(command, info.context.command)
        return True

    @strawberry.mutation(
        description="The second step of logIn with a passkey: pass optionsJson to "
        "navigator.credentials.get, then call finishPasskeyLogIn."
    )
    async def start_passkey_log_in(self, info: Ctx, mfa_token: str) -> PasskeyCeremony:
        command = mfa.StartPasskeyLogIn(mfa_token)
        result = await info.context.core.bus.handle(command, info.context.command)
        options: handlers.PasskeyOptions = result.value
        return PasskeyCeremony(
            challenge_id=strawberry.ID(options.challenge_id), options_json=options.options_json
        )

    @strawberry.mutation(
        description="Finish logIn with the passkey's answer. Each challenge is answered once: "
        "a replayed answer is refused (UNAUTHENTICATED)."
    )
    async def finish_passkey_log_in(
        self, info: Ctx, mfa_token: str, challenge_id: strawberry.ID, credential: str
    ) -> t.SessionPayload:
        command = mfa.FinishPasskeyLogIn(mfa_token, str(challenge_id), credential)
        result = await info.context.core.bus.handle(command, info.context.command)
        return await session_payload(info, result.value)
