"""Signing in with another provider (OpenID Connect) against a local provider
(oidc-provider-mock on a private port): linking only with the owner's password, state and
nonce checked, each answer used once, and the account's second step still asked for."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from tests.conftest import unique
from tests.e2e.client import PASSWORD, GraphQLClient, GraphQLFailure, sign_up
from tests.e2e.server import HugMoodServer, running_server
from tests.e2e.test_two_step_sign_in import CONFIRM_SETUP, START_SETUP, code_at

pytestmark = [
    pytest.mark.e2e,
    # The mock provider (in this process) still calls Authlib's deprecated APIs; HugMood's
    # own code imports none of them (security/oidc.py uses joserfc).
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

START = "mutation { startSocialSignIn }"
FINISH = """
mutation($state: String!, $code: String!) {
  finishSocialSignIn(state: $state, code: $code) { token account { handle } }
}"""
LINK = """
mutation($linkToken: String!, $password: String!) {
  linkSocialSignIn(linkToken: $linkToken, password: $password)
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HugMoodServer]:
    # Imported here, where the warnings filter above applies (it uses deprecated Authlib).
    from oidc_provider_mock import run_server_in_thread

    root: Path = tmp_path_factory.mktemp("social")
    with run_server_in_thread(require_nonce=True) as provider:
        settings = {
            "HUGMOOD_OIDC_ISSUER": f"http://localhost:{provider.server_port}",
            "HUGMOOD_OIDC_CLIENT_ID": "hugmood-test",
            "HUGMOOD_OIDC_CLIENT_SECRET": "not a real secret",
            "HUGMOOD_OIDC_NAME": "Mock ID",
        }
        with running_server(root / "data", root / "logs", settings) as running:
            yield running


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
