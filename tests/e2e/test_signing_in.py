"""Signing in over GraphQL and the CLI: an authenticator app and recovery codes (the
operator's rule that every account has one: tests/integration/test_mfa_required.py), and
another provider (OpenID Connect) against a local provider (oidc-provider-mock on a private
port): linking only with the owner's password, state and nonce checked, each answer used
once, the second step still asked for."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from hugmood.client.cli_mfa import CODE_ENV
from hugmood.security.mfa import current_code
from tests.conftest import unique
from tests.e2e.client import (
    LOG_IN,
    ME,
    PASSWORD,
    GraphQLClient,
    GraphQLFailure,
    register,
    sign_up,
)
from tests.e2e.server import HugMoodServer, run_cli, running_server
from tests.e2e.test_client_cli import client_env

pytestmark = [
    pytest.mark.e2e,
    # The mock provider (in this process) still calls Authlib's deprecated APIs; HugMood's
    # own code imports none of them (security/oidc.py uses joserfc).
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

START_SETUP = """
mutation($mfaToken: String) { startAuthenticatorSetup(mfaToken: $mfaToken) { secret otpauthUri } }
"""
CONFIRM_SETUP = """
mutation($code: String!, $mfaToken: String) {
  confirmAuthenticatorSetup(code: $code, mfaToken: $mfaToken) {
    recoveryCodes session { token account { handle } }
  }
}"""
COMPLETE = """
mutation($mfaToken: String!, $code: String, $recoveryCode: String) {
  completeLogIn(mfaToken: $mfaToken, code: $code, recoveryCode: $recoveryCode) {
    token account { handle }
  }
}"""
FACTORS = "{ mySecondFactors { authenticatorApp recoveryCodesLeft required } }"
START = "mutation { startSocialSignIn }"
FINISH = """
mutation($state: String!, $code: String!) {
  finishSocialSignIn(state: $state, code: $code) { token account { handle } }
}"""
LINK = """
mutation($linkToken: String!, $password: String!) {
  linkSocialSignIn(linkToken: $linkToken, password: $password)
}"""
TURN_OFF = """
mutation($password: String!, $code: String, $recoveryCode: String) {
  turnOffAuthenticator(password: $password, code: $code, recoveryCode: $recoveryCode)
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HugMoodServer]:
    """One server for the module, with a local OpenID Connect provider to sign in with."""
    # Imported here, where the warnings filter above applies (it uses deprecated Authlib).
    from oidc_provider_mock import run_server_in_thread

    root: Path = tmp_path_factory.mktemp("signing-in")
    with run_server_in_thread(require_nonce=True) as provider:
        settings = {
            "HUGMOOD_LOGIN_MAX_FAILURES": "4",
            "HUGMOOD_OIDC_ISSUER": f"http://localhost:{provider.server_port}",
            "HUGMOOD_OIDC_CLIENT_ID": "hugmood-test",
            "HUGMOOD_OIDC_CLIENT_SECRET": "not a real secret",
            "HUGMOOD_OIDC_NAME": "Mock ID",
        }
        with running_server(root / "data", root / "logs", settings) as running:
            yield running


def code_at(secret: str, seconds_from_now: float = 0) -> str:
    return current_code(secret, datetime.now(UTC) + timedelta(seconds=seconds_from_now))


def held_at_second_step(server: HugMoodServer, handle: str) -> GraphQLFailure:
    refusal = GraphQLClient(server).failure(LOG_IN, handle=handle, password=PASSWORD)
    assert refusal.code == "MFA_REQUIRED", refusal
    return refusal


def complete(server: HugMoodServer, token: str, **second: Any) -> dict[str, Any] | GraphQLFailure:
    return GraphQLClient(server).attempt(COMPLETE, mfaToken=token, **second)


