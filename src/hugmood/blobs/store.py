"""The blob store port: immutable byte strings kept under the sha256 of their content,
until deleted for good.

A blob's id is the lower-case hex sha256 of its bytes, so storing the same bytes twice keeps
one copy and every backend agrees on the id. A blob is written whole or not at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hugmood.domain.common import SHA256_HEX
from hugmood.unavailable import BackendUnavailable

BLOB_ID = SHA256_HEX
"""What a blob id looks like: 64 lower-case hex digits."""


class BlobStoreUnavailable(BackendUnavailable):
    """The storage could not be reached or refused the work; nothing was stored."""


def blob_id_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_blob_id(blob_id: str) -> None:
    if not BLOB_ID.match(blob_id):
        raise ValueError(f"not a blob id: {blob_id!r}")


@dataclass(frozen=True, slots=True)
class StoredBlob:
    blob_id: str
    created: bool
    """False when the same bytes were already stored (nothing was written)."""


@runtime_checkable
class NamedBlobStore(Protocol):
    """A backend that can keep bytes under an id they do not hash to: a blob moved from
    another region keeps its id (events and board content name it), sealed under a new key."""

    async def put_named(self, blob_id: str, data: bytes) -> bool:
        """Store `data` as `blob_id` unless a blob of that id is there; whether it was stored."""


class BlobStore(Protocol):
    async def put(self, data: bytes, *, owner: str | None = None) -> StoredBlob:
        """Store `data` under `blob_id_of(data)`; idempotent. `owner`: whose personal data
        the bytes are — a store that seals (`privacy.keys.blobs`) encrypts them under that
        person's key first; the backends here keep bytes as given."""
        ...

    async def get(self, blob_id: str) -> bytes | None:
        """The bytes stored under `blob_id`, or None (also for a malformed id)."""
        ...

    async def delete(self, blob_id: str) -> bool:
        """Remove the blob for good; False when there was none (also for a malformed id).
        Used when nobody may read it again (its owner's account was erased)."""
        ...

    async def close(self) -> None: ...
