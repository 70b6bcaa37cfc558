"""Strawberry's FastAPI router, with every error (HTTP-level ones too) in HugMood's shape."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from fastapi import Request
from fastapi.responses import JSONResponse
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLHTTPResponse
from strawberry.types.execution import ExecutionResult

from hugmood.entrypoints.graphql.errors import map_error


class HugMoodGraphQLRouter(GraphQLRouter[Any, None]):
    def __init__(self, *args: Any, development: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._development = development

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        """Malformed requests (bad JSON, no query, wrong method) get a JSON error too."""
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as e:
            return JSONResponse(
                {"errors": [{"message": e.reason, "extensions": {"code": "VALIDATION"}}]},
                status_code=e.status_code,
            )

    async def process_result(
        self, request: Request | Any, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            result.errors = [map_error(e, development=self._development) for e in result.errors]
        return await super().process_result(request, result)
