"""Strawberry's FastAPI router (GraphiQL on GET, subscriptions), with HTTP errors as JSON."""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from fastapi.responses import JSONResponse
from strawberry.fastapi import GraphQLRouter


class HugMoodGraphQLRouter(GraphQLRouter[Any, None]):
    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        """Malformed requests (bad JSON, no query, wrong method) get a JSON error too."""
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as e:
            return JSONResponse(
                {"errors": [{"message": e.reason, "extensions": {"code": "VALIDATION"}}]},
                status_code=e.status_code,
            )
