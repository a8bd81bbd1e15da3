"""Kiosk accounts: each self-check machine (自助借还机) or handheld logs in to the SIP2 server
with its own account, bound to the branch where it stands."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from library.db import Base, UTCDateTime
from library.models import Branch

KIOSK_CHARSETS = ("utf-8", "gbk")


class Kiosk(Base):
    """A SIP2 kiosk account: ``sip_login`` and password (argon2 hash) sent in the 93 login,
    the branch its transactions happen at, and the character set its answers are encoded in
    (UTF-8, or GBK for older Chinese kiosks). ``terminal_password_hash``: when set, every
    request after the login must carry this terminal password in its AC field."""

    __tablename__ = "sip_kiosks"

    id: Mapped[int] = mapped_column(primary_key=True)
    sip_login: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    terminal_password_hash: Mapped[str | None] = mapped_column(String(200))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    charset: Mapped[str] = mapped_column(String(10), default="utf-8")
    description: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    branch: Mapped[Branch] = relationship()

    __table_args__ = (
        CheckConstraint(f"charset IN {KIOSK_CHARSETS!r}", name="charset_valid"),
        CheckConstraint("length(sip_login) > 0", name="sip_login_not_empty"),
    )
