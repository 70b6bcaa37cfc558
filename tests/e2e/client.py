"""A small GraphQL client for the e2e tests, and the HugMood calls the scenarios make."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import unique
from tests.e2e.server import HugMoodServer

PASSWORD = "a long enough password"

ENTRY = """
    id author { handle } moodType intensity note privacy recordedAt createdAt updatedAt
    contextFactors { location weather socialContext tags }
"""
RECORD_MOOD = f"mutation($input: RecordMoodInput!) {{ recordMood(input: $input) {{ {ENTRY} }} }}"
MOOD_HISTORY = f"""
query($from: DateTime!, $to: DateTime!, $handle: String, $aggregation: Aggregation!,
      $timeZone: String!) {{
  moodHistory(from: $from, to: $to, handle: $handle, aggregation: $aggregation,
              timeZone: $timeZone) {{
    aggregation
    entries {{ {ENTRY} }}
    buckets {{ start count meanIntensity dominantMood meanEnergy meanPleasantness }}
  }}
}}"""
FRIENDS_FEED = f"query($limit: Int!) {{ friendsFeed(limit: $limit) {{ {ENTRY} }} }}"
USER_PAGE = f"""
query($handle: String!) {{
  user(handle: $handle, recent: 50) {{
    profile {{ handle displayName bio }} relationship friendCount recentMoods {{ {ENTRY} }}
  }}
}}"""
MOOD_ENTRY = f"query($id: ID!) {{ moodEntry(id: $id) {{ {ENTRY} }} }}"
ME = "{ me { id handle displayName bio homeRegion defaultVisibility memberSince } }"
LOG_IN = """
mutation($handle: String!, $password: String!) {
  logIn(handle: $handle, password: $password) { token expiresAt account { handle } }
}"""
REGISTER = "mutation($input: RegisterInput!) { register(input: $input) { handle } }"


class ServerError(AssertionError):
    """The server answered 5xx: bad input or a bug must never look like this to a user."""


class GraphQLFailure(Exception):
    """The request was refused; `code` is the first error's `extensions.code`."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        self.status = status
        self.errors = errors
        first = errors[0] if errors else {}
        self.message: str = first.get("message", "")
        self.extensions: dict[str, Any] = first.get("extensions") or {}
        self.code: str | None = self.extensions.get("code")
        super().__init__(f"{self.code}: {self.message} (HTTP {status})")


def data_or_raise(response: httpx.Response) -> dict[str, Any]:
    """The `data` of a GraphQL response; raises `GraphQLFailure` if it carries errors."""
    if response.status_code >= 500:
        raise ServerError(f"HTTP {response.status_code}: {response.text[:500]}")
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(
            f"HTTP {response.status_code} without a JSON body: {response.text[:500]!r}"
        ) from None
    if body.get("errors"):
        raise GraphQLFailure(response.status_code, body["errors"])
    assert response.status_code == 200, f"HTTP {response.status_code} without errors: {body}"
    data: dict[str, Any] = body["data"]
    return data


class GraphQLClient:
    """Posts operations to the server's `/graphql`, signed in when `token` is set."""

    def __init__(self, server: HugMoodServer, token: str | None = None) -> None:
        self.server = server
        self.token = token

    def post(
        self,
        body: Any = None,
        *,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The raw response (any status) to a JSON body, or to raw `content`."""
        all_headers = {"content-type": "application/json", **(headers or {})}
        if self.token is not None:
            all_headers.setdefault("authorization", f"Bearer {self.token}")
        if content is None:
            return self.server.http.post(
                f"{self.server.url}/graphql", json=body, headers=all_headers
            )
        return self.server.http.post(
            f"{self.server.url}/graphql", content=content, headers=all_headers
        )

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        return data_or_raise(self.post({"query": query, "variables": variables}))

    def attempt(self, query: str, **variables: Any) -> dict[str, Any] | GraphQLFailure:
        """The data, or the refusal as a value (a 5xx still fails the test)."""
        try:
            return self(query, **variables)
        except GraphQLFailure as e:
            return e

    def failure(self, query: str, **variables: Any) -> GraphQLFailure:
        """The error a request that must be refused gets (fails the test if it succeeds)."""
        outcome = self.attempt(query, **variables)
        if not isinstance(outcome, GraphQLFailure):
            raise AssertionError(f"expected an error, got data: {outcome}")
        return outcome


@dataclass
class User:
    """A registered, signed-in user and their API client."""

    handle: str
    api: GraphQLClient


def register(server: HugMoodServer, handle: str) -> None:
    GraphQLClient(server)(
        REGISTER,
        input={"handle": handle, "displayName": handle.title(), "password": PASSWORD},
    )


def log_in(server: HugMoodServer, handle: str, password: str = PASSWORD) -> str:
    token: str = GraphQLClient(server)(LOG_IN, handle=handle, password=password)["logIn"]["token"]
    return token


def sign_up(server: HugMoodServer, prefix: str) -> User:
    handle = unique(prefix)
    register(server, handle)
    return User(handle, GraphQLClient(server, log_in(server, handle)))


def befriend(asker: User, accepter: User) -> None:
    asker.api(
        "mutation($h: String!) { requestFriendship(handle: $h) { status } }", h=accepter.handle
    )
    status = accepter.api(
        "mutation($h: String!) { acceptFriendship(handle: $h) { status } }", h=asker.handle
    )["acceptFriendship"]["status"]
    assert status == "FRIENDS"


def record_mood(user: User, **input: Any) -> dict[str, Any]:
    entry: dict[str, Any] = user.api(RECORD_MOOD, input=input)["recordMood"]
    return entry


def new_entry_id() -> str:
    return str(uuid.uuid4())


def iso(moment: datetime) -> str:
    return moment.isoformat()


def history(
    viewer: User,
    owner: str | None = None,
    *,
    aggregation: str = "NONE",
    time_zone: str = "UTC",
    days: int = 60,
) -> dict[str, Any]:
    """`moodHistory` over the last `days` days (and the next one)."""
    now = datetime.now(UTC)
    result: dict[str, Any] = viewer.api(
        MOOD_HISTORY,
        **{
            "from": iso(now - timedelta(days=days)),
            "to": iso(now + timedelta(days=1)),
            "handle": owner,
            "aggregation": aggregation,
            "timeZone": time_zone,
        },
    )["moodHistory"]
    return result


def history_ids(viewer: User, owner: str | None = None) -> set[str]:
    return {e["id"] for e in history(viewer, owner)["entries"]}


def feed(viewer: User) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = viewer.api(FRIENDS_FEED, limit=100)["friendsFeed"]
    return entries


def feed_ids(viewer: User) -> set[str]:
    return {e["id"] for e in feed(viewer)}


def user_page(viewer: User, handle: str) -> dict[str, Any]:
    page: dict[str, Any] = viewer.api(USER_PAGE, handle=handle)["user"]
    return page


def recent_ids(viewer: User, handle: str) -> set[str]:
    return {e["id"] for e in user_page(viewer, handle)["recentMoods"]}
