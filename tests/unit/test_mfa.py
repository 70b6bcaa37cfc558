"""Two-step sign-in at the handlers: TOTP's window and replay, recovery codes used once, the
pending token, and what someone without the password can learn (nothing)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta

import pytest

from hugmood.application.dependencies import Dependencies
from hugmood.application.eventmapping import CommandContext
from hugmood.application.handlers import identity_mfa as handlers
from hugmood.application.handlers.identity import NewSession, log_in, register_user
from hugmood.application.handlers.identity_oidc import start_social_sign_in
from hugmood.blobs.memory import InMemoryBlobStore
from hugmood.config import ConfigError, Settings
from hugmood.domain import identity as idm
from hugmood.domain import identity_mfa as mfa
from hugmood.domain import identity_oidc as oidc
from hugmood.domain.errors import (
    Forbidden,
    RateLimited,
    SecondFactorRequired,
    Unauthenticated,
    ValidationFailed,
)
from hugmood.eventstore.memory import InMemoryEventStore
from hugmood.security.mfa import (
    MfaSecrets,
    PendingClaims,
    current_code,
    matching_step,
    new_totp_secret,
)
from hugmood.security.oidc import STARTS_PER_MINUTE, OidcProvider
from hugmood.security.ratelimit import SlidingWindowLimiter
from hugmood.security.throttle import InMemoryLoginThrottle
from hugmood.security.tokens import HmacSessionTokens
from hugmood.security.webauthn_passkeys import PasskeyCeremonies
from hugmood.sql.sqlite import SqliteDatabase
from tests.fakes import CountingHasher, FixedClock

CTX = CommandContext(source_address="203.0.113.9")
PASSWORD = "a long enough password"
KEY = b"k" * 32


def make_deps(db: SqliteDatabase, *, required: bool = False) -> Dependencies:
    return Dependencies(
        store=InMemoryEventStore(),
        readmodels=db,
        clock=FixedClock(),
        hasher=CountingHasher(),
        throttle=InMemoryLoginThrottle(max_failures=3),
        tokens=HmacSessionTokens(KEY),
        hug_limiter=SlidingWindowLimiter(limit=30, window_s=60, what="hugs"),
        blobs=InMemoryBlobStore(),
        mfa=MfaSecrets(KEY),
        mfa_required=required,
    )


@pytest.fixture
async def deps() -> AsyncIterator[Dependencies]:
    db = SqliteDatabase(None)
    yield make_deps(db)
    await db.close()


async def signed_up(deps: Dependencies, handle: str = "ann") -> str:
    result = await register_user(idm.RegisterUser(handle, "Ann", PASSWORD, "eu-west"), deps, CTX)
    user_id: str = result.value
    return user_id


async def with_authenticator(deps: Dependencies, handle: str = "ann") -> tuple[str, str, list[str]]:
    """An account with the app turned on: its id, the app's secret, its recovery codes."""
    user_id = await signed_up(deps, handle)
    setup = (
        await handlers.start_totp_enrolment(mfa.StartTotpEnrolment(user_id, handle), deps, CTX)
    ).value
    # The confirming code uses this step; the next sign-in needs a later one.
    confirm = mfa.ConfirmTotpEnrolment(user_id, current_code(setup.secret, deps.clock.now()))
    on = (await handlers.confirm_totp_enrolment(handlers.ConfirmTotp(confirm), deps, CTX)).value
    return user_id, setup.secret, on.recovery_codes


def later(deps: Dependencies, seconds: float) -> None:
    clock = deps.clock
    assert isinstance(clock, FixedClock)
    clock.moment += timedelta(seconds=seconds)


async def held(deps: Dependencies, handle: str = "ann", password: str = PASSWORD) -> str:
    with pytest.raises(SecondFactorRequired) as caught:
        await log_in(idm.LogIn(handle, password), deps, CTX)
    return caught.value.mfa_token


