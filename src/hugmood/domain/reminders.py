"""Daily check-in reminders: when (a local time, days, a time zone), how (Web Push to the
person's browsers, e-mail), and the one reminder a day each person is sent at most."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from hugmood.domain.common import DomainEvent, PersonalData, shown
from hugmood.domain.errors import NotFound, ValidationFailed
from hugmood.ids import UserId

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekdays as `date.weekday()` numbers them (Monday is 0)."""
MAX_PUSH_SUBSCRIPTIONS = 10
MAX_ENDPOINT = 1000
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")


def reminder_stream(user_id: UserId) -> str:
    return f"reminders-{user_id}"


def check_time(value: str) -> str:
    """`HH:MM` on a 24-hour clock."""
    text = value.strip()
    if not _TIME.match(text):
        raise ValidationFailed(
            f"time must be HH:MM on a 24-hour clock, such as 20:30 (got {shown(value)})",
            field="time",
        )
    return text


def check_days(values: tuple[str, ...]) -> tuple[str, ...]:
    """At least one of mon … sun (or monday … sunday), returned in week order, each once."""
    chosen: set[str] = set()
    for raw in values:
        word = raw.strip().lower()
        day = _SHORT_DAY.get(word, word)
        if day not in DAYS:
            raise ValidationFailed(
                f"days must be among {', '.join(DAYS)} (got {shown(raw)})", field="days"
            )
        chosen.add(day)
    if not chosen:
        raise ValidationFailed("choose at least one day for the reminder", field="days")
    return tuple(d for d in DAYS if d in chosen)


_SHORT_DAY = {
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
}


def check_time_zone(value: str) -> str:
    """An IANA time zone name (Europe/Paris, America/New_York, UTC)."""
    name = value.strip()
    if not name or len(name) > 64 or name not in _zones():
        raise ValidationFailed(
            f"timeZone must be an IANA time zone such as Europe/Paris (got {shown(value)})",
            field="timeZone",
        )
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {shown(value)}", field="timeZone") from None
    return name


_ZONES: frozenset[str] = frozenset()


def _zones() -> frozenset[str]:
    global _ZONES
    if not _ZONES:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


def check_push_endpoint(value: str, *, allow_loopback: bool = False) -> str:
    """A push service URL as a browser hands it over: https, a host name, the default port.

    The server will POST to it, so it must never name a place inside the server's network:
    IP literals (private, loopback, link-local, anything), user info, other ports and other
    schemes are refused here; the name is resolved again when sending and any address that
    is not public is refused then too (`reminders/push.py`). `allow_loopback` (tests only)
    admits http or https to 127.0.0.1 or ::1 on any port: a local stand-in push service."""
    url = value.strip()
    if not url or len(url) > MAX_ENDPOINT:
        raise ValidationFailed(
            f"endpoint must be a push service URL of at most {MAX_ENDPOINT} characters",
            field="endpoint",
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationFailed(f"endpoint {shown(url)} is not a URL", field="endpoint") from None
    host = (parts.hostname or "").lower()
    if allow_loopback and _is_loopback(host) and parts.scheme in ("http", "https"):
        return url
    if parts.scheme != "https":
        raise ValidationFailed("endpoint must be an https:// URL", field="endpoint")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValidationFailed("endpoint must not carry a user name", field="endpoint")
    if port not in (None, 443):
        raise ValidationFailed("endpoint must use the https port (443)", field="endpoint")
    if not host or _is_ip(host) or "." not in host or host.endswith((".local", ".internal")):
        raise ValidationFailed(
            "endpoint must name a public push service by its host name", field="endpoint"
        )
    if host in ("localhost",) or host.endswith(".localhost"):
        raise ValidationFailed(
            "endpoint must name a public push service by its host name", field="endpoint"
        )
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.replace(".", "").isdigit()  # 2130706433, 0x7f.1 and other spellings
    return True


def _is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "[::1]")


