"""Sign-in with another provider over OpenID Connect (the authorization code flow with PKCE).

Authlib builds the authorization request and the PKCE challenge; joserfc (Authlib's JOSE
library) checks the ID token's signature against the provider's published keys and its
claims: issuer, audience, expiry and the nonce this server chose for this one sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from hugmood.security.ratelimit import SlidingWindowLimiter

STARTS_PER_MINUTE = 20
"""Sign-ins one source may start a minute: each writes an event, and anyone may start one."""
HTTP_TIMEOUT_S = 10.0
METADATA_TTL_S = 3600.0
ID_TOKEN_LEEWAY_S = 60


class OidcRefused(Exception):
    """The provider's answer does not check out (for logs; people get a plain sentence)."""


@dataclass(frozen=True, slots=True)
class OidcStart:
    authorization_url: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True, slots=True)
class OidcIdentity:
    issuer: str
    subject: str
    id_token: str = ""
    """The provider's signed ID token it came from: the home region of the account linked to
    this identity checks it again (`verify`) before it starts a session."""

    @property
    def key(self) -> str:
        """The stream key of this identity (no personal data in a stream name)."""
        return hashlib.sha256(f"{self.issuer}\0{self.subject}".encode()).hexdigest()[:40]


class OidcProvider:
    """One configured provider: where its metadata is, who this server is to it."""

    def __init__(
        self,
        *,
        name: str,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_url: str,
    ) -> None:
        self.name = name
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_url = redirect_url
        self._metadata: dict[str, Any] | None = None
        self.starts = SlidingWindowLimiter(
            limit=STARTS_PER_MINUTE, window_s=60, what="sign-ins with another provider"
        )
        self._metadata_at = 0.0

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._metadata_at > METADATA_TTL_S:
            url = f"{self.issuer}/.well-known/openid-configuration"
            found = await _get_json(url)
            if str(found.get("issuer", "")).rstrip("/") != self.issuer:
                raise OidcRefused("the provider's metadata names another issuer")
            self._metadata, self._metadata_at = found, time.monotonic()
        return self._metadata

    async def start(self) -> OidcStart:
        """A new authorization request: its URL and the secrets to check the answer with."""
        metadata = await self.metadata()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            self.client_id,
            "code",
            redirect_uri=self.redirect_url,
            scope="openid",
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        return OidcStart(url, state, nonce, verifier)

    async def finish(self, *, code: str, nonce: str, code_verifier: str) -> OidcIdentity:
        """Exchange the code, check the ID token (signature, issuer, audience, expiry and
        `nonce`), and return who the provider says signed in."""
        metadata = await self.metadata()
        try:
            async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as http:
                response = await http.post(
                    metadata["token_endpoint"],
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": self.redirect_url,
                        "code_verifier": code_verifier,
                    },
                    auth=(self.client_id, self.client_secret),
                )
        except httpx.HTTPError as e:
            raise OidcRefused(f"the token endpoint could not be reached: {e}") from e
        if response.status_code != 200:
            raise OidcRefused(f"the token endpoint answered HTTP {response.status_code}")
        id_token = response.json().get("id_token")
        if not isinstance(id_token, str):
            raise OidcRefused("the token response has no ID token")
        return await self.verify(id_token, nonce)

    async def verify(self, id_token: str, nonce: str) -> OidcIdentity:
        """Who an ID token says signed in, if the provider signed it for this client, with
        this `nonce`, and it has not expired; `OidcRefused` otherwise."""
        metadata = await self.metadata()
        published: Any = await _get_json(metadata["jwks_uri"])
        keys = KeySet.import_key_set(published)
        try:
            token = jwt.decode(id_token, keys)
            JWTClaimsRegistry(
                leeway=ID_TOKEN_LEEWAY_S,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                exp={"essential": True},
                sub={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        except (JoseError, ValueError) as e:
            raise OidcRefused(f"the ID token does not check out: {e}") from e
        return OidcIdentity(self.issuer, str(token.claims["sub"]), id_token)


async def _get_json(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=HTTP_TIMEOUT_S) as http:
            response = await http.get(url)
    except httpx.HTTPError as e:
        raise OidcRefused(f"{url} could not be reached: {e}") from e
    if response.status_code != 200:
        raise OidcRefused(f"{url} answered HTTP {response.status_code}")
    found = response.json()
    if not isinstance(found, dict):
        raise OidcRefused(f"{url} did not answer a JSON object")
    return found