def test_a_code_is_accepted_one_step_either_side_and_only_after_the_last_used() -> None:
    secret = new_totp_secret()
    clock = FixedClock()
    now = clock.now()
    step = matching_step(secret, current_code(secret, now), now)
    assert step is not None
    for drift in (-30, 30):
        assert matching_step(secret, current_code(secret, now + timedelta(seconds=drift)), now)
    assert matching_step(secret, current_code(secret, now - timedelta(seconds=90)), now) is None
    # The same code again, or an earlier one, once `step` is used: refused.
    assert matching_step(secret, current_code(secret, now), now, after_step=step) is None
    earlier = current_code(secret, now - timedelta(seconds=30))
    assert matching_step(secret, earlier, now, after_step=step) is None
    assert matching_step(secret, "12345", now) is None
    assert matching_step(secret, "abcdef", now) is None
    assert matching_step(secret, "١٢٣٤٥٦", now) is None  # digits, but not ASCII ones


def test_pending_tokens_expire_and_cannot_be_forged() -> None:
    moment = [1000.0]
    secrets = MfaSecrets(KEY, clock=lambda: moment[0])
    token = secrets.pending_token(PendingClaims("u1", "ann", handlers.SECOND_FACTOR))
    assert secrets.read_pending(token) == PendingClaims("u1", "ann", handlers.SECOND_FACTOR)
    assert MfaSecrets(b"x" * 32).read_pending(token) is None  # another server's key
    payload, _, mac = token.partition(".")
    assert secrets.read_pending(payload[:-2] + "AA." + mac) is None
    assert secrets.read_pending("mfa_ünïcode.☃") is None
    moment[0] += 301
    assert secrets.read_pending(token) is None


def test_a_sealed_secret_opens_only_for_its_own_account() -> None:
    secrets = MfaSecrets(KEY)
    sealed = secrets.seal("JBSWY3DPEHPK3PXP", "user-1")
    assert "JBSWY3DPEHPK3PXP" not in sealed
    assert secrets.open(sealed, "user-1") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(ValueError, match="another key"):
        secrets.open(sealed, "user-2")


async def test_sign_in_asks_for_a_code_and_each_code_works_once(deps: Dependencies) -> None:
    _, secret, _ = await with_authenticator(deps)
    later(deps, 30)
    token = await held(deps)
    code = current_code(secret, deps.clock.now())

    session = (await handlers.complete_log_in(mfa.CompleteLogIn(token, code=code), deps, CTX)).value
    assert isinstance(session, NewSession)

    with pytest.raises(Unauthenticated, match="already used"):
        await handlers.complete_log_in(mfa.CompleteLogIn(token, code=code), deps, CTX)
    with pytest.raises(Unauthenticated, match="not right"):
        await handlers.complete_log_in(mfa.CompleteLogIn(token, code="000000"), deps, CTX)


async def test_wrong_codes_are_throttled_like_passwords(deps: Dependencies) -> None:
    _, secret, _ = await with_authenticator(deps)
    later(deps, 30)
    token = await held(deps)
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            await handlers.complete_log_in(mfa.CompleteLogIn(token, code="000000"), deps, CTX)
    right = current_code(secret, deps.clock.now())
    with pytest.raises(RateLimited):
        await handlers.complete_log_in(mfa.CompleteLogIn(token, code=right), deps, CTX)


async def test_each_recovery_code_works_once(deps: Dependencies) -> None:
    _, _, codes = await with_authenticator(deps)
    assert len(set(codes)) == 10
    token = await held(deps)
    typed = codes[3].upper().replace("-", " ")  # as copied from paper
    await handlers.complete_log_in(mfa.CompleteLogIn(token, recovery_code=typed), deps, CTX)
    with pytest.raises(Unauthenticated, match="recovery code"):
        await handlers.complete_log_in(mfa.CompleteLogIn(token, recovery_code=codes[3]), deps, CTX)
    await handlers.complete_log_in(mfa.CompleteLogIn(token, recovery_code=codes[4]), deps, CTX)


