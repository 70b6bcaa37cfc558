"""Blobs in a dict: the backend of `HUGMOOD_DATABASE_URL=memory` (nothing kept on exit)."""

from __future__ import annotations

from hugmood.blobs.store import StoredBlob, blob_id_of, check_blob_id


class InMemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}

    async def put(self, data: bytes, *, owner: str | None = None) -> StoredBlob:
        blob_id = blob_id_of(data)
        return StoredBlob(blob_id, await self.put_named(blob_id, data))

    async def put_named(self, blob_id: str, data: bytes) -> bool:
        check_blob_id(blob_id)
        created = blob_id not in self._blobs
        if created:
            self._blobs[blob_id] = bytes(data)
        return created

    async def get(self, blob_id: str) -> bytes | None:
        return self._blobs.get(blob_id)

    async def delete(self, blob_id: str) -> bool:
        return self._blobs.pop(blob_id, None) is not None

    async def close(self) -> None:
        return None  # the blobs go with the object, as every other backend's outlive a close