def check_key(value: str, *, field: str, min_bytes: int, max_bytes: int) -> str:
    """A subscription key as the browser gives it: base64url (padding optional)."""
    text = value.strip()
    if (
        not _B64URL.match(text)
        or not min_bytes * 4 // 3 <= len(text.rstrip("=")) <= (max_bytes * 4 + 2) // 3
    ):
        raise ValidationFailed(
            f"{field} must be the subscription's base64url key (got {shown(value)})", field=field
        )
    return text.rstrip("=")


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SetReminder:
    """Remind me at `time` (local to `time_zone`) on `days`; `enabled=False` turns it off."""

    user_id: UserId
    enabled: bool
    time: str = "20:00"
    days: tuple[str, ...] = DAYS
    time_zone: str = "UTC"
    by_push: bool = True
    by_email: bool = False
    quiet_days: int = 0
    """0: on every chosen day. N: only once you have not checked in for N days (a gentle
    "you haven't checked in for a while", sent only to those who ask for it)."""


@dataclass(frozen=True, slots=True)
class AddPushSubscription:
    """A browser's PushSubscription (`endpoint`, `keys.p256dh`, `keys.auth`)."""

    user_id: UserId
    endpoint: str
    p256dh: str
    auth: str
    allow_loopback: bool = False
    """Set by the server's configuration (tests only), never by the caller."""


@dataclass(frozen=True, slots=True)
class RemovePushSubscription:
    user_id: UserId
    endpoint: str
    reason: str = "removed"


@dataclass(frozen=True, slots=True)
class MarkReminderSent:
    """The scheduler's claim on `local_date`: appended before sending, so one is sent a day
    even with several server processes."""

    user_id: UserId
    local_date: str


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReminderSet(DomainEvent):
    """Carries the whole setting, so a reader needs no earlier event."""

    EVENT_TYPE = "ReminderSet"
    user_id: UserId
    enabled: bool
    time: str
    days: tuple[str, ...]
    time_zone: str
    by_push: bool
    by_email: bool
    quiet_days: int = 0
    """Absent in events from before it existed: every chosen day."""


@dataclass(frozen=True, slots=True)
class PushSubscriptionAdded(DomainEvent):
    EVENT_TYPE = "PushSubscriptionAdded"
    PERSONAL = PersonalData({"endpoint": "", "p256dh": "", "auth": ""}, owner="userId")
    user_id: UserId
    endpoint: str
    p256dh: str
    auth: str


@dataclass(frozen=True, slots=True)
class PushSubscriptionRemoved(DomainEvent):
    EVENT_TYPE = "PushSubscriptionRemoved"
    PERSONAL = PersonalData({"endpoint": ""}, owner="userId")
    user_id: UserId
    endpoint: str
    reason: str


@dataclass(frozen=True, slots=True)
class ReminderSent(DomainEvent):
    EVENT_TYPE = "ReminderSent"
    user_id: UserId
    local_date: str


# --- state and decisions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reminder:
    enabled: bool = False
    time: str = "20:00"
    days: tuple[str, ...] = DAYS
    time_zone: str = "UTC"
    by_push: bool = True
    by_email: bool = False
    quiet_days: int = 0
    endpoints: tuple[str, ...] = ()
    last_sent: str | None = None


def evolve_reminder(state: Reminder, event: DomainEvent) -> Reminder:
    match event:
        case ReminderSet():
            return replace(
                state,
                enabled=event.enabled,
                time=event.time,
                days=tuple(event.days),
                time_zone=event.time_zone,
                by_push=event.by_push,
                by_email=event.by_email,
                quiet_days=event.quiet_days,
            )
        case PushSubscriptionAdded():
            return replace(
                state,
                endpoints=(*(e for e in state.endpoints if e != event.endpoint), event.endpoint),
            )
        case PushSubscriptionRemoved():
            return replace(
                state, endpoints=tuple(e for e in state.endpoints if e != event.endpoint)
            )
        case ReminderSent():
            return replace(state, last_sent=event.local_date)
    return state


