"""The one error tree of HugMood; every entry point maps these to its own error shape."""

from __future__ import annotations


class HugMoodError(Exception):
    """Base of every error a user may see. `code` is the stable, documented error code."""

    code = "INTERNAL"

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.rule = rule
        """The regional rule that refused (`DE.age.public_profile`), shown as `extensions.rule`."""


class ValidationFailed(HugMoodError):
    """The input is malformed or breaks a rule; nothing was written."""

    code = "VALIDATION"


class Unauthenticated(HugMoodError):
    """No valid session, or the credentials were wrong."""

    code = "UNAUTHENTICATED"


class Forbidden(HugMoodError):
    """The caller is known but may not do this."""

    code = "FORBIDDEN"


class NotFound(HugMoodError):
    """The thing does not exist, or the caller may not know that it does."""

    code = "NOT_FOUND"


class Conflict(HugMoodError):
    """The request clashes with the current state (taken handle, concurrent edit, …)."""

    code = "CONFLICT"


class RateLimited(HugMoodError):
    """Too many attempts; `retry_after_s` says when to try again."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class SecondFactorRequired(HugMoodError):
    """The password was right and the sign-in needs one more step: `mfa_token` (short-lived,
    not a session) goes with a code or a passkey, or with setting a second factor up."""

    code = "MFA_REQUIRED"

    def __init__(self, message: str, *, mfa_token: str, methods: list[str]) -> None:
        super().__init__(message)
        self.mfa_token = mfa_token
        self.methods = methods


class WrongRegion(HugMoodError):
    """The request reached a region that does not keep this person's data: it is refused,
    never served from the wrong region's stores."""

    code = "WRONG_REGION"


class SocialSignInNotLinked(HugMoodError):
    """The provider vouched for someone no HugMood account has claimed: `link_token` lets
    the owner of an account link it, by signing in with their password."""

    code = "NOT_LINKED"

    def __init__(self, message: str, *, link_token: str) -> None:
        super().__init__(message)
        self.link_token = link_token