def test_an_authenticator_app_makes_sign_in_take_a_code_each_usable_once(
    server: HugMoodServer,
) -> None:
    ann = sign_up(server, "ann")
    setup = ann.api(START_SETUP)["startAuthenticatorSetup"]
    assert setup["otpauthUri"].startswith("otpauth://totp/HugMood:")
    assert setup["secret"] in setup["otpauthUri"]
    wrong_first = ann.api.failure(CONFIRM_SETUP, code="000000")
    assert (wrong_first.code, wrong_first.extensions.get("field")) == ("VALIDATION", "code")
    on = ann.api(CONFIRM_SETUP, code=code_at(setup["secret"]))["confirmAuthenticatorSetup"]
    assert len(on["recoveryCodes"]) == 10 and on["session"] is None
    assert ann.api(FACTORS)["mySecondFactors"] == {
        "authenticatorApp": True,
        "recoveryCodesLeft": 10,
        "required": False,
    }

    held = held_at_second_step(server, ann.handle)
    assert held.extensions["methods"] == ["TOTP", "RECOVERY_CODE"]
    mfa_token = held.extensions["mfaToken"]
    # The pending token is no session.
    assert GraphQLClient(server, mfa_token).failure(ME).code == "UNAUTHENTICATED"

    wrong = complete(server, mfa_token, code="123456")
    assert isinstance(wrong, GraphQLFailure) and wrong.code == "UNAUTHENTICATED"
    assert "code is not right" in wrong.message

    # The setup used the current step's code; the next step's is within the window.
    next_code = code_at(setup["secret"], 30)
    signed_in = complete(server, mfa_token, code=next_code)
    assert isinstance(signed_in, dict)
    phone = GraphQLClient(server, signed_in["completeLogIn"]["token"])
    assert phone(ME)["me"]["handle"] == ann.handle

    replayed = complete(server, mfa_token, code=next_code)
    assert isinstance(replayed, GraphQLFailure) and replayed.code == "UNAUTHENTICATED"

    recovery = on["recoveryCodes"][0]
    assert isinstance(complete(server, mfa_token, recoveryCode=recovery), dict)
    again = complete(server, mfa_token, recoveryCode=recovery)
    assert isinstance(again, GraphQLFailure) and "already used" in again.message
    assert phone(FACTORS)["mySecondFactors"]["recoveryCodesLeft"] == 9

    forged = complete(server, mfa_token[:-3] + "abc", recoveryCode=on["recoveryCodes"][1])
    assert isinstance(forged, GraphQLFailure) and forged.code == "UNAUTHENTICATED"
    assert "sign in with your password again" in forged.message

    # Turning it off takes the password and a code; then the password alone signs in.
    off = phone.failure(TURN_OFF, password="not the password at all", code="123456")
    assert (off.code, off.extensions.get("field")) == ("VALIDATION", "password")
    assert phone(TURN_OFF, password=PASSWORD, recoveryCode=on["recoveryCodes"][2])
    plain = GraphQLClient(server)(LOG_IN, handle=ann.handle, password=PASSWORD)
    assert plain["logIn"]["account"]["handle"] == ann.handle


def test_without_the_password_nobody_learns_whether_an_account_has_a_second_factor(
    server: HugMoodServer,
) -> None:
    with_app = sign_up(server, "bea")
    secret = with_app.api(START_SETUP)["startAuthenticatorSetup"]["secret"]
    with_app.api(CONFIRM_SETUP, code=code_at(secret))
    without = unique("cal")
    register(server, without)

    answers = [
        GraphQLClient(server).failure(LOG_IN, handle=h, password="not the password at all")
        for h in (with_app.handle, without, unique("nobody"))
    ]
    assert {(a.code, a.message, str(a.extensions)) for a in answers} == {
        (answers[0].code, answers[0].message, str(answers[0].extensions))
    }
    assert answers[0].code == "UNAUTHENTICATED"
    assert "mfaToken" not in answers[0].extensions


