"""What can go wrong with keys: a start refused over the master key, data that no longer opens."""

from __future__ import annotations

from hugmood.config import ConfigError


class MasterKeyRefused(ConfigError):
    """The master key is missing, wrong, malformed or readable by others: HugMood will not start
    (a silently new key would leave every person's data unreadable)."""


class SealedDataUnreadable(Exception):
    """An event's encrypted personal fields do not decrypt under their owner's key: they were
    altered, or moved from another event. Nothing is guessed; the event is named."""