async def test_a_wrong_password_says_nothing_of_a_second_factor(deps: Dependencies) -> None:
    await with_authenticator(deps, "ann")
    await signed_up(deps, "ben")
    answers = []
    for handle in ("ann", "ben", "nobody"):
        with pytest.raises(Unauthenticated) as caught:
            await log_in(idm.LogIn(handle, "not the password at all"), deps, CTX)
        answers.append((type(caught.value), caught.value.message))
    assert len(set(answers)) == 1


async def test_a_pending_token_is_not_a_session_and_not_for_setting_up(deps: Dependencies) -> None:
    await with_authenticator(deps)
    token = await held(deps)
    with pytest.raises(Unauthenticated, match="expired or is not valid"):
        handlers.pending(deps, token, handlers.ENROL)
    with pytest.raises(Unauthenticated, match="expired or is not valid"):
        await handlers.complete_log_in(mfa.CompleteLogIn(token + "x", code="123456"), deps, CTX)


async def test_turning_the_app_off_needs_the_password_and_a_code(deps: Dependencies) -> None:
    user_id, secret, codes = await with_authenticator(deps)
    later(deps, 30)
    code = current_code(secret, deps.clock.now())
    with pytest.raises(ValidationFailed, match="password is not right"):
        await handlers.disable_totp(mfa.DisableTotp(user_id, "wrong password!", code), deps, CTX)
    with pytest.raises(ValidationFailed, match="give the code"):
        await handlers.disable_totp(mfa.DisableTotp(user_id, PASSWORD), deps, CTX)
    await handlers.disable_totp(
        mfa.DisableTotp(user_id, PASSWORD, recovery_code=codes[0]), deps, CTX
    )

    session = (await log_in(idm.LogIn("ann", PASSWORD), deps, CTX)).value
    assert isinstance(session, NewSession)  # no second step any more
    token = MfaSecrets(KEY).pending_token(PendingClaims(user_id, "ann", handlers.SECOND_FACTOR))
    with pytest.raises(Unauthenticated):  # and the old codes are gone with it
        await handlers.complete_log_in(mfa.CompleteLogIn(token, recovery_code=codes[1]), deps, CTX)


async def test_when_required_an_account_sets_up_a_factor_before_its_session() -> None:
    db = SqliteDatabase(None)
    deps = make_deps(db, required=True)
    user_id = await signed_up(deps)
    with pytest.raises(SecondFactorRequired) as caught:
        await log_in(idm.LogIn("ann", PASSWORD), deps, CTX)
    assert caught.value.methods == ["ENROL_TOTP"]
    claims = handlers.pending(deps, caught.value.mfa_token, handlers.ENROL)
    with pytest.raises(Unauthenticated):  # not a second step: there is no factor yet
        handlers.pending(deps, caught.value.mfa_token, handlers.SECOND_FACTOR)

    setup = (
        await handlers.start_totp_enrolment(mfa.StartTotpEnrolment(user_id, "ann"), deps, CTX)
    ).value
    wrong = handlers.ConfirmTotp(mfa.ConfirmTotpEnrolment(user_id, "000000"), claims)
    with pytest.raises(ValidationFailed, match="does not match"):
        await handlers.confirm_totp_enrolment(wrong, deps, CTX)
    confirm = mfa.ConfirmTotpEnrolment(user_id, current_code(setup.secret, deps.clock.now()))
    on = (
        await handlers.confirm_totp_enrolment(handlers.ConfirmTotp(confirm, claims), deps, CTX)
    ).value
    assert isinstance(on.session, NewSession)

    with pytest.raises(Forbidden, match="requires two-step sign-in"):
        await handlers.disable_totp(
            mfa.DisableTotp(user_id, PASSWORD, recovery_code=on.recovery_codes[0]), deps, CTX
        )
    await db.close()


