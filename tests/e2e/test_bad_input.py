"""Bad input gets a specific, readable 4xx or GraphQL error: never a 500, never a write."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.client import (
    PASSWORD,
    RECORD_MOOD,
    REGISTER,
    GraphQLClient,
    User,
    record_mood,
    sign_up,
)
from tests.e2e.conftest import StartServer
from tests.e2e.server import HugMoodServer

pytestmark = pytest.mark.e2e

MAX_DEPTH = 2
"""Lowered for this server: every query the schema allows is at most 3 deep (default 10)."""
MAX_REQUEST_BYTES = 50_000
INTERNAL_MESSAGES = ("something went wrong", "Traceback", "Exception", "hugmood/")


@dataclass(frozen=True)
class BadInput:
    name: str
    send: Callable[[], httpx.Response]
    code: str
    status: int | None = None
    """The exact HTTP status when it matters to the client (otherwise any 4xx or 200)."""
    field: str | None = None
    says: str | None = None
    """A word the message must contain, where several refusals share one code."""


def check(case: BadInput) -> str | None:
    """What is wrong with the server's answer to `case`, or None if it is as specified."""
    response = case.send()
    if response.status_code >= 500:
        return f"HTTP {response.status_code}: {response.text[:300]}"
    if case.status is not None and response.status_code != case.status:
        return f"HTTP {response.status_code}, expected {case.status}: {response.text[:300]}"
    try:
        body = response.json()
    except ValueError:
        return f"not JSON: {response.text[:300]!r}"
    errors = body.get("errors") or []
    if not errors:
        return f"no errors in {response.text[:300]}"
    extensions = errors[0].get("extensions") or {}
    message = errors[0].get("message") or ""
    problems = []
    if extensions.get("code") != case.code:
        problems.append(f"code {extensions.get('code')!r}, expected {case.code!r}")
    if case.field is not None and extensions.get("field") != case.field:
        problems.append(f"field {extensions.get('field')!r}, expected {case.field!r}")
    if case.says is not None and case.says not in message:
        problems.append(f"message does not say {case.says!r}")
    if len(message) < 10 or any(m in message for m in INTERNAL_MESSAGES):
        problems.append("no human message")
    if body.get("data"):
        problems.append(f"partial data {body['data']}")
    return "; ".join(problems) + f" ({message!r})" if problems else None


def fragment_bomb(n: int, *, root: str = "", on: str = "MoodWord", leaf: str = "energy") -> str:
    """A small document whose fragments each spread the next one twice: 2^n fields when
    expanded. Fragment names are fresh each time, so no parse cache can have seen it."""
    p = "F" + uuid.uuid4().hex[:6]
    fragments = " ".join(
        f"fragment {p}{i} on {on} {{ {leaf} "
        + (f"...{p}{i + 1} ...{p}{i + 1}" if i < n - 1 else "")
        + " }"
        for i in range(n)
    )
    if not root:
        return f"{{ moodVocabulary {{ ...{p}0 }} }} {fragments}"
    return f"{root.rsplit('}', 1)[0]} ...{p}0 }} {fragments}"


