"""Strawberry's FastAPI router, for what is left to it: GraphiQL on `GET /graphql` in
development (HugMood's own page and files, `graphql.graphiql`). Queries and mutations take
`endpoint.GraphQLEndpoint` (`POST`); sockets take `entrypoints.ws`, which sits in front of
every middleware.
"""

from __future__ import annotations

from typing import Any

from cross_web import HTTPException
from fastapi.responses import HTMLResponse, JSONResponse
from strawberry.fastapi import GraphQLRouter

from hugmood.entrypoints.graphql.graphiql import graphiql_page


class HugMoodGraphQLRouter(GraphQLRouter[Any, None]):
    async def render_graphql_ide(self, request: Any) -> HTMLResponse:
        """Strawberry's page loads GraphiQL from a public CDN; ours from this server."""
        return graphiql_page()

    async def run(self, request: Any, context: Any = None, root_value: Any = None) -> Any:
        """Malformed requests (wrong method, no query) get a JSON error too."""
        try:
            return await super().run(request, context=context, root_value=root_value)
        except HTTPException as e:
            return JSONResponse(
                {"errors": [{"message": e.reason, "extensions": {"code": "VALIDATION"}}]},
                status_code=e.status_code,
            )
