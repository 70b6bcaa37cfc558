"""Real local peers for delivery tests: an SMTP server (aiosmtpd) that keeps what it receives,
and an HTTP push service stand-in (aiohttp) whose messages are decrypted with the keys of a
browser-like subscription (RFC 8291), as a browser would."""

from __future__ import annotations

import base64
import email
import email.policy
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import http_ece
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Inbox:
    """What the local SMTP server received, in order."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp_inbox() -> Iterator[Inbox]:
    inbox = Inbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class BrowserSubscription:
    """The keys a browser makes for a push subscription: only it can read the messages."""

    endpoint: str
    private_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth_secret: bytes = field(default_factory=lambda: __import__("os").urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    @property
    def auth(self) -> str:
        return b64url(self.auth_secret)

    def decrypt(self, body: bytes) -> bytes:
        plain: bytes = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth_secret, version="aes128gcm"
        )
        return plain


@dataclass
class PushService:
    """Accepts POSTs on /push/<id> like a push service (201); ids in `gone` answer 410."""

    base: str
    received: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)

    def subscription(self, name: str) -> BrowserSubscription:
        return BrowserSubscription(f"{self.base}/push/{name}")


@pytest.fixture
async def push_service() -> AsyncIterator[PushService]:
    port = free_port()
    service = PushService(f"http://127.0.0.1:{port}")

    async def receive(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        service.received.append((name, dict(request.headers), await request.read()))
        return web.Response(status=410 if name in service.gone else 201)

    app = web.Application()
    app.router.add_post("/push/{name}", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield service
    finally:
        await runner.cleanup()
