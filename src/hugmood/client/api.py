"""The async SDK: HugMood's GraphQL API as typed Python calls, plus live subscriptions.

async with AsyncHugMoodClient("http://127.0.0.1:8000") as hm:
    await hm.login("alice", "hugmood-demo")
    await hm.record_mood("calm", 0.7, note="Tea on the balcony")
    async for hug in hm.hugs():
        print(hug["sender"]["handle"], hug["hugType"])
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx
import orjson

from hugmood.client import queries as q
from hugmood.client.errors import ApiError, NotLoggedIn, Offline, SecondStepNeeded
from hugmood.client.ws import subscribe

JSON = dict[str, Any]
PRIVACY_ENUM = {
    "private": "PRIVATE",
    "close-friends": "CLOSE_FRIENDS",
    "friends-only": "FRIENDS_ONLY",
    "public": "PUBLIC",
}


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    handle: str
    expires_at: str


@dataclass(frozen=True, slots=True)
class EntryResult:
    """One entry's outcome in `record_moods`: `stored`, `duplicate` or `refused` (and why)."""

    entry_id: str
    status: str
    code: str | None = None
    message: str | None = None
    field: str | None = None


@dataclass(frozen=True, slots=True)
class MoodChanges:
    entries: list[JSON]
    deleted_ids: list[str]
    cursor: str
    has_more: bool


