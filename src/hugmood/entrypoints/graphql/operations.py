"""Running GraphQL operations, over HTTP and sockets alike: each distinct text is parsed and
validated once (with the depth, alias, cost and token limits), then executed by graphql-core on
Strawberry's schema — the same resolvers and execution context `Schema.execute` uses, without
its per-operation extension hooks (~70 µs an operation).

A subscription's source is a `Feed`; each payload it yields is the root value for one run of
the operation's selection set (Strawberry's subscription fields resolve to the event itself).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from inspect import isawaitable
from typing import Any, TypeGuard, cast

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
from strawberry.execution.is_awaitable import optimized_is_awaitable

from hugmood.entrypoints.graphql.errors import map_error
from hugmood.entrypoints.graphql.execution import hugmood_executor
from hugmood.observability.tracing import operation_span

CACHE_SIZE = 256


@dataclass(frozen=True, slots=True)
class Prepared:
    """A valid operation ready to run."""

    document: DocumentNode
    kind: OperationType
    root_field: str
    """The first root field: for a subscription, the one field naming its feed."""
    name: str | None = None
    """The operation's own name, if it has one (a span's name: `mutation recordMood`)."""


class Operations:
    def __init__(
        self,
        schema: strawberry.Schema,
        limits: Sequence[type[ASTValidationRule]],
        *,
        max_tokens: int,
        max_seconds: float,
        development: bool,
        read_only_when_away: bool = False,
    ) -> None:
        self.schema = schema
        self._graphql = schema._schema
        self._executor = hugmood_executor(schema.execution_context_class, max_seconds)
        self._rules = [*specified_rules, *limits]
        self._max_tokens = max_tokens
        self._development = development
        self._read_only_when_away = read_only_when_away
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
        name = operation.name.value if operation.name else None
        return Prepared(document, operation.operation, root, name)

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None,
        context: Any,
        operation_name: str | None,
    ) -> dict[str, Any]:
        """A query or mutation, as the response body (errors mapped to HugMood's codes)."""
        prepared = self.prepare(query, operation_name)
        if isinstance(prepared, list):
            return {"data": None, "errors": [e.formatted for e in prepared]}
        if prepared.kind is OperationType.SUBSCRIPTION:
            error = GraphQLError(
                "subscriptions run over a WebSocket at /graphql (graphql-transport-ws)",
                extensions={"code": "VALIDATION"},
            )
            return {"data": None, "errors": [error.formatted]}
        with operation_span(prepared.kind.value, prepared.name):
            result = await self._run(prepared, None, context, variables, operation_name)
            return self.formatted(result)  # a bug is reported in the operation's span

    async def _run(
        self,
        prepared: Prepared,
        root: Any,
        context: Any,
        variables: dict[str, Any] | None,
        operation_name: str | None,
    ) -> ExecutionResult:
        result = execute(
            self._graphql,
            prepared.document,
            root_value=root,
            context_value=context,
            variable_values=variables,
            operation_name=operation_name,
            executor_class=self._executor,
            is_awaitable=cast("Callable[[Any], TypeGuard[Awaitable[Any]]]", optimized_is_awaitable),
        )
        if isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        return result

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
        return self.formatted(
            await self._run(prepared, payload, context, variables, operation_name)
        )

    def formatted(self, result: ExecutionResult) -> dict[str, Any]:
        """A result as a response body or `next` payload, errors mapped."""
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [self.mapped(e).formatted for e in result.errors]
        return body

    def mapped(self, error: GraphQLError) -> GraphQLError:
        return map_error(
            error,
            development=self._development,
            read_only_when_away=self._read_only_when_away,
        )
