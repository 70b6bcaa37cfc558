"""`POST /graphql`: JSON in, one schema execution, JSON out — and nothing else on the path.

Strawberry's router still serves GraphiQL (`GET`); queries and mutations take this thinner
path, which parses with orjson, skips per-request dependency injection, runs the operation
through `graphql.operations.Operations` (parsed and validated once per text) and maps every error
to HugMood's shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from hugmood.entrypoints.graphql.context import RequestContext
from hugmood.entrypoints.graphql.operations import Operations

ContextFactory = Callable[[Request], Awaitable[RequestContext]]


def _refuse(status: int, message: str) -> Response:
    body = {"errors": [{"message": message, "extensions": {"code": "VALIDATION"}}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class GraphQLEndpoint:
    def __init__(self, operations: Operations, context: ContextFactory) -> None:
        self._operations = operations
        self._context = context

    async def handle(self, request: Request) -> Response:
        content_type = request.headers.get("content-type", "")
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            return _refuse(415, "send the GraphQL request as JSON (Content-Type: application/json)")
        try:
            payload: Any = orjson.loads(await request.body())
        except orjson.JSONDecodeError as e:
            return _refuse(400, f"the request body is not valid JSON ({e})")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return _refuse(400, 'send a JSON object with a "query" string')
        variables, operation = payload.get("variables"), payload.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            return _refuse(400, '"variables" must be a JSON object')
        if operation is not None and not isinstance(operation, str):
            return _refuse(400, '"operationName" must be a string')
        body = await self._operations.execute(
            payload["query"], variables, await self._context(request), operation
        )
        return Response(orjson.dumps(body), media_type="application/json")