class AsyncHugMoodClient:
    """One HTTP connection pool to a HugMood server, signed in with `token` once known."""

    def __init__(
        self,
        server_url: str,
        *,
        token: str | None = None,
        device_id: str | None = None,
        timeout_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.server_url = server_url.rstrip("/")
        self.token = token
        self.device_id = device_id
        self._http = httpx.AsyncClient(
            base_url=self.server_url, timeout=timeout_s, transport=transport
        )

    async def __aenter__(self) -> AsyncHugMoodClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def execute(self, query: str, **variables: Any) -> JSON:
        """Run one GraphQL operation; its `data`, or `ApiError` with the server's code."""
        headers = {"content-type": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        body = orjson.dumps({"query": query, "variables": variables})
        try:
            response = await self._http.post("/graphql", content=body, headers=headers)
        except httpx.TransportError as e:
            raise Offline(f"cannot reach {self.server_url}: {e or type(e).__name__}") from e
        if response.status_code >= 500:
            raise Offline(f"{self.server_url} answered HTTP {response.status_code}; try again")
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ApiError("PROTOCOL", f"HTTP {response.status_code} without JSON") from None
        if answer.get("errors"):
            first = answer["errors"][0]
            ext = first.get("extensions") or {}
            code = ext.get("code", "UNKNOWN")
            if code == "UNAUTHENTICATED" and self.token:
                raise NotLoggedIn(f"{first.get('message')}: run `hugmood login`")
            error = SecondStepNeeded if code == "MFA_REQUIRED" else ApiError
            raise error(code, first.get("message", ""), field=ext.get("field"), extensions=ext)
        data: JSON = answer["data"]
        return data

    # --- account -----------------------------------------------------------------------------

    async def register(
        self, handle: str, display_name: str, password: str, *, country: str | None = None
    ) -> JSON:
        """Create an account in `country` (None: the server's default country)."""
        account = {"handle": handle, "displayName": display_name, "password": password}
        if country is not None:
            account["country"] = country
        data = await self.execute(q.REGISTER, input=account)
        profile: JSON = data["register"]
        return profile

    async def login(self, handle: str, password: str) -> Session:
        """Start a session; the client uses its token from now on."""
        data = await self.execute(q.LOG_IN, handle=handle, password=password, device=self.device_id)
        got = data["logIn"]
        self.token = got["token"]
        return Session(got["token"], got["account"]["handle"], got["expiresAt"])

    async def complete_login(
        self, mfa_token: str, *, code: str | None = None, recovery_code: str | None = None
    ) -> Session:
        """The second step of `login` (after `SecondStepNeeded`): a code from the
        authenticator app, or a recovery code."""
        data = await self.execute(
            q.COMPLETE_LOG_IN, mfaToken=mfa_token, code=code, recoveryCode=recovery_code
        )
        got = data["completeLogIn"]
        self.token = got["token"]
        return Session(got["token"], got["account"]["handle"], got["expiresAt"])

    async def start_authenticator_setup(self, mfa_token: str | None = None) -> JSON:
        """A new TOTP secret and its otpauth:// URI (signed in, or with an enrolment token)."""
        setup: JSON = (await self.execute(q.START_AUTHENTICATOR_SETUP, mfaToken=mfa_token))[
            "startAuthenticatorSetup"
        ]
        return setup

    async def confirm_authenticator_setup(
        self, code: str, mfa_token: str | None = None
    ) -> tuple[list[str], Session | None]:
        """Turn the app on; its recovery codes, and a session if this finished a sign-in."""
        data = await self.execute(q.CONFIRM_AUTHENTICATOR_SETUP, code=code, mfaToken=mfa_token)
        on = data["confirmAuthenticatorSetup"]
        got = on["session"]
        session = None
        if got is not None:
            self.token = got["token"]
            session = Session(got["token"], got["account"]["handle"], got["expiresAt"])
        return list(on["recoveryCodes"]), session

    async def turn_off_authenticator(
        self, password: str, *, code: str | None = None, recovery_code: str | None = None
    ) -> None:
        await self.execute(
            q.TURN_OFF_AUTHENTICATOR, password=password, code=code, recoveryCode=recovery_code
        )

    async def new_recovery_codes(self, code: str) -> list[str]:
        codes = (await self.execute(q.NEW_RECOVERY_CODES, code=code))["newRecoveryCodes"]
        return list(codes)

    async def second_factors(self) -> JSON:
        factors: JSON = (await self.execute(q.SECOND_FACTORS))["mySecondFactors"]
        return factors

    async def logout(self) -> None:
        await self.execute(q.LOG_OUT)
        self.token = None

    async def me(self) -> JSON:
        account: JSON = (await self.execute(q.ME))["me"]
        return account

    # --- moods ---------------------------------------------------------------------------------

    async def record_mood(
        self,
        mood_type: str,
        intensity: float,
        *,
        note: str | None = None,
        context: JSON | None = None,
        privacy: str | None = None,
        recorded_at: datetime | None = None,
        insights: JSON | None = None,
        entry_id: str | None = None,
    ) -> JSON:
        """Check in online. The id (chosen here if not given) makes a retry safe."""
        entry = mood_input(
            entry_id or str(uuid.uuid4()),
            mood_type,
            intensity,
            note=note,
            context=context,
            privacy=privacy,
            recorded_at=recorded_at,
            insights=insights,
        )
        recorded: JSON = (await self.execute(q.RECORD_MOOD, input=entry))["recordMood"]
        return recorded

    async def record_moods(self, entries: list[JSON]) -> list[EntryResult]:
        """Upload many `mood_input(...)` entries at once; one result per entry, in order."""
        results = (await self.execute(q.RECORD_MOODS, entries=entries))["recordMoods"]
        return [
            EntryResult(r["id"], r["status"].lower(), r["code"], r["message"], r["field"])
            for r in results
        ]

    async def mood_changes(self, after: str | None = None, limit: int = 500) -> MoodChanges:
        """Your own entries changed after the cursor (all of them the first time)."""
        got = (await self.execute(q.MOOD_CHANGES, after=after, limit=limit))["myMoodChanges"]
        return MoodChanges(got["compactEntries"], got["deletedIds"], got["cursor"], got["hasMore"])

    async def mood_history(self, start: datetime, end: datetime) -> list[JSON]:
        """Your entries in [start, end), newest first (at most 1,000)."""
        got = await self.execute(q.HISTORY, start=start.isoformat(), end=end.isoformat())
        entries: list[JSON] = got["moodHistory"]["entries"]
        return entries

    # --- friends and hugs --------------------------------------------------------------------

    async def friends(self, status: str = "FRIENDS") -> list[JSON]:
        """Your friends, or `REQUESTED` / `INCOMING` requests, or `BLOCKED`."""
        got: list[JSON] = (await self.execute(q.CONNECTIONS, status=status.upper()))["connections"]
        return got

    async def change_friendship(self, action: str, handle: str) -> str:
        """`request`, `accept`, `decline`, `remove`, `block` or `unblock`; the new status."""
        mutation = q.FRIENDSHIP_MUTATIONS.get(action)
        if mutation is None:
            raise ValueError(f"unknown friendship action {action!r}")
        data = await self.execute(q.friendship(mutation), handle=handle)
        status: str = data[mutation]["status"]
        return status

    async def send_hug(
        self, to: str, hug_type: str, message: str | None = None, *, hug_id: str | None = None
    ) -> JSON:
        """Send a hug to a friend; the id (chosen here if not given) makes a retry safe."""
        hug_input = {
            "id": hug_id or str(uuid.uuid4()),
            "to": to,
            "hugType": hug_type.upper().replace("-", "_"),
            "message": message,
        }
        hug: JSON = (await self.execute(q.SEND_HUG, input=hug_input))["sendHug"]
        return hug

    async def inbox(self, limit: int = 20) -> list[JSON]:
        got: list[JSON] = (await self.execute(q.INBOX, limit=limit))["inbox"]
        return got

    async def sent_hugs(self, limit: int = 20) -> list[JSON]:
        got: list[JSON] = (await self.execute(q.SENT_HUGS, limit=limit))["sentHugs"]
        return got

    # --- boards ------------------------------------------------------------------------------

    async def boards(self, include_archived: bool = False) -> list[JSON]:
        """The shared mood boards you are on, most recently active first."""
        got: list[JSON] = (await self.execute(q.BOARDS, archived=include_archived))["boards"]
        return got

    async def board_snapshot(self, board_id: str) -> JSON:
        """A board's content as JSON: `{"items": [...], "itemCount": n, "invalid": n}`
        (editing happens over the board's Yjs socket, not through the SDK)."""
        snapshot: JSON = (await self.execute(q.BOARD_SNAPSHOT, id=board_id))["board"]["snapshot"]
        return snapshot

    # --- your data ----------------------------------------------------------------------------

    async def export(self, fmt: str = "json") -> AsyncIterator[bytes]:
        """Everything the server holds about you (`GET /me/export`), as it streams in:
        `json` (the whole archive) or `csv` (check-ins); see docs/export-format.md."""
        if not self.token:
            raise NotLoggedIn("not signed in: run `hugmood login`")
        headers = {"authorization": f"Bearer {self.token}"}
        try:
            async with self._http.stream(
                "GET", "/me/export", params={"format": fmt}, headers=headers
            ) as response:
                if response.status_code >= 500:
                    raise Offline(f"{self.server_url} answered HTTP {response.status_code}")
                if response.status_code != 200:
                    await response.aread()
                    _refused(response)
                async for chunk in response.aiter_bytes():
                    yield chunk
        except httpx.TransportError as e:
            raise Offline(f"cannot reach {self.server_url}: {e or type(e).__name__}") from e

    def hugs(self) -> AsyncIterator[JSON]:
        """Hugs for you, live: first those no device has shown yet, then each new one."""
        return self._subscribe(q.HUG_RECEIVED, "hugReceived")

    def presence(self) -> AsyncIterator[JSON]:
        """Each friend's presence now, then every change."""
        return self._subscribe(q.FRIEND_PRESENCE, "friendPresence")

    async def _subscribe(self, query: str, field: str) -> AsyncIterator[JSON]:
        if not self.token:
            raise NotLoggedIn("sign in first: call login()")
        ws_url = self.server_url.replace("http", "ws", 1) + "/graphql"
        async for data in subscribe(ws_url, query, token=self.token, device_id=self.device_id):
            item: JSON = data[field]
            yield item


def _refused(response: httpx.Response) -> None:
    """Raise the error a plain HTTP path answered with (`{"errors": [...]}`)."""
    try:
        first = orjson.loads(response.content)["errors"][0]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        raise ApiError("PROTOCOL", f"HTTP {response.status_code} without an error") from None
    code = (first.get("extensions") or {}).get("code", "UNKNOWN")
    if code == "UNAUTHENTICATED":
        raise NotLoggedIn(f"{first.get('message')}: run `hugmood login`")
    raise ApiError(code, first.get("message", ""), field=first["extensions"].get("field"))


def mood_input(
    entry_id: str,
    mood_type: str,
    intensity: float,
    *,
    note: str | None = None,
    context: JSON | None = None,
    privacy: str | None = None,
    recorded_at: datetime | None = None,
    insights: JSON | None = None,
) -> JSON:
    """A `RecordMoodInput` as the API takes it."""
    return {
        "id": entry_id,
        "moodType": mood_type,
        "intensity": intensity,
        "note": note,
        "contextFactors": context or None,
        "privacy": PRIVACY_ENUM[privacy] if privacy else None,
        "recordedAt": recorded_at.isoformat() if recorded_at else None,
        "insights": insights,
    }
