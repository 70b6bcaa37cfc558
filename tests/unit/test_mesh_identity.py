"""Signed mesh requests without a network: what a service accepts, what it refuses and why,
and how long it remembers a request id against replay."""

from __future__ import annotations

import pytest

from hugmood.mesh.errors import Refused
from hugmood.mesh.identity import (
    CALLER_HEADER,
    REQUEST_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    USER_HEADER,
    RequestSigner,
    RequestVerifier,
    mesh_key,
)

KEY = mesh_key("a unit-test secret of thirty-two characters", "eu-west")
SUBJECT = "hugmood.eu-west.svc.moods.history"
BODY = b'{"ownerId": "u1"}'


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def refusal(verifier: RequestVerifier, headers: dict[str, str], body: bytes = BODY) -> str:
    with pytest.raises(Refused) as refused:
        verifier.verify(SUBJECT, headers, body)
    assert refused.value.code in ("401", "503")
    return refused.value.description


def test_a_signed_request_names_its_caller_and_user() -> None:
    clock = Clock()
    headers = RequestSigner(KEY, "edge:host:1", clock=clock).headers(SUBJECT, BODY, user_id="u1")
    caller = RequestVerifier(KEY, clock=clock).verify(SUBJECT, headers, BODY)
    assert (caller.service, caller.user_id) == ("edge:host:1", "u1")
    assert caller.request_id == headers[REQUEST_ID_HEADER]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({CALLER_HEADER: ""}, "unsigned request: no Hugmood-Mesh-Caller header"),
        ({SIGNATURE_HEADER: ""}, "unsigned request: no Hugmood-Mesh-Signature header"),
        ({CALLER_HEADER: "edge host"}, "the caller or user header is malformed"),
        ({USER_HEADER: "u1\nx"}, "the caller or user header is malformed"),
        ({REQUEST_ID_HEADER: "X" * 32}, "the request id must be 32 lower-case hex digits"),
        ({TIMESTAMP_HEADER: "١٢٣"}, "the timestamp must be milliseconds since the epoch"),
        ({SIGNATURE_HEADER: "v1=00"}, "the signature does not verify"),
        ({SIGNATURE_HEADER: "v1=ü"}, "the signature does not verify"),
        ({USER_HEADER: "u2"}, "the signature does not verify"),
    ],
)
def test_a_request_with_a_header_missing_malformed_or_changed_is_refused(
    change: dict[str, str], reason: str
) -> None:
    clock = Clock()
    headers = RequestSigner(KEY, "edge:host:1", clock=clock).headers(SUBJECT, BODY, user_id="u1")
    assert refusal(RequestVerifier(KEY, clock=clock), {**headers, **change}) == reason


def test_an_id_is_refused_again_while_its_signature_is_fresh_and_forgotten_after() -> None:
    clock = Clock()
    signer, verifier = RequestSigner(KEY, "w:h:1", clock=clock), RequestVerifier(KEY, clock=clock)
    headers = signer.headers(SUBJECT, BODY, user_id=None)
    verifier.verify(SUBJECT, headers, BODY)
    clock.now += 29
    assert "replay" in refusal(verifier, headers)
    clock.now += 2
    assert "signed more than 30 s" in refusal(verifier, headers)
    clock.now += 60
    verifier.verify(SUBJECT, signer.headers(SUBJECT, BODY, user_id=None), BODY)
    assert len(verifier._seen) == 1, "expired ids are forgotten"


def test_a_full_replay_memory_refuses_new_requests_rather_than_forgetting() -> None:
    clock = Clock()
    signer = RequestSigner(KEY, "w:h:1", clock=clock)
    verifier = RequestVerifier(KEY, clock=clock, max_remembered=2)
    for _ in range(2):
        verifier.verify(SUBJECT, signer.headers(SUBJECT, BODY, user_id=None), BODY)
    assert "retry later" in refusal(verifier, signer.headers(SUBJECT, BODY, user_id=None))


def test_the_key_depends_on_the_secret_and_the_region() -> None:
    assert mesh_key("s" * 32, "eu-west") != mesh_key("s" * 32, "us-east")
    assert mesh_key("s" * 32, "eu-west") != mesh_key("t" * 32, "eu-west")
    with pytest.raises(ValueError, match="HUGMOOD_SECRET_KEY"):
        mesh_key("", "eu-west")