MAX_QUIET_DAYS = 30


def check_quiet_days(quiet_days: int) -> int:
    if not 0 <= quiet_days <= MAX_QUIET_DAYS:
        raise ValidationFailed(
            f"quietDays must be 0 (every chosen day) to {MAX_QUIET_DAYS}", field="quietDays"
        )
    return quiet_days


def decide_set(state: Reminder, command: SetReminder) -> list[DomainEvent]:
    event = ReminderSet(
        user_id=command.user_id,
        enabled=command.enabled,
        time=check_time(command.time),
        days=check_days(tuple(command.days)),
        time_zone=check_time_zone(command.time_zone),
        by_push=command.by_push,
        by_email=command.by_email,
        quiet_days=check_quiet_days(command.quiet_days),
    )
    if command.enabled and not (command.by_push or command.by_email):
        raise ValidationFailed("choose push, e-mail or both for the reminder", field="byPush")
    current = (
        state.enabled,
        state.time,
        state.days,
        state.time_zone,
        state.by_push,
        state.by_email,
        state.quiet_days,
    )
    new = (
        event.enabled,
        event.time,
        event.days,
        event.time_zone,
        event.by_push,
        event.by_email,
        event.quiet_days,
    )
    return [] if current == new else [event]


def decide_add_push(state: Reminder, command: AddPushSubscription) -> list[DomainEvent]:
    endpoint = check_push_endpoint(command.endpoint, allow_loopback=command.allow_loopback)
    p256dh = check_key(command.p256dh, field="p256dh", min_bytes=65, max_bytes=65)
    auth = check_key(command.auth, field="auth", min_bytes=16, max_bytes=16)
    if endpoint not in state.endpoints and len(state.endpoints) >= MAX_PUSH_SUBSCRIPTIONS:
        raise ValidationFailed(
            f"at most {MAX_PUSH_SUBSCRIPTIONS} browsers may get reminders; remove one first",
            field="endpoint",
        )
    return [PushSubscriptionAdded(command.user_id, endpoint, p256dh, auth)]


def decide_remove_push(state: Reminder, command: RemovePushSubscription) -> list[DomainEvent]:
    endpoint = command.endpoint.strip()
    if endpoint not in state.endpoints:
        raise NotFound("this browser does not get reminders", field="endpoint")
    return [PushSubscriptionRemoved(command.user_id, endpoint, command.reason)]


def decide_sent(state: Reminder, command: MarkReminderSent) -> list[DomainEvent]:
    if state.last_sent is not None and state.last_sent >= command.local_date:
        return []
    return [ReminderSent(command.user_id, command.local_date)]


# --- when one is due (pure: the scheduler passes the time) ---------------------------------

LATE_BY_AT_MOST_S = 3600
"""A reminder whose time passed more than an hour ago (the server was down, or the time was
just set to earlier today) waits for the next day rather than arriving out of place."""


def due_date(
    *,
    time_hhmm: str,
    days: tuple[str, ...],
    time_zone: str,
    last_sent: str | None,
    now: datetime,
) -> date | None:
    """The local date whose reminder is due at `now`, or None if none is."""
    local = now.astimezone(ZoneInfo(time_zone))
    if DAYS[local.weekday()] not in days:
        return None
    hour, minute = (int(p) for p in time_hhmm.split(":"))
    at = datetime.combine(local.date(), time(hour, minute), tzinfo=local.tzinfo)
    late = (local - at).total_seconds()
    if not 0 <= late <= LATE_BY_AT_MOST_S:
        return None
    if last_sent is not None and last_sent >= local.date().isoformat():
        return None
    return local.date()


REMINDER_EVENTS: tuple[type[DomainEvent], ...] = (
    ReminderSet,
    PushSubscriptionAdded,
    PushSubscriptionRemoved,
    ReminderSent,
)
