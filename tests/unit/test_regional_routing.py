"""Which requests an edge asks of every region: only ones that do nothing but ask for a
password reset (a request that also signs someone up must not sign them up everywhere)."""

from __future__ import annotations

import orjson
import pytest

from hugmood.entrypoints.routing_hints import asked_of_every_region


def request(query: str, **variables: object) -> bytes:
    return orjson.dumps({"query": query, "variables": variables})


@pytest.mark.parametrize(
    "body",
    [
        request('mutation { requestPasswordReset(email: "ada@example.org") }'),
        request("mutation($e: String!) { requestPasswordReset(email: $e) }", e="a@b.org"),
        request('mutation Ask { a: requestPasswordReset(email: "a@b.org") }'),
    ],
)
def test_a_request_that_only_asks_for_a_reset_is_asked_of_every_region(body: bytes) -> None:
    assert asked_of_every_region(body)


@pytest.mark.parametrize(
    "body",
    [
        request(
            'mutation { requestPasswordReset(email: "a@b.org") '
            'register(input: {handle: "ada", displayName: "A", password: "p"}) { handle } }'
        ),
        request('mutation { requestPasswordReset(email: "a@b.org") __typename }'),
        request('mutation { ...F } fragment F on Mutation { requestPasswordReset(email: "x") }'),
        request('query { requestPasswordReset(email: "a@b.org") }'),
        request('mutation { requestPasswordReset(email: "a@b.org") '),
        request('mutation { resetPassword(token: "t", newPassword: "requestPasswordReset") }'),
        b'[{"query": "mutation { requestPasswordReset(email: \\"a@b.org\\") }"}]',
        b"requestPasswordReset",
    ],
)
def test_a_request_that_does_anything_else_goes_where_it_would_have_gone(body: bytes) -> None:
    assert not asked_of_every_region(body)
