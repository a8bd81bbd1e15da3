"""Notice channels behind one interface, and the sender that drains the notices outbox.

Channels: ``log`` (default; writes to the ``library.notices`` logger), ``email`` (SMTP), ``sms``
and ``wechat`` (HTTP gateways that accept a JSON POST). ``LIBRARY_NOTICE_CHANNELS`` lists the
enabled ones in order of preference, e.g. ``"wechat,sms,email,log"``; each notice goes through
the first that can reach the reader.

At most once: a batch of pending notices is *claimed* (``claimed_at``, attempts + 1) and committed
before anything is sent — on PostgreSQL with ``FOR UPDATE SKIP LOCKED`` so two senders never
claim the same row; ``sent_at`` is written after the send. A send that fails with a known error
releases the claim for a retry; a crash between claim and send leaves the notice claimed and
unsent rather than sending it twice."""

from __future__ import annotations

import json
import logging
import os
import smtplib
import urllib.error
import urllib.request
from email.message import EmailMessage
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import select

from circulation.models import Notice
from library import clock
from library.db import get_database
from library.models import Reader

log = logging.getLogger("library.notices")
MAX_ATTEMPTS = 5


class ChannelError(Exception):
    """The channel could not deliver (the notice may be retried)."""


class Unreachable(ChannelError):
    """The channel cannot reach this reader (no address, not bound): try the next channel."""


class Channel(Protocol):
    name: str

    def address_for(self, reader: Reader) -> str | None:
        """Where this channel would send to the reader, or None if it cannot reach them."""

    def send(self, notice: Notice, reader: Reader, address: str) -> None:
        """Deliver; raise ChannelError (or Unreachable) on failure."""


class LogChannel:
    name = "log"

    def address_for(self, reader: Reader) -> str | None:
        return reader.card_number

    def send(self, notice: Notice, reader: Reader, address: str) -> None:
        log.info("notice %s to %s (%s): %s — %s", notice.kind, reader.card_number, reader.name, notice.subject,
                 notice.body)


