"""How the edge reads where a request goes before anyone is signed in (`entrypoints.regional`):
the routing hints a GraphQL request names (`handle`, `mfaToken`, `country`, `homeRegion`, a
reset's `token`) as arguments or input fields, literal or in variables; whether it only asks
what every region must be asked (a password reset by e-mail address); and the token a
GraphQL socket's `connection_init` carries. Nothing here trusts what it reads: the region's
own app checks everything again."""

from __future__ import annotations

import contextlib

import orjson
from graphql import (
    FieldNode,
    GraphQLError,
    ObjectFieldNode,
    OperationDefinitionNode,
    OperationType,
    StringValueNode,
    ValueNode,
    VariableNode,
    parse,
    visit,
)
from graphql.language import ArgumentNode, Visitor
from starlette.types import Message

ROUTING_HINTS = ("handle", "mfaToken", "country", "homeRegion", "token")
"""The arguments that place a request made before signing in (`token`: a password reset's)."""
ASKED_OF_EVERY_REGION = frozenset({"requestPasswordReset"})
"""Mutations made before signing in whose argument (an e-mail address) no directory places:
asked of every region, each of which answers alike whether or not it knows it."""


def asked_of_every_region(body: bytes) -> bool:
    """Whether a GraphQL request only makes mutations to ask of every region (and so may
    be): a request that also does anything else goes where it would have gone."""
    if not any(name.encode() in body for name in ASKED_OF_EVERY_REGION):
        return False
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    query = request.get("query") if isinstance(request, dict) else None
    if not isinstance(query, str) or len(query) > 10_000:
        return False
    try:
        document = parse(query, no_location=True)
    except GraphQLError:
        return False  # the default region's app answers what is wrong with it
    return all(
        isinstance(operation, OperationDefinitionNode)
        and operation.operation == OperationType.MUTATION
        and all(
            isinstance(field, FieldNode) and field.name.value in ASKED_OF_EVERY_REGION
            for field in operation.selection_set.selections
        )
        for operation in document.definitions
    )


def hints_of(body: bytes) -> dict[str, str]:
    """`handle`, `country` and `homeRegion` as a GraphQL request names them: as arguments
    (literal, or a variable), or as fields of an input object (literal, or in a variable);
    nothing for a body that is not a GraphQL request."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(request, dict):
        return {}
    variables = request.get("variables")
    variables = variables if isinstance(variables, dict) else {}
    hints: dict[str, str] = {}
    query = request.get("query")
    if isinstance(query, str) and len(query) <= 10_000:
        with contextlib.suppress(GraphQLError):  # a malformed query: the region's app answers
            visit(parse(query, no_location=True), _ArgumentHints(hints, variables))
    for value in variables.values():
        if isinstance(value, dict):
            _from_fields(value, hints)
    return hints


def _from_fields(value: dict[str, object], hints: dict[str, str], depth: int = 0) -> None:
    for key, item in value.items():
        if key in ROUTING_HINTS and isinstance(item, str):
            hints.setdefault(key, item)
        elif isinstance(item, dict) and depth < 4:
            _from_fields(item, hints, depth + 1)


class _ArgumentHints(Visitor):
    def __init__(self, hints: dict[str, str], variables: dict[str, object]) -> None:
        super().__init__()
        self.hints = hints
        self.variables = variables

    def enter_argument(self, node: ArgumentNode, *_: object) -> None:
        self._take(node.name.value, node.value)

    def enter_object_field(self, node: ObjectFieldNode, *_: object) -> None:
        self._take(node.name.value, node.value)

    def _take(self, name: str, value: ValueNode) -> None:
        if name not in ROUTING_HINTS:
            return
        if isinstance(value, StringValueNode):
            self.hints.setdefault(name, value.value)
        elif isinstance(value, VariableNode):
            given = self.variables.get(value.name.value)
            if isinstance(given, str):
                self.hints.setdefault(name, given)


def init_token(message: Message) -> str | None:
    try:
        init = orjson.loads(message.get("text") or message.get("bytes") or b"")
    except orjson.JSONDecodeError:
        return None
    payload = init.get("payload") if isinstance(init, dict) else None
    if not isinstance(payload, dict):
        return None
    token = payload.get("authorization") or payload.get("token")
    if isinstance(token, str) and token.lower().startswith("bearer "):
        token = token[7:].strip()
    return token if isinstance(token, str) else None
