"""Reminder rules: what a reminder setting accepts, when one is due, and a push sender that
never connects to an address inside the network."""

from __future__ import annotations

import asyncio
import socket
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from hugmood.application.queries.reminders import PushTarget
from hugmood.domain import reminders as rr
from hugmood.domain.errors import ValidationFailed
from hugmood.reminders.push import PushOutcome, PushSender, VapidKeys
from tests.mailpush import BrowserSubscription


def recording(requests: list[httpx.Request]) -> httpx.MockTransport:
    """A push service stand-in that answers 201 and keeps each request."""

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(201)

    return httpx.MockTransport(answer)


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"time": "25:00"}, "time", "HH:MM"),
        ({"time": "8pm"}, "time", "HH:MM"),
        ({"days": ("mon", "someday")}, "days", "among mon"),
        ({"days": ()}, "days", "at least one day"),
        ({"time_zone": "Mars/Olympus"}, "timeZone", "IANA"),
        ({"time_zone": "../../etc/passwd"}, "timeZone", "IANA"),
        ({"by_push": False, "by_email": False}, "byPush", "push, e-mail or both"),
    ],
)
def test_a_reminder_setting_that_makes_no_sense_is_refused_by_name(
    change: dict[str, Any], field: str, says: str
) -> None:
    command = rr.SetReminder("u1", True, **change)
    with pytest.raises(ValidationFailed, match=says) as e:
        rr.decide_set(rr.Reminder(), command)
    assert e.value.field == field


def test_days_may_be_spelt_out_and_come_back_in_week_order() -> None:
    assert rr.check_days(("Sunday", "mon", "MON")) == ("mon", "sun")


def test_a_reminder_is_due_from_its_local_time_for_an_hour_on_its_days() -> None:
    def due(hour: int, minute: int, last: str | None = None) -> object:
        return rr.due_date(
            time_hhmm="21:30",
            days=("fri",),
            time_zone="America/New_York",
            last_sent=last,
            now=datetime(2026, 7, 4, hour, minute, tzinfo=UTC),  # Saturday in UTC
        )

    assert due(1, 29) is None  # 21:29 on Friday in New York
    assert str(due(1, 30)) == "2026-07-03"
    assert str(due(2, 30)) == "2026-07-03"
    assert due(2, 31) is None  # more than an hour late: wait for next Friday
    assert due(1, 45, last="2026-07-03") is None


async def test_the_sender_does_not_connect_where_a_push_host_resolves_inside_the_network(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requests: list[httpx.Request] = []

    async def resolves_inside(host: str, port: int, **_: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolves_inside)
    sender = PushSender(
        VapidKeys.generate(),
        subject="mailto:ops@example.org",
        transport=recording(requests),
    )
    browser = BrowserSubscription("https://push.example.org/abc")
    target = PushTarget(browser.endpoint, browser.p256dh, browser.auth)
    assert await sender.send(target, b"{}") is PushOutcome.REFUSED
    assert requests == []
    await sender.close()


async def test_the_sender_pins_the_public_address_it_checked_and_keeps_the_name_for_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requests: list[httpx.Request] = []

    async def resolves_public(host: str, port: int, **_: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolves_public)
    sender = PushSender(
        VapidKeys.generate(),
        subject="mailto:ops@example.org",
        transport=recording(requests),
    )
    browser = BrowserSubscription("https://push.example.org/abc")
    target = PushTarget(browser.endpoint, browser.p256dh, browser.auth)
    assert await sender.send(target, b'{"body": "hi"}') is PushOutcome.DELIVERED
    (request,) = requests
    assert request.url.host == "93.184.215.14"
    assert request.headers["Host"] == "push.example.org"
    assert request.extensions["sni_hostname"] == "push.example.org"
    assert browser.decrypt(request.content) == b'{"body": "hi"}'
    await sender.close()


def test_the_vapid_key_is_made_once_and_kept_private(tmp_path: Any) -> None:
    path = tmp_path / "keys" / "vapid-private.pem"
    first = VapidKeys.load_or_create(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert VapidKeys.load_or_create(path).public_key == first.public_key


async def test_the_sender_follows_no_redirect_from_a_push_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    requests: list[httpx.Request] = []

    async def resolves_public(host: str, port: int, **_: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    def redirect(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(307, headers={"Location": "http://169.254.169.254/latest"})

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", resolves_public)
    sender = PushSender(
        VapidKeys.generate(),
        subject="mailto:ops@example.org",
        transport=httpx.MockTransport(redirect),
    )
    browser = BrowserSubscription("https://push.example.org/abc")
    target = PushTarget(browser.endpoint, browser.p256dh, browser.auth)
    assert await sender.send(target, b"{}") is PushOutcome.FAILED
    assert [r.url.host for r in requests] == ["93.184.215.14"]
    await sender.close()
