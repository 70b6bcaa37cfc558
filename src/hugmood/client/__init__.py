"""The local-first HugMood client: SDK, encrypted vault, offline outbox, sync, analysis.

`AsyncHugMoodClient` and its blocking twin `HugMoodClient` speak to the server; `Device`
keeps a user's check-ins in an encrypted `Vault` and syncs them exactly once.
"""

from hugmood.client.api import AsyncHugMoodClient, EntryResult, MoodChanges, Session
from hugmood.client.blocking import HugMoodClient
from hugmood.client.device import Device
from hugmood.client.errors import (
    ApiError,
    ClientError,
    InvalidInput,
    NotLoggedIn,
    Offline,
    VaultTampered,
    WrongPassphrase,
)
from hugmood.client.records import Insights, LocalEntry
from hugmood.client.sync import SyncReport
from hugmood.client.vault import Vault

__all__ = [
    "ApiError",
    "AsyncHugMoodClient",
    "ClientError",
    "Device",
    "EntryResult",
    "HugMoodClient",
    "Insights",
    "InvalidInput",
    "LocalEntry",
    "MoodChanges",
    "NotLoggedIn",
    "Offline",
    "Session",
    "SyncReport",
    "Vault",
    "VaultTampered",
    "WrongPassphrase",
]
