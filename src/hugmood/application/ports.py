"""Ports the application needs from the outside world, as small Protocols."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from hugmood.domain.identity import LoginAttempt
from hugmood.domain.regions import AgeRule, GatedFeature, Participation


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool:
        """True if it matches; takes about as long whether or not it does."""
        ...

    async def burn(self, password: str) -> None:
        """Spend the time of one verification, so unknown accounts answer as slowly."""
        ...


class LoginThrottle(Protocol):
    """Limits password guessing without letting a stranger lock the owner out."""

    def check(self, attempt: LoginAttempt) -> None:
        """Raise `RateLimited` if this attempt may not be tried right now."""
        ...

    def failed(self, attempt: LoginAttempt) -> None: ...

    def succeeded(self, attempt: LoginAttempt) -> str:
        """Clear this device's count; returns the device proof it presents from now on."""
        ...


class RateLimiter(Protocol):
    def hit(self, key: str) -> None:
        """Count one action by `key`, or raise `RateLimited` if it has done too many."""
        ...


class SessionTokens(Protocol):
    def new_token(self) -> str:
        """An opaque token of at least 128 random bits, shown to the client once."""
        ...

    def digest(self, token: str) -> str:
        """What is stored and looked up: a keyed hash, never the token itself."""
        ...


class Mailer(Protocol):
    """Sends one plain-text message (reminders, address codes, password resets)."""

    async def send(self, to: str, subject: str, body: str) -> None:
        """Raise `MailUnavailable` (a `BackendUnavailable`) if the server would not take it."""
        ...


class ReadModelsProgress(Protocol):
    async def wait_for(self, position: int) -> None:
        """Return once every read model reflects the event at `position` (read-your-writes)."""
        ...


class LiveNews(Protocol):
    """What another region tells this one's connected people (`realtime.news`): ids and
    presence only, handed to subscriptions on the hub every process of this region shares."""

    async def friend_checked_in(self, friend_id: str, owner_id: str, entry_id: str) -> None: ...

    async def presence_changed(self, user_id: str, status: str, view: str | None) -> None: ...

    async def presence_of(self, user_ids: list[str]) -> dict[str, tuple[str, str | None]]:
        """Each person's presence here as friends may see it: (status, view)."""
        ...


class DataKeys(Protocol):
    """People's data keys (`privacy.keys`): what erasure destroys."""

    async def destroy(self, user_id: str) -> None:
        """Destroy the person's key for good: what it encrypted can never be read again."""
        ...


class RegionalRules(Protocol):
    """The regional policy engine (`regions.policy`) as handlers ask it. A person's country
    may be "" (registered before countries were asked): read as their region's default."""

    def home(self, country: str | None, region: str | None) -> tuple[str, str]:
        """(country, home region) for a sign-up; ValidationFailed if no region serves it."""
        ...

    def age_required(self, country: str, home_region: str, feature: GatedFeature) -> AgeRule:
        """The verified age `feature` needs in that country, and the rule's name."""
        ...

    def participation(self, country: str, home_region: str, what: str) -> Participation:
        """Whether `what` (analytics, learning) is opt-in or opt-out there."""
        ...

    def retention_days(self, country: str, home_region: str) -> int:
        """How many days check-ins are kept there by default (0: until deleted)."""
        ...

    def egress(self, region: str, data_kind: str) -> tuple[str, str]:
        """How `data_kind` (`note`, `hug_message`, `board_content`, …) may leave `region`:
        its form (`never`, `read-through`, `recipient-inbox`, …) and the rule that says so."""
        ...

    def sign_up_countries(self, regions: list[str]) -> tuple[list[str], str]:
        """The countries whose people keep their data in `regions`, and the country a
        sign-up naming none gets."""
        ...


class Listed(Protocol):
    @property
    def region(self) -> str: ...


class AccountDirectory(Protocol):
    """The global directory (`regions.directory`): which region keeps each handle."""

    async def claim(self, handle: str, user_id: str, region: str) -> Listed:
        """List the account in `region` unless the handle is listed already; the listing
        that holds."""
        ...

    async def by_handle(self, handle: str) -> Listed | None:
        """Where `handle` lives (None: nobody claimed it)."""
        ...


class Federation(Protocol):
    """The other regions, as this one reaches them (`regions.federation`): who lives where,
    and a call to a region's federation endpoint (`application.federation`)."""

    region: str
    """This region."""

    def regions(self) -> list[str]:
        """The other regions this one reaches."""
        ...

    async def home_of(self, user_id: str) -> str | None:
        """The region that keeps `user_id` when it is another one; None: this region's
        person, or nobody."""
        ...

    async def handle_of(self, user_id: str) -> str | None:
        """The handle the directory lists for `user_id` (None: not listed)."""
        ...

    async def named(self, handle: str) -> tuple[str, str] | None:
        """The user id and region of `handle` when it lives in another region."""
        ...

    async def call(self, region: str, op: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Run `op` in `region`; its refusal is raised here as the same `HugMoodError`, an
        unreachable region as `BackendUnavailable`."""
        ...


class BoardContent(Protocol):
    """Boards' Yjs content (`boards.store`): what erasure rewrites or destroys."""

    async def forget_author(self, board_id: str, user_id: str) -> None:
        """The board goes on without the items `user_id` added, none of its past readable."""
        ...

    async def forget_board(self, board_id: str) -> None:
        """None of the board's content can be read again."""
        ...