def bad_inputs(server: HugMoodServer, ann: User, ben: User, ann_entry: str) -> Iterator[BadInput]:
    anonymous = GraphQLClient(server)

    def raw(body: bytes) -> Callable[[], httpx.Response]:
        return lambda: ann.api.post(content=body)

    def op(
        query: str, client: GraphQLClient = ann.api, /, **variables: object
    ) -> Callable[[], httpx.Response]:
        return lambda: client.post({"query": query, "variables": variables})

    def record(**fields: object) -> Callable[[], httpx.Response]:
        return op(RECORD_MOOD, input={"moodType": "calm", "intensity": 0.5, **fields})

    def record_raw(intensity_literal: str) -> Callable[[], httpx.Response]:
        """RecordMood with a number JSON proper has no spelling for (NaN, Infinity, 1e400)."""
        body = {"query": RECORD_MOOD, "variables": {"input": {"moodType": "calm", "intensity": 0}}}
        text = json.dumps(body).replace('"intensity": 0', f'"intensity": {intensity_literal}')
        return raw(text.encode())

    def too_big() -> Iterator[bytes]:
        for _ in range(MAX_REQUEST_BYTES // 10_000 + 2):
            yield b" " * 10_000

    oversized = json.dumps({"query": "{ __typename }", "pad": "x" * MAX_REQUEST_BYTES}).encode()
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    day = datetime.now(UTC)

    yield BadInput("invalid JSON body", raw(b'{"query": "{ me { handle } }"'), "VALIDATION", 400)
    yield BadInput("body is not an object", raw(b"[1, 2]"), "VALIDATION", 400)
    yield BadInput("missing query", raw(b'{"variables": {}}'), "VALIDATION", 400)
    yield BadInput("query is not a string", raw(b'{"query": 5}'), "VALIDATION", 400)
    yield BadInput(
        "variables not an object",
        raw(b'{"query": "{ __typename }", "variables": [1]}'),
        "VALIDATION",
        400,
    )
    yield BadInput(
        "not JSON at all",
        lambda: ann.api.post(content=b"{ me { handle } }", headers={"content-type": "text/plain"}),
        "VALIDATION",
        415,
        says="Content-Type",
    )
    yield BadInput("syntax error", op("{ me { handle }"), "VALIDATION")
    yield BadInput("unknown field", op("{ me { handle shoeSize } }"), "VALIDATION")
    yield BadInput("unknown operation", op("mutation { launchRocket }"), "VALIDATION")
    yield BadInput(
        "wrong variable type",
        op('query($n: Int!) { user(handle: "x", recent: $n) { friendCount } }', n="ten"),
        "VALIDATION",
    )
    yield BadInput(
        "missing required variable",
        op("query($h: String!) { user(handle: $h) { friendCount } }"),
        "VALIDATION",
    )
    yield BadInput(
        "oversized body (Content-Length)", raw(oversized), "VALIDATION", 413, says="larger than"
    )
    yield BadInput(
        "oversized body (chunked, no Content-Length)",
        lambda: ann.api.post(content=too_big()),
        "VALIDATION",
        413,
        says="larger than",
    )
    yield BadInput(
        "query deeper than the limit",
        op('{ user(handle: "x") { recentMoods { author { handle } } } }'),
        "VALIDATION",
        says="depth",
    )
    yield BadInput(
        "a subscription over HTTP",
        op("subscription { hugReceived { id } }"),
        "VALIDATION",
        says="WebSocket",
    )
    yield BadInput(
        "two operations and no operationName",
        op("query A { __typename } query B { __typename }"),
        "VALIDATION",
        says="operationName",
    )
    yield BadInput(
        "fragments spreading fragments twice (2^24 fields in 1.5 KB), anonymous",
        op(fragment_bomb(24), anonymous),
        "VALIDATION",
        says="cost budget",
    )
    yield BadInput(
        "a fragment bomb behind a mutation's payload",
        op(
            fragment_bomb(22, root="mutation { logOut }", on="Mutation", leaf="logOut"),
            anonymous,
        ),
        "VALIDATION",
        says="cost budget",
    )
    aliases = " ".join(f"a{i}: __typename" for i in range(16))
    yield BadInput("too many aliases", op(f"{{ {aliases} }}"), "VALIDATION", says="aliases")
    yield BadInput(
        "too many tokens", op("{ " + "__typename " * 2100 + "}"), "VALIDATION", says="tokens"
    )
    yield BadInput("intensity 1.5", record(intensity=1.5), "VALIDATION", field="intensity")
    yield BadInput("intensity -0.1", record(intensity=-0.1), "VALIDATION", field="intensity")
    # Not JSON at all (JSON has no NaN or Infinity, and 1e400 overflows): refused as a body.
    for literal in ("NaN", "Infinity", "1e400"):
        yield BadInput(f"intensity {literal}", record_raw(literal), "VALIDATION", 400, says="JSON")
    yield BadInput('intensity "NaN"', record(intensity="NaN"), "VALIDATION", says="intensity")
    yield BadInput("unknown moodType", record(moodType="hangry"), "VALIDATION", field="moodType")
    yield BadInput("note of 2001 characters", record(note="x" * 2001), "VALIDATION", field="note")
    yield BadInput(
        "note with a control character", record(note="a\x00b"), "VALIDATION", field="note"
    )
    yield BadInput(
        "recordedAt in the future", record(recordedAt=future), "VALIDATION", field="recordedAt"
    )
    yield BadInput(
        "recordedAt without a zone",
        record(recordedAt="2024-05-01T10:00:00"),
        "VALIDATION",
        field="recordedAt",
    )
    yield BadInput("recordedAt not a date", record(recordedAt="yesterday"), "VALIDATION")
    yield BadInput(
        "unknown weather",
        record(contextFactors={"weather": "plasma"}),
        "VALIDATION",
        field="weather",
    )
    yield BadInput(
        "eleven tags",
        record(contextFactors={"tags": [f"t{i}" for i in range(11)]}),
        "VALIDATION",
        field="tags",
    )
    yield BadInput("entry id not a UUID", record(id="entry-1"), "VALIDATION", field="id")
    yield BadInput(
        "entry id of someone else's entry",
        op(RECORD_MOOD, ben.api, input={"id": ann_entry, "moodType": "calm", "intensity": 0.5}),
        "CONFLICT",
        field="id",
    )
    yield BadInput(
        "unknown time zone",
        op(
            "query($from: DateTime!, $to: DateTime!) { moodHistory(from: $from, to: $to,"
            ' aggregation: DAY, timeZone: "Mars/Olympus") { buckets { count } } }',
            **{"from": (day - timedelta(days=7)).isoformat(), "to": day.isoformat()},
        ),
        "VALIDATION",
        field="timeZone",
    )
    yield BadInput(
        "history range ending before it starts",
        op(
            "query($from: DateTime!, $to: DateTime!) { moodHistory(from: $from, to: $to)"
            " { entries { id } } }",
            **{"from": day.isoformat(), "to": (day - timedelta(days=1)).isoformat()},
        ),
        "VALIDATION",
        field="to",
    )
    edit = "mutation($input: EditMoodInput!) { editMood(input: $input) { id intensity } }"
    yield BadInput(
        "editing someone else's entry",
        op(edit, ben.api, input={"id": ann_entry, "intensity": 0.9}),
        "FORBIDDEN",
    )
    yield BadInput(
        "deleting someone else's entry",
        op("mutation($id: ID!) { deleteMood(id: $id) }", ben.api, id=ann_entry),
        "FORBIDDEN",
    )
    yield BadInput(
        "editing with a bad id",
        op(edit, input={"id": "nope", "intensity": 0.9}),
        "VALIDATION",
        field="id",
    )
    yield BadInput("no session", op("{ me { handle } }", anonymous), "UNAUTHENTICATED")
    yield BadInput(
        "recording without a session",
        op(RECORD_MOOD, anonymous, input={"moodType": "calm", "intensity": 0.5}),
        "UNAUTHENTICATED",
    )
    yield BadInput(
        "made-up token",
        op("{ me { handle } }", GraphQLClient(server, "hm_made_up")),
        "UNAUTHENTICATED",
    )
    yield BadInput(
        "duplicate handle (other case)",
        op(
            REGISTER,
            anonymous,
            input={"handle": ann.handle.upper(), "displayName": "Copy", "password": PASSWORD},
        ),
        "CONFLICT",
        field="handle",
    )
    yield BadInput(
        "handle with spaces",
        op(
            REGISTER,
            anonymous,
            input={"handle": "has spaces", "displayName": "X", "password": PASSWORD},
        ),
        "VALIDATION",
        field="handle",
    )
    yield BadInput(
        "short password",
        op(
            REGISTER,
            anonymous,
            input={"handle": "shortpw_user", "displayName": "X", "password": "short"},
        ),
        "VALIDATION",
        field="password",
    )
    befriend = "mutation($h: String!) { requestFriendship(handle: $h) { status } }"
    yield BadInput(
        "friend request to nobody", op(befriend, h="nobody_at_all"), "NOT_FOUND", field="handle"
    )
    yield BadInput(
        "friend request to oneself", op(befriend, h=ann.handle), "VALIDATION", field="handle"
    )
    yield BadInput(
        "accepting a request nobody sent",
        op("mutation($h: String!) { acceptFriendship(handle: $h) { status } }", h=ben.handle),
        "NOT_FOUND",
    )
    yield BadInput(
        "feed limit 0", op("{ friendsFeed(limit: 0) { id } }"), "VALIDATION", field="limit"
    )
    remind = "mutation($i: SetReminderInput!) { setReminder(input: $i) { enabled } }"
    for name, change, field in (
        ("reminder at 25:61", {"time": "25:61"}, "time"),
        ("reminder on funday", {"days": ["mon", "funday"]}, "days"),
        ("reminder on no day", {"days": []}, "days"),
        ("reminder in Mars/Base", {"timeZone": "Mars/Base"}, "timeZone"),
    ):
        yield BadInput(name, op(remind, i={"enabled": True, **change}), "VALIDATION", field=field)
    subscribe = (
        "mutation($i: PushSubscriptionInput!) { addPushSubscription(input: $i) { enabled } }"
    )
    keys = {"p256dh": "B" * 87, "auth": "A" * 22}
    for endpoint in ("https://169.254.169.254/latest", "http://push.example.org/x", "x" * 3000):
        yield BadInput(
            f"push endpoint {endpoint[:30]}",
            op(subscribe, i={"endpoint": endpoint, **keys}),
            "VALIDATION",
            field="endpoint",
        )
    yield BadInput(
        "push key not base64url",
        op(subscribe, i={"endpoint": "https://push.example.org/x", "p256dh": "!!", "auth": "A"}),
        "VALIDATION",
        field="p256dh",
    )
    yield BadInput(
        "e-mail on a server without SMTP",
        op('mutation { setEmailAddress(email: "ada@example.org") { email } }'),
        "VALIDATION",
        field="email",
    )
    yield BadInput(
        "password reset on a server without SMTP",
        op('mutation { requestPasswordReset(email: "ada@example.org") }', anonymous),
        "VALIDATION",
        field="email",
    )
    yield BadInput(
        "password reset with a made-up token",
        op('mutation { resetPassword(token: "abc", newPassword: "a new password") }', anonymous),
        "VALIDATION",
        field="token",
    )
    yield BadInput(
        "e-mail code with nothing waiting",
        op('mutation { confirmEmailAddress(code: "123456") { email } }'),
        "NOT_FOUND",
        field="code",
    )


SHALLOW_FIELDS = ("id", "moodType", "intensity", "note", "privacy", "recordedAt", "updatedAt")


def entries_of(user: User) -> list[dict[str, object]]:
    """The user's own entries, through a query shallow enough for MAX_DEPTH."""
    now = datetime.now(UTC)
    query = (
        "query($from: DateTime!, $to: DateTime!) { moodHistory(from: $from, to: $to)"
        f" {{ entries {{ {' '.join(SHALLOW_FIELDS)} }} }} }}"
    )
    variables = {
        "from": (now - timedelta(days=1)).isoformat(),
        "to": (now + timedelta(days=1)).isoformat(),
    }
    entries: list[dict[str, object]] = user.api(query, **variables)["moodHistory"]["entries"]
    return entries


def test_bad_input_gets_a_specific_error_and_writes_nothing(start_server: StartServer) -> None:
    server = start_server(
        {
            "HUGMOOD_GRAPHQL_MAX_DEPTH": str(MAX_DEPTH),
            "HUGMOOD_MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES),
        }
    )
    ann, ben = sign_up(server, "ann"), sign_up(server, "ben")
    ann_entry = record_mood(ann, moodType="calm", intensity=0.4, note="mine")
    position = server.event_log_position()

    problems = {
        case.name: problem
        for case in bad_inputs(server, ann, ben, ann_entry["id"])
        if (problem := check(case)) is not None
    }

    assert problems == {}
    assert server.event_log_position() == position, "bad input must not write anything"
    assert entries_of(ann) == [{k: ann_entry[k] for k in SHALLOW_FIELDS}]
    assert entries_of(ben) == []
