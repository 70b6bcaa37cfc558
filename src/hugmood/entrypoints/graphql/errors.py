"""Turns every failure into a GraphQL error with `extensions.code` and a readable message.

Known errors keep their message and get their code; GraphQL syntax or validation errors get
`VALIDATION`; anything else is logged and shown as `INTERNAL` without internals. Outside
development, "Did you mean" hints are removed.
"""

from __future__ import annotations

import logging
import re

from graphql import GraphQLError

from hugmood.domain.errors import (
    HugMoodError,
    RateLimited,
    SecondFactorRequired,
    SocialSignInNotLinked,
)
from hugmood.edge.errors import TemporarilyReadOnly
from hugmood.observability.error_reports import report_error
from hugmood.unavailable import BackendUnavailable

log = logging.getLogger("hugmood.graphql")

_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)
_LONG_RUN = re.compile(r"[^\s,;:]{61,}")
MAX_MESSAGE_CHARS = 400
"""Messages quote what was sent; a 10,000-character input must not come back whole."""


def _brief(message: str) -> str:
    """The message with any long run of characters (an echoed input) cut to its start."""
    message = _LONG_RUN.sub(lambda m: m.group()[:40] + "…", message)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return message


def map_error(
    error: GraphQLError, *, development: bool, read_only_when_away: bool = False
) -> GraphQLError:
    """The error as HugMood shows it: a code in `extensions`, a message a person understands.
    On an edge (`read_only_when_away`), storage that is away answers `READ_ONLY`."""
    original = error.original_error
    if read_only_when_away and isinstance(original, BackendUnavailable):
        log.error("storage unavailable: %s", original)
        original = TemporarilyReadOnly()
    message, extensions = error.message, dict(error.extensions or {})
    if isinstance(original, HugMoodError):
        message = original.message
        extensions["code"] = original.code
        if original.field:
            extensions["field"] = original.field
        if original.rule:
            extensions["rule"] = original.rule
        if isinstance(original, RateLimited):
            extensions["retryAfterSeconds"] = round(original.retry_after_s, 1)
        if isinstance(original, SecondFactorRequired):
            extensions["mfaToken"] = original.mfa_token
            extensions["methods"] = original.methods
        if isinstance(original, SocialSignInNotLinked):
            extensions["linkToken"] = original.link_token
        extensions.update(getattr(original, "extensions", None) or {})
    elif isinstance(original, BackendUnavailable):
        log.error("storage unavailable: %s", original)
        message = (
            original.shown or "HugMood's storage is unavailable right now; please try again shortly"
        )
        extensions["code"] = "UNAVAILABLE"
    elif error.path is not None and original is not None:
        # Raised inside a resolver and not one of ours: a bug. Input errors (bad
        # variables, unparsable scalars) have no path and fall through to VALIDATION.
        # Reported without its message, which may quote what a person sent.
        report_error(original)
        message = "something went wrong on our side; the request was not completed"
        extensions["code"] = "INTERNAL"
    else:
        extensions.setdefault("code", "VALIDATION")
        if not development:
            message = _SUGGESTION.sub("", message)
    return GraphQLError(
        _brief(message),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )
