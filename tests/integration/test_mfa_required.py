"""The operator's rule (HUGMOOD_MFA_REQUIRED) over GraphQL, in process: a sign-in without a
second factor sets up an authenticator app with its pending token, then gets its session."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from hugmood.bootstrap import open_hugmood
from hugmood.config import Settings
from hugmood.domain import identity as idm
from hugmood.entrypoints.asgi import create_app
from hugmood.security.mfa import current_code
from tests.conftest import unique

PASSWORD = "a long enough password"
LOG_IN = """
mutation($handle: String!, $password: String!) {
  logIn(handle: $handle, password: $password) { token }
}"""
START_SETUP = """
mutation($mfaToken: String) { startAuthenticatorSetup(mfaToken: $mfaToken) { secret } }"""
CONFIRM_SETUP = """
mutation($code: String!, $mfaToken: String) {
  confirmAuthenticatorSetup(code: $code, mfaToken: $mfaToken) {
    recoveryCodes session { token account { handle } }
  }
}"""
COMPLETE = """
mutation($mfaToken: String!, $code: String) { completeLogIn(mfaToken: $mfaToken, code: $code) { token } }"""
FACTORS = "{ mySecondFactors { authenticatorApp required } }"
TURN_OFF = """
mutation($password: String!, $recoveryCode: String) {
  turnOffAuthenticator(password: $password, recoveryCode: $recoveryCode)
}"""


async def test_when_required_a_sign_in_sets_up_the_app_before_its_session(tmp_path: Path) -> None:
    settings = replace(Settings(database_url="memory", data_dir=tmp_path), mfa_required=True)
    async with open_hugmood(settings) as core:
        handle = unique("dee")
        await core.bus.handle(idm.RegisterUser(handle, "Dee", PASSWORD, "eu-west"))
        app = create_app(settings, core=core)
        app.state.core = core
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hugmood"
        ) as http:

            async def gql(query: str, token: str | None = None, **variables: Any) -> Any:
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                body = {"query": query, "variables": variables}
                answer = await http.post("/graphql", json=body, headers=headers)
                assert answer.status_code == 200, answer.text
                return answer.json()

            held = (await gql(LOG_IN, handle=handle, password=PASSWORD))["errors"][0]
            assert held["extensions"]["code"] == "MFA_REQUIRED"
            assert held["extensions"]["methods"] == ["ENROL_TOTP"]
            assert "set up an authenticator app" in held["message"]
            mfa_token = held["extensions"]["mfaToken"]
            # The token sets a factor up; it is neither a session nor a second step.
            not_a_session = (await gql(FACTORS, mfa_token))["errors"][0]
            assert not_a_session["extensions"]["code"] == "UNAUTHENTICATED"
            not_a_step = (await gql(COMPLETE, mfaToken=mfa_token, code="123456"))["errors"][0]
            assert not_a_step["extensions"]["code"] == "UNAUTHENTICATED"

            setup = await gql(START_SETUP, mfaToken=mfa_token)
            secret = setup["data"]["startAuthenticatorSetup"]["secret"]
            code = current_code(secret, datetime.now(UTC))
            on = (await gql(CONFIRM_SETUP, code=code, mfaToken=mfa_token))["data"]
            session = on["confirmAuthenticatorSetup"]["session"]
            assert session["account"]["handle"] == handle
            factors = (await gql(FACTORS, session["token"]))["data"]["mySecondFactors"]
            assert factors == {"authenticatorApp": True, "required": True}

            recovery = on["confirmAuthenticatorSetup"]["recoveryCodes"][0]
            off = await gql(TURN_OFF, session["token"], password=PASSWORD, recoveryCode=recovery)
            assert off["errors"][0]["extensions"]["code"] == "FORBIDDEN"
            assert "requires two-step sign-in" in off["errors"][0]["message"]
