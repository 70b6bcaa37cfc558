"""Accounts, profiles and sessions: commands, events and the rules between them."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from hugmood.domain.common import DomainEvent, PersonalData, clean_text, shown
from hugmood.domain.errors import Conflict, NotFound, ValidationFailed
from hugmood.domain.privacy import Privacy
from hugmood.domain.vocabulary import REGIONS
from hugmood.ids import SessionId, UserId

_USER_NAMESPACE = uuid.UUID("5b2f3a52-6f1e-4d0c-9a57-4c1f6d1e2b90")
_HANDLE = re.compile(r"^[a-z][a-z0-9_]{2,29}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


def normalise_handle(handle: str) -> str:
    """Handles are case-insensitive: `@Alice` and `alice` are the same account."""
    value = handle.strip().removeprefix("@").lower()
    if not _HANDLE.match(value):
        raise ValidationFailed(
            "handle must be 3–30 characters: a letter, then letters, digits or underscores",
            field="handle",
        )
    return value


def user_id_for(handle: str) -> str:
    """A user's id is derived from the handle, so registering claims it atomically.

    Appending the first event to `user-<id>` with "no stream yet" is what makes two racing
    registrations of one handle resolve to exactly one account.
    """
    return str(uuid.uuid5(_USER_NAMESPACE, normalise_handle(handle)))


def user_stream(user_id: UserId) -> str:
    return f"user-{user_id}"


def session_stream(session_id: SessionId) -> str:
    return f"session-{session_id}"


def check_password(password: str, handle: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"password must be at most {MAX_PASSWORD_LENGTH} characters", field="password"
        )
    if password.strip().lower() == handle:
        raise ValidationFailed("password must not be your handle", field="password")


# Characters that change how text around them is shown, or show nothing at all: with them a
# name can pass for another (`adm\u202eni` displays as "adminı"…) or look empty.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u2800\u3164\uffa0")
_ZWJ = "\u200d"


def _spoofing_character(name: str) -> str | None:
    """The first character a display name may not hold (format, bidi, invisible, odd spaces)."""
    for i, ch in enumerate(name):
        category = unicodedata.category(ch)
        if ch == _ZWJ and 0 < i < len(name) - 1 and _joins_emoji(name[i - 1], name[i + 1]):
            continue  # 👩‍💻: the joiner inside an emoji sequence is part of the picture
        if category in ("Cf", "Zl", "Zp", "Co", "Cn") or ch in _INVISIBLE_LETTERS:
            return ch
        if category == "Zs" and ch != " ":
            return ch
    return None


def _joins_emoji(before: str, after: str) -> bool:
    return all(unicodedata.category(c) == "So" or c == "\ufe0f" for c in (before, after))


def clean_display_name(value: str) -> str:
    name = clean_text(value, field="displayName", min_length=1, max_length=50)
    bad = _spoofing_character(name)
    if bad is not None:
        raise ValidationFailed(
            "displayName must not contain invisible or text-direction characters "
            f"(found U+{ord(bad):04X} {unicodedata.name(bad, 'unnamed')})",
            field="displayName",
        )
    return name


def clean_bio(value: str) -> str:
    return clean_text(value, field="bio", max_length=300, multiline=True)


def check_region(region: str) -> str:
    value = region.strip().lower()
    if value not in REGIONS:
        raise ValidationFailed(
            f"homeRegion must be one of {', '.join(sorted(REGIONS))} (got {shown(region)})",
            field="homeRegion",
        )
    return value


def check_country(country: str) -> str:
    value = country.strip().upper()
    if len(value) != 2 or not value.isascii() or not value.isalpha():
        raise ValidationFailed(
            f"country must be a two-letter ISO 3166-1 code, like DE (got {shown(country)})",
            field="country",
        )
    return value


# --- commands -------------------------------------------------------------------------------


NEW_ACCOUNT_VISIBILITY = Privacy.PRIVATE
"""Mood entries are health data: a new account shares nothing until its person chooses to."""


@dataclass(frozen=True, slots=True)
class RegisterUser:
    handle: str
    display_name: str
    password: str
    home_region: str | None
    """Set by the handler from `country` (regions.geography); older clients name it alone."""
    default_visibility: str | None = None
    """Who sees check-ins made without a choice of their own; `NEW_ACCOUNT_VISIBILITY` if None."""
    country: str | None = None
    """ISO 3166-1 alpha-2; it decides the home region and the rules that apply (None: the
    server's default country, `HUGMOOD_DEFAULT_COUNTRY`)."""


@dataclass(frozen=True, slots=True)
class LogIn:
    handle: str
    password: str
    device: str | None = None
    device_proof: str | None = None
    """Handed to this device by its last successful login here: it is let in even while
    strangers' failures have the account shut to unknown devices."""


@dataclass(frozen=True, slots=True)
class LogOut:
    user_id: UserId
    session_id: SessionId


@dataclass(frozen=True, slots=True)
class LogOutEverywhere:
    """End every open session of this user: each of their devices has to log in again."""

    user_id: UserId


@dataclass(frozen=True, slots=True)
class DeleteAccount:
    """Erase this account (GDPR art. 17): its data key is destroyed, so everything it wrote
    stops being readable anywhere, and every store forgets it. Needs the password."""

    user_id: UserId
    password: str
    grace_days: int = 0
    """Days before the erasure, during which it can be cancelled (0: at once)."""


@dataclass(frozen=True, slots=True)
class ChangePassword:
    """Replace the password; every session but `keep_session_id` ends."""

    user_id: UserId
    current_password: str
    new_password: str
    keep_session_id: str | None = None


@dataclass(frozen=True, slots=True)
class UpdateProfile:
    user_id: UserId
    display_name: str | None = None
    bio: str | None = None
    default_visibility: str | None = None
    appear_offline: bool | None = None


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    """One try at a password (or a second factor), as login throttling sees it."""

    handle: str
    """The normalised handle tried (existing or not: the answer reveals nothing)."""
    source: str
    """Where the attempt came from (the client's address), "" if unknown."""
    device_proof: str | None = None
    """What an earlier successful login on this device handed it (`succeeded`), if any."""


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UserRegistered(DomainEvent):
    EVENT_TYPE = "UserRegistered"
    PERSONAL = PersonalData({"displayName": "", "passwordHash": ""})
    user_id: UserId
    handle: str
    display_name: str
    home_region: str
    password_hash: str
    default_visibility: str = Privacy.FRIENDS_ONLY.value
    """Events written before the choice existed carry none: those accounts shared with
    friends. New registrations always record it (`NEW_ACCOUNT_VISIBILITY` unless chosen)."""
    country: str = ""
    """Where the person lives (ISO 3166-1 alpha-2), in clear: the server applies its rules
    and routes by it. Empty on events from before countries were asked: read as the home
    region's default country. Changed only by a documented migration, never by a command."""


@dataclass(frozen=True, slots=True)
class ProfileUpdated(DomainEvent):
    EVENT_TYPE = "ProfileUpdated"
    PERSONAL = PersonalData({"displayName": "", "bio": ""})
    user_id: UserId
    display_name: str
    bio: str
    default_visibility: str
    appear_offline: bool = False
    """Friends see this user as offline whatever their devices say."""


@dataclass(frozen=True, slots=True)
class PasswordChanged(DomainEvent):
    EVENT_TYPE = "PasswordChanged"
    PERSONAL = PersonalData({"passwordHash": ""})
    user_id: UserId
    password_hash: str


@dataclass(frozen=True, slots=True)
class SessionStarted(DomainEvent):
    EVENT_TYPE = "SessionStarted"
    session_id: SessionId
    user_id: UserId
    token_hash: str
    expires_at_ms: int
    device: str | None = None


@dataclass(frozen=True, slots=True)
class SessionEnded(DomainEvent):
    EVENT_TYPE = "SessionEnded"
    session_id: SessionId
    user_id: UserId
    reason: str


@dataclass(frozen=True, slots=True)
class UserErased(DomainEvent):
    """The account was erased: every consumer forgets the person in its own store. The
    handle stays retired (it is the account's id), so nobody can take over an erased
    person's name in their friends' eyes."""

    EVENT_TYPE = "UserErased"
    user_id: UserId
    handle: str
    boards_owned: tuple[str, ...] = ()
    """Boards the person owned: their content is destroyed with them."""
    boards_joined: tuple[str, ...] = ()
    """Boards the person was a member of: rewritten without the items they added."""
    moved_to: str | None = None
    """Set when the person moved to another region (`hugmood region move`): this region
    forgets them as it forgets anyone erased, except what their friends here keep — the
    friendships, the hugs they exchanged, and the person's place on their boards — for the
    person now lives abroad (decision 0029)."""


@dataclass(frozen=True, slots=True)
class HomeRegionChanged(DomainEvent):
    """The person's data arrived here from `from_region` (`hugmood region move`): this is
    their home region now, and `country` their country."""

    EVENT_TYPE = "HomeRegionChanged"
    user_id: UserId
    from_region: str
    home_region: str
    country: str


# --- state and decisions --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Account:
    user_id: UserId
    handle: str
    display_name: str
    bio: str
    default_visibility: Privacy
    password_hash: str
    appear_offline: bool = False
    country: str = ""
    home_region: str = ""


def evolve_account(state: Account | None, event: DomainEvent) -> Account | None:
    match event:
        case UserRegistered():
            return Account(
                user_id=event.user_id,
                handle=event.handle,
                display_name=event.display_name,
                bio="",
                default_visibility=Privacy(event.default_visibility),
                password_hash=event.password_hash,
                country=event.country,
                home_region=event.home_region,
            )
        case ProfileUpdated() if state is not None:
            return replace(
                state,
                display_name=event.display_name,
                bio=event.bio,
                default_visibility=Privacy(event.default_visibility),
                appear_offline=event.appear_offline,
            )
        case PasswordChanged() if state is not None:
            return replace(state, password_hash=event.password_hash)
        case HomeRegionChanged() if state is not None:
            return replace(state, home_region=event.home_region, country=event.country)
        case UserErased():
            # An erased account is gone: it can neither log in nor be found (nor can one that
            # moved away, here).
            return None
    return state


def decide_delete_account(
    state: Account | None,
    command: DeleteAccount,
    *,
    boards_owned: tuple[str, ...] = (),
    boards_joined: tuple[str, ...] = (),
) -> list[DomainEvent]:
    """The password was verified by the caller (hashing is not the domain's), who also says
    which boards the person is on."""
    if state is None:
        raise NotFound("this account does not exist or was already erased")
    return [UserErased(state.user_id, state.handle, boards_owned, boards_joined)]


def decide_change_password(
    state: Account | None, command: ChangePassword, new_hash: str
) -> list[DomainEvent]:
    """The current password was verified by the caller (hashing is not the domain's)."""
    if state is None:
        raise NotFound("this account does not exist")
    try:
        check_password(command.new_password, state.handle)
    except ValidationFailed as e:
        raise ValidationFailed(f"new {e.message}", field="newPassword") from None
    if command.new_password == command.current_password:
        raise ValidationFailed(
            "the new password must differ from the current one", field="newPassword"
        )
    return [PasswordChanged(state.user_id, new_hash)]


def decide_register(
    state: Account | None, command: RegisterUser, password_hash: str
) -> list[DomainEvent]:
    handle = normalise_handle(command.handle)
    if state is not None:
        raise Conflict(f"the handle @{handle} is already taken", field="handle")
    visibility = (
        NEW_ACCOUNT_VISIBILITY
        if command.default_visibility is None
        else Privacy.parse(command.default_visibility, field="defaultVisibility")
    )
    return [
        UserRegistered(
            user_id=user_id_for(handle),
            handle=handle,
            display_name=clean_display_name(command.display_name),
            home_region=check_region(command.home_region or ""),
            password_hash=password_hash,
            default_visibility=visibility.value,
            country=check_country(command.country) if command.country else "",
        )
    ]


def decide_update_profile(state: Account | None, command: UpdateProfile) -> list[DomainEvent]:
    if state is None:
        raise NotFound("this account does not exist")
    display_name = (
        state.display_name
        if command.display_name is None
        else clean_display_name(command.display_name)
    )
    bio = state.bio if command.bio is None else clean_bio(command.bio)
    visibility = (
        state.default_visibility
        if command.default_visibility is None
        else Privacy.parse(command.default_visibility, field="defaultVisibility")
    )
    appear_offline = (
        state.appear_offline if command.appear_offline is None else command.appear_offline
    )
    if (display_name, bio, visibility, appear_offline) == (
        state.display_name,
        state.bio,
        state.default_visibility,
        state.appear_offline,
    ):
        return []
    return [ProfileUpdated(state.user_id, display_name, bio, visibility.value, appear_offline)]


@dataclass(frozen=True, slots=True)
class Session:
    session_id: SessionId
    user_id: UserId
    expires_at_ms: int
    ended: bool


def evolve_session(state: Session | None, event: DomainEvent) -> Session | None:
    match event:
        case SessionStarted():
            return Session(event.session_id, event.user_id, event.expires_at_ms, ended=False)
        case SessionEnded() if state is not None:
            return Session(state.session_id, state.user_id, state.expires_at_ms, ended=True)
    return state


def decide_log_out(state: Session | None, command: LogOut) -> list[DomainEvent]:
    if state is None or state.user_id != command.user_id:
        raise NotFound("no such session")
    if state.ended:
        return []
    return [SessionEnded(state.session_id, state.user_id, reason="logout")]


def session_expiry_ms(now: datetime, ttl_hours: float) -> int:
    return int(now.timestamp() * 1000 + ttl_hours * 3_600_000)


IDENTITY_EVENTS: tuple[type[DomainEvent], ...] = (
    UserRegistered,
    ProfileUpdated,
    PasswordChanged,
    SessionStarted,
    SessionEnded,
    UserErased,
    HomeRegionChanged,
)
