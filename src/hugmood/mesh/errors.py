"""The mesh's error tree: what a caller sees when a request is refused, finds no instance, or
may have been executed without an answer. Codes travel in nats.micro's error headers."""

from __future__ import annotations

BAD_REQUEST = "400"
UNAUTHENTICATED = "401"
FORBIDDEN = "403"
NOT_FOUND = "404"
CONFLICT = "409"
TOO_LARGE = "413"
TOO_MANY = "429"
INTERNAL = "500"
UNAVAILABLE = "503"
TIMEOUT = "504"


class MeshError(Exception):
    """Base of every error the mesh client raises; `code` is one of the codes above."""

    code = INTERNAL

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class Refused(MeshError):
    """The service answered with an error reply (bad input, no identity, not allowed, …)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code

    def __str__(self) -> str:
        return f"{self.code} {self.description}"


class NoInstance(MeshError):
    """No instance of the service answered within the request's deadline."""

    code = UNAVAILABLE


class OutcomeUnknown(MeshError):
    """A request that is not idempotent reached an instance that gave no answer before the
    deadline (it may have died): it may have been executed, so it is not sent again."""

    code = TIMEOUT
