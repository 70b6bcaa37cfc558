"""E-mail over SMTP (the standard library's `smtplib`, run off the event loop): reminders,
address codes and password-reset links. Off unless `HUGMOOD_SMTP_HOST` is set."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

from hugmood.unavailable import BackendUnavailable

TIMEOUT_S = 20.0


class MailUnavailable(BackendUnavailable):
    """The SMTP server could not be reached or refused the message; nothing was sent."""


@dataclass(frozen=True, slots=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = ""
    password: str = ""

    async def send(self, to: str, subject: str, body: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2].strip("> "))
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        try:
            smtp: smtplib.SMTP
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT_S, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_S)
            with smtp:
                if self.security == "starttls":
                    smtp.starttls(context=context)
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as e:
            raise MailUnavailable(f"the mail server {self.host}:{self.port} refused: {e}") from e
