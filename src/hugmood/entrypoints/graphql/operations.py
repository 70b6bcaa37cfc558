"""Operations sent over a socket: parsed and validated once per distinct text (with the same
limits as over HTTP), and a subscription's selection run over one event at a time.

Queries and mutations sent over a socket go through `Schema.execute`, exactly as over HTTP.
A subscription's source is a `Feed`; each payload it yields is the root value for one run of
the operation's selection set (the subscription field resolves to the payload itself).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
    validate,
)

from hugmood.entrypoints.graphql.errors import map_error

CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class Prepared:
    """A valid operation ready to run."""

    document: DocumentNode
    kind: OperationType
    root_field: str
    """The first root field: for a subscription, the one field naming its feed."""


class Operations:
    def __init__(
        self,
        schema: strawberry.Schema,
        limits: Sequence[type[ASTValidationRule]],
        *,
        max_tokens: int,
        development: bool,
    ) -> None:
        self.schema = schema
        self._graphql = schema._schema
        self._rules = [*specified_rules, *limits]
        self._max_tokens = max_tokens
        self._development = development
        self._cache: OrderedDict[tuple[str, str | None], Prepared | list[GraphQLError]] = (
            OrderedDict()
        )

    def prepare(self, query: str, operation_name: str | None) -> Prepared | list[GraphQLError]:
        """The operation, or the errors that make it invalid (as HugMood reports them)."""
        key = (query, operation_name)
        found = self._cache.get(key)
        if found is None:
            found = self._prepare(query, operation_name)
            self._cache[key] = found
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return found

    def _prepare(self, query: str, operation_name: str | None) -> Prepared | list[GraphQLError]:
        try:
            document = parse(query, max_tokens=self._max_tokens)
        except GraphQLError as e:
            return [self.mapped(e)]
        errors = validate(self._graphql, document, self._rules)
        if errors:
            return [self.mapped(e) for e in errors]
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is not None:
            operations = [o for o in operations if o.name and o.name.value == operation_name]
        if len(operations) != 1:
            why = (
                f"no operation named {operation_name!r}"
                if operation_name is not None
                else "several operations: say which one with operationName"
            )
            return [self.mapped(GraphQLError(why))]
        (operation,) = operations
        fields = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
        root = fields[0].name.value if fields else ""
        return Prepared(document, operation.operation, root)

    async def run_event(
        self,
        prepared: Prepared,
        payload: Any,
        context: Any,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> dict[str, Any]:
        """The subscription's selection over one payload, as a `next` message payload.

        Strawberry's subscription fields resolve to the event itself, so the payload is the
        root value.
        """
        result = execute(
            self._graphql,
            prepared.document,
            root_value=payload,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
        )
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        return self.formatted(result)

    def formatted(self, result: Any) -> dict[str, Any]:
        """A result (graphql-core's or Strawberry's) as a `next` payload, errors mapped."""
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [self.mapped(e).formatted for e in result.errors]
        return body

    def mapped(self, error: GraphQLError) -> GraphQLError:
        return map_error(error, development=self._development)
