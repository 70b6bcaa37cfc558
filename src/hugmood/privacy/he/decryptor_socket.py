"""The decryption service on one machine without NATS: JSON lines on a Unix socket created
0600 in its directory (only this user may connect), and the aggregation job's client for it."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hugmood.privacy.he.community import MAX_CONTRIBUTIONS
from hugmood.privacy.he.decryptor import (
    MAX_LINE,
    SOCKET,
    DecryptionService,
    ReleaseRequests,
    raise_refusal,
)
from hugmood.privacy.he.errors import DecryptionServiceUnavailable
from hugmood.privacy.he.keys import PublicKey, public_key_from_json


async def serve_socket(service: DecryptionService, directory: Path) -> None:
    """Answer on `directory/decryptor.sock` (0600) until cancelled: one machine, no NATS."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                except ValueError:
                    request = None
                # Decryption and noise are a few ms of CPU; one request at a time keeps
                # the budget ledger and the audit log in order without more locking.
                response = service.handle(request)
                writer.write(json.dumps(response).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.LimitOverrunError, ValueError):
            pass  # a client that went away or sent an over-long line: drop its connection
        finally:
            writer.close()

    path = directory / SOCKET
    path.unlink(missing_ok=True)
    old_mask = os.umask(0o177)  # the socket is created 0600: only this user may connect
    try:
        server = await asyncio.start_unix_server(answer, path, limit=MAX_LINE)
    finally:
        os.umask(old_mask)
    print(f"decryptor ready on {path}", flush=True)
    async with server:
        await server.serve_forever()


class SocketDecryptionClient:
    """The aggregation job's side of the Unix socket (one machine, no NATS)."""

    def __init__(self, directory: Path, job_secret: bytes | None, *, requester: str) -> None:
        self._path = directory / SOCKET
        self._requests = ReleaseRequests(job_secret, requester, MAX_CONTRIBUTIONS)

    async def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            reader, writer = await asyncio.open_unix_connection(self._path, limit=MAX_LINE)
        except OSError as e:
            raise DecryptionServiceUnavailable(f"no decryption service at {self._path}") from e
        try:
            writer.write(json.dumps(request).encode() + b"\n")
            await writer.drain()
            line = await reader.readline()
        finally:
            writer.close()
        if not line:
            raise DecryptionServiceUnavailable("the decryption service closed the connection")
        answer: dict[str, Any] = json.loads(line)
        if not answer.get("ok"):
            raise_refusal(str(answer.get("error", "")), str(answer.get("message")))
        return answer

    async def public_key(self) -> PublicKey:
        return public_key_from_json((await self._ask({"op": "public-key"}))["publicKey"])

    async def release(
        self,
        public_key: PublicKey,
        cohort: str,
        contributions: Sequence[int],
        *,
        epsilon: float = 1.0,
    ) -> dict[str, Any]:
        """Ask for one cohort's noisy sums (one request: a socket line has room for all)."""
        answer: dict[str, Any] = {}
        for request in self._requests.parts(public_key, cohort, contributions, epsilon):
            answer = await self._ask(request)
        result: dict[str, Any] = answer["release"]
        return result

    async def aclose(self) -> None:
        """Nothing is held open between requests."""
