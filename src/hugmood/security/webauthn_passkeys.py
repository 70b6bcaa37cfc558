"""Passkeys: the WebAuthn ceremonies through the `webauthn` library (py_webauthn).

The server makes each challenge (random, one use, stored in the event log by the handler),
and checks every answer against it, the relying party's id and origin from settings, and the
passkey's signature counter.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

CHALLENGE_TTL_MS = 5 * 60 * 1000
MAX_CREDENTIAL_JSON = 20_000


class PasskeyRefused(Exception):
    """The authenticator's answer does not check out; the message says why, for logs only."""


@dataclass(frozen=True, slots=True)
class VerifiedPasskey:
    credential_id: str
    public_key: str
    sign_count: int


@dataclass(frozen=True, slots=True)
class StoredPasskey:
    credential_id: str
    public_key: str
    sign_count: int


def new_challenge() -> str:
    return bytes_to_base64url(secrets.token_bytes(32))


def _credential(credential_json: str) -> dict[str, object]:
    if len(credential_json) > MAX_CREDENTIAL_JSON:
        raise PasskeyRefused("the credential is too large")
    try:
        value = json.loads(credential_json)
    except ValueError as e:
        raise PasskeyRefused("the credential is not JSON") from e
    if not isinstance(value, dict):
        raise PasskeyRefused("the credential is not a JSON object")
    return value


class PasskeyCeremonies:
    def __init__(self, *, rp_id: str, rp_name: str, origins: list[str]) -> None:
        self.rp_id = rp_id
        self.rp_name = rp_name
        self.origins = origins

    def registration_options(
        self,
        *,
        challenge: str,
        user_id: str,
        handle: str,
        display_name: str,
        existing: list[str],
    ) -> str:
        """`PublicKeyCredentialCreationOptions` as JSON for `navigator.credentials.create`."""
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=self.rp_name,
            user_id=user_id.encode(),
            user_name=handle,
            user_display_name=display_name,
            challenge=base64url_to_bytes(challenge),
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.PREFERRED,
            ),
            exclude_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in existing
            ],
        )
        return options_to_json(options)

    def verify_registration(self, *, challenge: str, credential_json: str) -> VerifiedPasskey:
        try:
            verified = verify_registration_response(
                credential=_credential(credential_json),
                expected_challenge=base64url_to_bytes(challenge),
                expected_rp_id=self.rp_id,
                expected_origin=self.origins,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as e:
            raise PasskeyRefused(str(e)) from e
        return VerifiedPasskey(
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=bytes_to_base64url(verified.credential_public_key),
            sign_count=verified.sign_count,
        )

    def authentication_options(self, *, challenge: str, allowed: list[str]) -> str:
        """`PublicKeyCredentialRequestOptions` as JSON for `navigator.credentials.get`."""
        options = generate_authentication_options(
            rp_id=self.rp_id,
            challenge=base64url_to_bytes(challenge),
            allow_credentials=[
                PublicKeyCredentialDescriptor(id=base64url_to_bytes(c)) for c in allowed
            ],
            user_verification=UserVerificationRequirement.PREFERRED,
        )
        return options_to_json(options)

    def credential_id_of(self, credential_json: str) -> str:
        raw = _credential(credential_json).get("id")
        if not isinstance(raw, str) or not raw or len(raw) > 1400:
            raise PasskeyRefused("the credential has no id")
        return raw

    def verify_authentication(
        self, *, challenge: str, credential_json: str, passkey: StoredPasskey
    ) -> int:
        """The authenticator's new signature count; raises `PasskeyRefused` if the answer
        is not for this challenge, origin and key, or its counter went backwards (a cloned
        authenticator)."""
        try:
            verified = verify_authentication_response(
                credential=_credential(credential_json),
                expected_challenge=base64url_to_bytes(challenge),
                expected_rp_id=self.rp_id,
                expected_origin=self.origins,
                credential_public_key=base64url_to_bytes(passkey.public_key),
                credential_current_sign_count=passkey.sign_count,
            )
        except (WebAuthnException, ValueError, KeyError, TypeError) as e:
            raise PasskeyRefused(str(e)) from e
        return verified.new_sign_count
