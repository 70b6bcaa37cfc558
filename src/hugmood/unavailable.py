"""The parent of every "a backend could not be reached" error: the event store, the read-model
database, the blob store, the real-time hub. Each backend raises its own subclass, with the
cause chained; the edges answer them all alike (`UNAVAILABLE`, HTTP 503: nothing was
acknowledged, try again) by catching this one class."""

from __future__ import annotations


class BackendUnavailable(Exception):
    """A backend could not be reached or refused the work; nothing was acknowledged."""

    shown: str | None = None
    """What a person may be told instead of the generic "storage is unavailable" (set only
    for messages written by HugMood, never from a library's error)."""