def test_sign_in_settings_are_checked_when_read() -> None:
    with pytest.raises(ConfigError, match="needs HUGMOOD_OIDC_CLIENT_ID"):
        Settings.from_env({"HUGMOOD_OIDC_ISSUER": "https://id.example"})
    with pytest.raises(ConfigError, match="https:// URL in production"):
        Settings.from_env(
            {
                "HUGMOOD_ENV": "production",
                "HUGMOOD_SECRET_KEY": "s" * 40,
                "HUGMOOD_OIDC_ISSUER": "http://id.example",
                "HUGMOOD_OIDC_CLIENT_ID": "hugmood",
                "HUGMOOD_OIDC_CLIENT_SECRET": "secret",
            }
        )
    with pytest.raises(ConfigError, match="HUGMOOD_SESSION_TTL_HOURS"):
        Settings.from_env({"HUGMOOD_SESSION_TTL_HOURS": "0"})
    with pytest.raises(ConfigError, match="HUGMOOD_WEBAUTHN_ORIGINS"):
        Settings.from_env({"HUGMOOD_WEBAUTHN_ORIGINS": "localhost:8000"})
    settings = Settings.from_env(
        {"HUGMOOD_PUBLIC_URL": "https://hug.example/", "HUGMOOD_MFA_REQUIRED": "true"}
    )
    assert settings.mfa_required
    assert (settings.passkey_rp_id(), settings.passkey_origins()) == (
        "hug.example",
        ["https://hug.example"],
    )
    assert settings.oidc_redirect() == "https://hug.example/oidc/callback"


async def test_a_passkey_challenge_is_answered_once_and_only_by_its_own_account() -> None:
    db = SqliteDatabase(None)
    deps = replace(
        make_deps(db),
        passkeys=PasskeyCeremonies(
            rp_id="localhost", rp_name="HugMood", origins=["http://localhost:8000"]
        ),
    )
    ann, ben = await signed_up(deps, "ann"), await signed_up(deps, "ben")
    started = await handlers.start_passkey_registration(
        mfa.StartPasskeyRegistration(ann, "ann", "Ann"), deps, CTX
    )
    options = json.loads(started.value.options_json)
    assert options["rp"] == {"id": "localhost", "name": "HugMood"}
    challenge_id = started.value.challenge_id

    def finish(user_id: str) -> mfa.FinishPasskeyRegistration:
        return mfa.FinishPasskeyRegistration(user_id, challenge_id, '{"id": "x"}', "Laptop")

    with pytest.raises(Unauthenticated, match="already answered"):  # not ben's to answer
        await handlers.finish_passkey_registration(finish(ben), deps, CTX)
    with pytest.raises(ValidationFailed, match="could not be verified"):
        await handlers.finish_passkey_registration(finish(ann), deps, CTX)
    with pytest.raises(Unauthenticated, match="already answered"):  # used, even by a failure
        await handlers.finish_passkey_registration(finish(ann), deps, CTX)
    await db.close()


async def test_one_source_may_start_only_so_many_sign_ins_with_another_provider() -> None:
    db = SqliteDatabase(None)
    provider = OidcProvider(
        name="Nowhere ID",
        issuer="http://127.0.0.1:9",  # the discard port: nothing answers
        client_id="hugmood",
        client_secret="secret",
        redirect_url="http://127.0.0.1:8000/oidc/callback",
    )
    deps = replace(make_deps(db), oidc=provider)
    for _ in range(STARTS_PER_MINUTE):
        with pytest.raises(ValidationFailed, match="Nowhere ID cannot be reached"):
            await start_social_sign_in(oidc.StartSocialSignIn(), deps, CTX)
    with pytest.raises(RateLimited, match="sign-ins with another provider"):
        await start_social_sign_in(oidc.StartSocialSignIn(), deps, CTX)
    await db.close()
