"""Test helpers for the SIP2 server: kiosk accounts, a running server, and a raw kiosk that
speaks frames over a real socket."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from circulation.sip2 import protocol as p
from circulation.sip2.models import Kiosk
from circulation.sip2.server import Sip2Server, start_in_thread
from circulation.sip2.services import create_kiosk
from library import clock
from library.models import Branch
from tests import factories

KIOSK_PASSWORD = "kiosk-secret-1"


def make_kiosk(session: Session, *, branch: Branch | None = None, sip_login: str | None = None,
               charset: str = "utf-8", password: str = KIOSK_PASSWORD) -> Kiosk:
    return create_kiosk(session, sip_login=sip_login or f"SC{factories.seq():04d}", password=password,
                        branch=branch or factories.make_branch(session), charset=charset, now=clock.now(),
                        actor="test", fast_hash=True)


@contextmanager
def running_server(app: Flask, **kwargs: Any) -> Iterator[Sip2Server]:
    """A live server on a free port; it leaves the search index alone unless asked
    (``follow_index=True``), which keeps the tests that do not look at it fast."""
    kwargs.setdefault("follow_index", False)
    server = start_in_thread(app, "127.0.0.1", 0, **kwargs)
    try:
        yield server
    finally:
        server.stop()


def sip_now() -> str:
    return dt.datetime.now().strftime("%Y%m%d    %H%M%S")


class RawKiosk:
    """A kiosk on a real socket: ``ask(text)`` adds AY/AZ, sends, and returns the parsed answer."""

    def __init__(self, port: int, *, charset: str = "utf-8", timeout: float = 30.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.charset = charset
        self.seq = 0
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawKiosk:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def frame(self, text: str, *, checksum: bool = True) -> bytes:
        self.seq = (self.seq + 1) % 10
        body = f"{text}AY{self.seq}AZ".encode(self.charset)
        return body + (p.checksum(body).encode() if checksum else b"0000") + b"\r"

    def send_raw(self, data: bytes) -> bytes:
        self.sock.sendall(data)
        return self.read()

    def read(self) -> bytes:
        while b"\r" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buffer += chunk
        frame, _, self.buffer = self.buffer.partition(b"\r")
        return frame

    def ask(self, text: str) -> p.Message:
        raw = self.send_raw(self.frame(text))
        return parse_answer(raw, self.charset)

    def login(self, sip_login: str, password: str = KIOSK_PASSWORD) -> p.Message:
        return self.ask(f"9300CN{sip_login}|CO{password}|CPtest|")


def parse_answer(raw: bytes, charset: str = "utf-8") -> p.Message:
    """Parse an ACS answer (its fixed part is kept whole in ``fixed["all"]``), checking that it
    ends with a valid checksum."""
    assert raw[-6:-4] == b"AZ", raw
    assert p.checksum(raw[:-4]) == raw[-4:].decode(), f"bad checksum in {raw!r}"
    text = raw.decode(charset)
    msg = p.Message(code=text[:2], raw=text)
    body = text[:-6]
    if "AY" in body[-4:]:
        i = body.rindex("AY")
        msg.sequence = body[i + 2:i + 3]
        body = body[:i]
    fixed_len = {"94": 1, "98": 34, "24": 35, "64": 59, "12": 22, "10": 22, "30": 22, "66": 27, "18": 24,
                 "16": 20, "36": 19, "96": 0, "20": 19, "26": 35, "38": 19}[msg.code]
    msg.fixed = {"all": body[2:2 + fixed_len]}
    msg.fields = p.parse_fields(body[2 + fixed_len:])
    return msg
