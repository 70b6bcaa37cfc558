"""Web Push delivery (RFC 8030, 8291, 8292): the server's VAPID key pair, kept once in the data
folder, and a sender that encrypts a payload for one browser and POSTs it to its push service.

The push endpoint comes from a browser, that is from a person who could type anything: the
sender only ever connects to a public address (resolved here, then pinned for the connection,
so a name that resolves differently a second time cannot point it inside the network), never
follows a redirect, and reads no more of the answer than its status.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import logging
import time
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPusher

from hugmood.application.queries.reminders import PushTarget
from hugmood.private_files import private_file

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
TTL_S = 12 * 3600
"""A reminder not delivered within half a day is stale: the push service may drop it."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class VapidKeys:
    """The server's P-256 key pair that signs every push request (VAPID). Its public half is
    what browsers subscribe with (`applicationServerKey`); a new key would orphan every
    subscription, so it is made once and kept (0600) in the data folder."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        self._vapid = Vapid02(private_key)
        self.public_key = _b64url(
            private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @classmethod
    def generate(cls) -> VapidKeys:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def load_or_create(cls, path: Path) -> VapidKeys:
        if path.exists() and path.stat().st_size > 0:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise ValueError(f"{path} does not hold a P-256 VAPID key")
            private_file(path)  # tighten one an earlier version left open
            return cls(key)
        keys = cls.generate()
        pem = keys._vapid.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        private_file(path).write_bytes(pem)
        return keys

    def headers(self, endpoint: str, subject: str) -> dict[str, str]:
        parts = urlsplit(endpoint)
        claims = {
            "sub": subject,
            "aud": f"{parts.scheme}://{parts.netloc}",
            "exp": int(time.time()) + 12 * 3600,
        }
        signed: dict[str, str] = self._vapid.sign(claims)
        return signed


class PushOutcome(StrEnum):
    DELIVERED = "delivered"
    GONE = "gone"
    """The push service no longer knows this subscription (404, 410): forget it."""
    FAILED = "failed"
    REFUSED = "refused"
    """The endpoint resolved to an address that is not public: never contacted."""


class PushSender:
    def __init__(
        self,
        keys: VapidKeys,
        *,
        subject: str,
        allow_loopback: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.keys = keys
        self._subject = subject
        self._allow_loopback = allow_loopback
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=TIMEOUT_S,
                follow_redirects=False,
                trust_env=False,
                transport=self._transport,
            )
        return self._client

    async def send(self, target: PushTarget, payload: bytes) -> PushOutcome:
        subscription = {
            "endpoint": target.endpoint,
            "keys": {"p256dh": target.p256dh, "auth": target.auth},
        }
        body = WebPusher(subscription).encode(payload, "aes128gcm")["body"]
        headers = {
            **self.keys.headers(target.endpoint, self._subject),
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(TTL_S),
            "Urgency": "normal",
        }
        pinned = await self._pinned(target.endpoint)
        if pinned is None:
            return PushOutcome.REFUSED
        url, extensions = pinned
        if extensions:
            headers["Host"] = urlsplit(target.endpoint).netloc
        try:
            # Streamed and never read: only the status matters, and an endpoint that answers
            # with an endless body costs nothing.
            request = self._http().build_request(
                "POST", url, content=body, headers=headers, extensions=extensions
            )
            response = await self._http().send(request, stream=True)
            await response.aclose()
        except httpx.HTTPError as e:
            log.warning("push to %s failed: %s", urlsplit(target.endpoint).hostname, e)
            return PushOutcome.FAILED
        if response.status_code in (404, 410):
            return PushOutcome.GONE
        if 200 <= response.status_code < 300:
            return PushOutcome.DELIVERED
        log.warning(
            "push service %s answered %s", urlsplit(target.endpoint).hostname, response.status_code
        )
        return PushOutcome.FAILED

    async def _pinned(self, endpoint: str) -> tuple[str, dict[str, object]] | None:
        """The URL to connect to (the host replaced by one public address it resolves to)
        and the extensions that keep TLS checking the certificate against the name."""
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        if self._allow_loopback and host in ("127.0.0.1", "::1"):
            return endpoint, {}
        if parts.scheme != "https":
            return None
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, 443)
        except OSError as e:
            log.warning("push host %s does not resolve: %s", host, e)
            return None
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
        if not addresses or any(not a.is_global for a in addresses):
            log.warning("push host %s resolves to a non-public address; not contacted", host)
            return None
        address = sorted(addresses, key=lambda a: a.version)[0]
        netloc = f"[{address}]" if address.version == 6 else str(address)
        url = urlunsplit(("https", netloc, parts.path or "/", parts.query, ""))
        return url, {"sni_hostname": host}
