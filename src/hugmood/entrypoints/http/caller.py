"""Who is calling and from where, worked out once for every entry point: the command context
a request or socket carries into the bus, and the signed-in user of a plain HTTP request."""

from __future__ import annotations

import time

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import Scope

from hugmood import __version__
from hugmood.application.eventmapping import CommandContext
from hugmood.application.queries.identity import authenticate
from hugmood.bootstrap import HugMood
from hugmood.domain.errors import Unauthenticated


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if well-formed."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def command_context(scope: Scope, *, region: str) -> CommandContext:
    """The envelope metadata a request or socket gives the commands it sends (bounded)."""
    headers = Headers(scope=scope)
    return CommandContext(
        correlation_id=scope.get("state", {}).get("request_id") or "",
        device_id=(headers.get("x-hugmood-device") or "")[:100] or None,
        app_version=(headers.get("x-hugmood-app-version") or __version__)[:40],
        traceparent=(headers.get("traceparent") or "")[:100] or None,
        region=region,
        source_address=(scope.get("client") or ("", 0))[0],
    )


async def signed_in(core: HugMood, request: Request) -> str:
    """The user id of the session in the request's Bearer token (`UNAUTHENTICATED` without)."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise Unauthenticated(
            "sign in first: send the session token from logIn as Authorization: Bearer <token>"
        )
    deps = core.deps
    principal = await authenticate(
        deps.readmodels, deps.tokens.digest(token), int(time.time() * 1000)
    )
    if principal is None:
        raise Unauthenticated("your session has ended or is not valid; sign in again")
    return principal.user_id
