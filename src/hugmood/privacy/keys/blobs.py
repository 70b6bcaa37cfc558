"""Images people add (board images, mood photos) sealed under their owner's data key before
any backend stores them, so erasing the person makes them unreadable in every copy.

A sealed blob is `HMB1`, the owner's id, and the image encrypted with AES-256-GCM-SIV under
the owner's key (associated data: the owner). GCM-SIV is safe with a fixed nonce and then
deterministic: the same person adding the same bytes twice stores one blob, as before; nobody
else's upload of the same bytes shares it. Its id is the sha256 of the sealed bytes, which
says nothing about the image. Blobs stored before sealing existed are served as they are.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag

from hugmood.blobs.store import BlobStore, NamedBlobStore, StoredBlob
from hugmood.privacy.keys.datakeys import DataKeyStore
from hugmood.privacy.keys.errors import SealedDataUnreadable

MAGIC = b"HMB1"
NONCE = bytes(12)
"""Fixed: GCM-SIV stays secure when a nonce repeats, and it makes sealing deterministic."""


class SealedBlobStore:
    """A `BlobStore` that encrypts what an owner puts under that owner's data key."""

    def __init__(self, inner: BlobStore, keys: DataKeyStore) -> None:
        self._inner = inner
        self._keys = keys

    async def put(self, data: bytes, *, owner: str | None = None) -> StoredBlob:
        if owner is None:
            return await self._inner.put(data)
        return await self._inner.put(await self._seal(data, owner))

    async def _seal(self, data: bytes, owner: str) -> bytes:
        key = await self._keys.for_writing(owner)  # made if new; NotFound once erased
        name = owner.encode()
        return MAGIC + bytes([len(name)]) + name + key.siv.encrypt(NONCE, data, _aad(name))

    async def put_moved(self, blob_id: str, data: bytes, *, owner: str) -> bool:
        """Keep a blob moved from another region under the id it had there (`hugmood region
        move`), sealed under its owner's key here; whether it was stored now."""
        if not isinstance(self._inner, NamedBlobStore):
            raise TypeError("this blob store cannot keep a blob under a given id")
        return await self._inner.put_named(blob_id, await self._seal(data, owner))

    async def get(self, blob_id: str) -> bytes | None:
        raw = await self._inner.get(blob_id)
        if raw is None or not raw.startswith(MAGIC):
            return raw
        size = raw[len(MAGIC)]
        name = raw[len(MAGIC) + 1 : len(MAGIC) + 1 + size]
        key = (await self._keys.for_reading([name.decode()])).get(name.decode())
        if key is None:
            return None  # its owner was erased: the image is gone for everyone
        try:
            return key.siv.decrypt(NONCE, raw[len(MAGIC) + 1 + size :], _aad(name))
        except InvalidTag as e:
            raise SealedDataUnreadable(f"the stored blob {blob_id} was altered") from e

    async def delete(self, blob_id: str) -> bool:
        return await self._inner.delete(blob_id)

    async def close(self) -> None:
        await self._inner.close()


def _aad(owner: bytes) -> bytes:
    return b"hugmood blob\x00" + owner