class SmtpChannel:
    name = "email"

    def __init__(self, host: str, port: int = 25, sender: str = "library@localhost", username: str = "",
                 password: str = "", starttls: bool = False, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password, self.starttls, self.timeout = username, password, starttls, timeout

    def address_for(self, reader: Reader) -> str | None:
        return reader.email or None

    def send(self, notice: Notice, reader: Reader, address: str) -> None:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = address
        msg["Subject"] = notice.subject
        msg.set_content(notice.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls()
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise ChannelError(str(exc)) from exc


class HttpGatewayChannel:
    """A gateway that takes ``POST {url}`` with JSON ``{"to", "subject", "text", "kind", "id"}`` and
    a bearer token; 2xx means accepted, 404/410 or ``{"ok": false, "error": "unreachable"}`` means
    it cannot reach that reader."""

    name = "http"

    def __init__(self, url: str, token: str = "", timeout: float = 10.0) -> None:
        self.url, self.token, self.timeout = url, token, timeout

    def address_for(self, reader: Reader) -> str | None:
        """Where this gateway reaches the reader; each concrete gateway says (phone, WeChat id)."""
        raise TypeError(f"{type(self).__name__} does not say how it reaches a reader")

    def send(self, notice: Notice, reader: Reader, address: str) -> None:
        payload = json.dumps({"to": address, "subject": notice.subject, "text": notice.body, "kind": notice.kind,
                              "id": notice.dedup_key}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.url, data=payload, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (configured URL)
                body = response.read()
        except urllib.error.HTTPError as exc:
            if exc.code in (404, 410):
                raise Unreachable(f"{self.name}: {exc.code}") from exc
            raise ChannelError(f"{self.name}: HTTP {exc.code}") from exc
        except (OSError, ValueError) as exc:
            raise ChannelError(f"{self.name}: {exc}") from exc
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {}
        if isinstance(data, dict) and data.get("ok") is False:
            if data.get("error") == "unreachable":
                raise Unreachable(f"{self.name}: unreachable")
            raise ChannelError(f"{self.name}: {data.get('error')}")


class SmsChannel(HttpGatewayChannel):
    name = "sms"

    def address_for(self, reader: Reader) -> str | None:
        return reader.phone or None


class WeChatChannel(HttpGatewayChannel):
    """The WeChat service-account gateway knows which card numbers are bound to an account."""

    name = "wechat"

    def address_for(self, reader: Reader) -> str | None:
        return reader.card_number


def _setting(app: Flask, key: str, default: str = "") -> str:
    value = app.config.get(key)
    if value is None:
        value = os.environ.get(key, default)
    return str(value)


def build_channels(app: Flask) -> list[Any]:
    """The enabled channels in order of preference (a misconfigured one is skipped and logged)."""
    names = [n.strip() for n in _setting(app, "LIBRARY_NOTICE_CHANNELS", "log").split(",") if n.strip()]
    channels: list[Any] = []
    for name in names:
        if name == "log":
            channels.append(LogChannel())
        elif name == "email" and _setting(app, "LIBRARY_SMTP_HOST"):
            channels.append(SmtpChannel(
                _setting(app, "LIBRARY_SMTP_HOST"), int(_setting(app, "LIBRARY_SMTP_PORT", "25")),
                _setting(app, "LIBRARY_SMTP_FROM", "library@localhost"), _setting(app, "LIBRARY_SMTP_USER"),
                _setting(app, "LIBRARY_SMTP_PASSWORD"), _setting(app, "LIBRARY_SMTP_STARTTLS", "0") == "1"))
        elif name == "sms" and _setting(app, "LIBRARY_SMS_GATEWAY_URL"):
            channels.append(SmsChannel(_setting(app, "LIBRARY_SMS_GATEWAY_URL"),
                                       _setting(app, "LIBRARY_SMS_GATEWAY_TOKEN")))
        elif name == "wechat" and _setting(app, "LIBRARY_WECHAT_GATEWAY_URL"):
            channels.append(WeChatChannel(_setting(app, "LIBRARY_WECHAT_GATEWAY_URL"),
                                          _setting(app, "LIBRARY_WECHAT_GATEWAY_TOKEN")))
        else:
            log.warning("notice channel %r is not configured; skipped", name)
    return channels or [LogChannel()]


def _claim(app: Flask, batch: int, tried: set[int]) -> list[int]:
    db = get_database(app)
    now = clock.now()
    with db.transaction() as session:
        stmt = (select(Notice).where(Notice.sent_at.is_(None), Notice.claimed_at.is_(None),
                                     Notice.attempts < MAX_ATTEMPTS).order_by(Notice.id).limit(batch))
        if tried:
            stmt = stmt.where(Notice.id.notin_(tried))
        if db.dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(session.scalars(stmt))
        for n in rows:
            n.claimed_at = now
            n.attempts += 1
        return [n.id for n in rows]


def send_notices(app: Flask, *, batch: int = 200) -> int:
    """Send pending notices (job ``circulation.send_notices``); returns how many were sent."""
    channels = build_channels(app)
    db = get_database(app)
    sent = 0
    tried: set[int] = set()
    while True:
        ids = _claim(app, batch, tried)
        tried.update(ids)
        if not ids:
            return sent
        for notice_id in ids:
            with db.transaction() as session:
                notice = session.get_one(Notice, notice_id)
                reader = session.get_one(Reader, notice.reader_id)
                errors: list[str] = []
                for channel in channels:
                    address = channel.address_for(reader)
                    if not address:
                        continue
                    try:
                        channel.send(notice, reader, address)
                    except Unreachable as exc:
                        errors.append(str(exc))
                        continue
                    except ChannelError as exc:
                        errors.append(str(exc))
                        break
                    notice.sent_at = clock.now()
                    notice.channel = channel.name
                    notice.address = address[:200]
                    notice.last_error = ""
                    sent += 1
                    break
                if notice.sent_at is None:
                    notice.claimed_at = None  # release for a retry (attempts are counted)
                    notice.last_error = ("; ".join(errors) or "no channel can reach the reader")[:500]
        if len(ids) < batch:
            return sent
