"""Blobs as files, `<root>/<first two hex digits>/<sha256>`: the backend beside SQLite.

A blob is written to a temporary file in its final folder, fsync'd, renamed into place (an
atomic replace on POSIX) and the folder fsync'd, so a crash leaves the whole blob or none
of it under its name; a leftover `.tmp-*` file is never read. Writers of the same bytes race
harmlessly: both renames put identical content under the same name.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

from hugmood.blobs.store import BLOB_ID, BlobStoreUnavailable, StoredBlob, blob_id_of, check_blob_id
from hugmood.private_files import private_dir


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, blob_id: str) -> Path:
        return self.root / blob_id[:2] / blob_id

    async def put(self, data: bytes, *, owner: str | None = None) -> StoredBlob:
        blob_id = blob_id_of(data)
        return StoredBlob(blob_id, await self.put_named(blob_id, data))

    async def put_named(self, blob_id: str, data: bytes) -> bool:
        check_blob_id(blob_id)
        try:
            return await asyncio.to_thread(self._write, self.path_of(blob_id), data)
        except OSError as e:
            raise BlobStoreUnavailable(f"cannot store the blob: {e}") from e

    async def get(self, blob_id: str) -> bytes | None:
        if not BLOB_ID.match(blob_id):
            return None
        try:
            return await asyncio.to_thread(self._read, self.path_of(blob_id))
        except OSError as e:
            raise BlobStoreUnavailable(f"cannot read the blob: {e}") from e

    async def delete(self, blob_id: str) -> bool:
        if not BLOB_ID.match(blob_id):
            return False
        try:
            return await asyncio.to_thread(self._remove, self.path_of(blob_id))
        except OSError as e:
            raise BlobStoreUnavailable(f"cannot delete the blob: {e}") from e

    async def close(self) -> None:
        return None

    @staticmethod
    def _remove(path: Path) -> bool:
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # the removal survives a power cut
        finally:
            os.close(folder)
        return True

    @staticmethod
    def _read(path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None

    @staticmethod
    def _write(path: Path, data: bytes) -> bool:
        if path.exists():
            return False
        private_dir(path.parent)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # the rename itself survives a power cut
        finally:
            os.close(folder)
        return True