def test_the_command_line_sets_the_app_up_and_asks_for_the_code_when_signing_in(
    server: HugMoodServer, tmp_path: Path
) -> None:
    eve = sign_up(server, "eve")
    env = client_env(server, tmp_path / "vault.sqlite")
    assert run_cli("login", "--handle", eve.handle, env=env).returncode == 0

    # `hugmood mfa enable` shows the key, then asks for a code from it.
    enable = subprocess.Popen(
        [sys.executable, "-m", "hugmood", "mfa", "enable"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert enable.stdout is not None
    shown = ""
    while "otpauth://" not in shown and enable.poll() is None:
        shown += enable.stdout.readline()
    found = re.search(r"secret=([A-Z2-7]+)", shown)
    assert found, shown
    secret = found.group(1)
    out, err = enable.communicate(code_at(secret) + "\n", timeout=60)
    assert enable.returncode == 0, err
    assert "Two-step sign-in is on" in out and len(re.findall(r"^  \w{5}-\w{5}$", out, re.M)) == 10

    wrong = run_cli("login", "--handle", eve.handle, env={**env, CODE_ENV: "000000"})
    assert wrong.returncode != 0 and "code is not right" in " ".join(wrong.stderr.split())
    signed_in = run_cli("login", "--handle", eve.handle, env={**env, CODE_ENV: code_at(secret, 30)})
    assert signed_in.returncode == 0, signed_in.stderr
    assert f"Logged in as {eve.handle}" in signed_in.stdout


# --- another provider (OpenID Connect) ---------------------------------------------------


def at_provider(server: HugMoodServer, subject: str, **change: str) -> dict[str, str]:
    """Start a sign-in, sign in at the provider as `subject` (with `change` made to the
    authorization request on the way), and return what the provider sends back."""
    url = GraphQLClient(server)(START)["startSocialSignIn"]
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["redirect_uri"] == f"{server.url}/oidc/callback"
    assert query["code_challenge_method"] == "S256" and query["state"] and query["nonce"]
    query.update(change)
    authorize = parts._replace(query=urlencode(query)).geturl()
    answer = httpx.post(authorize, data={"sub": subject}, follow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    return {"state": back["state"][0], "code": back["code"][0]}


def finish(server: HugMoodServer, back: dict[str, str]) -> dict[str, Any] | GraphQLFailure:
    return GraphQLClient(server).attempt(FINISH, **back)


def test_an_identity_signs_in_only_once_its_owner_linked_it_with_their_password(
    server: HugMoodServer,
) -> None:
    subject = unique("person")
    first = finish(server, at_provider(server, subject))
    assert isinstance(first, GraphQLFailure) and first.code == "NOT_LINKED"
    assert "log in with your password" in first.message
    link_token = first.extensions["linkToken"]

    ann = sign_up(server, "ann")
    wrong = ann.api.failure(LINK, linkToken=link_token, password="not the password at all")
    assert (wrong.code, wrong.extensions.get("field")) == ("VALIDATION", "password")
    forged = ann.api.failure(LINK, linkToken=link_token[:-2] + "00", password=PASSWORD)
    assert forged.code == "UNAUTHENTICATED"
    assert ann.api(LINK, linkToken=link_token, password=PASSWORD) == {"linkSocialSignIn": True}
    ben = sign_up(server, "ben")
    taken = ben.api.failure(LINK, linkToken=link_token, password=PASSWORD)
    assert taken.code == "CONFLICT"

    back = at_provider(server, subject)
    signed_in = finish(server, back)
    assert isinstance(signed_in, dict)
    assert signed_in["finishSocialSignIn"]["account"]["handle"] == ann.handle

    replayed = finish(server, back)
    assert isinstance(replayed, GraphQLFailure) and replayed.code == "UNAUTHENTICATED"
    assert "state does not match" in replayed.message

    # With an authenticator app on, the provider's word is not enough: the code is asked.
    secret = ann.api(START_SETUP)["startAuthenticatorSetup"]["secret"]
    ann.api(CONFIRM_SETUP, code=code_at(secret))
    held = finish(server, at_provider(server, subject))
    assert isinstance(held, GraphQLFailure) and held.code == "MFA_REQUIRED"


def test_a_wrong_state_or_nonce_is_refused(server: HugMoodServer) -> None:
    subject = unique("person")
    back = at_provider(server, subject)
    made_up = finish(server, {**back, "state": "a state this server never made"})
    assert isinstance(made_up, GraphQLFailure) and made_up.code == "UNAUTHENTICATED"
    assert "state does not match" in made_up.message

    other_nonce = finish(server, at_provider(server, subject, nonce="someone else's nonce"))
    assert isinstance(other_nonce, GraphQLFailure) and other_nonce.code == "UNAUTHENTICATED"
    assert "did not confirm this sign-in" in other_nonce.message
