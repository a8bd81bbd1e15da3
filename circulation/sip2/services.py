"""Kiosk accounts: create, edit and authenticate the 93 login. Services flush, never commit."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from circulation.sip2.models import KIOSK_CHARSETS, Kiosk
from library import audit
from library.auth import BadCredentials, check_rate_limit, record_attempt
from library.errors import DuplicateValue, ValidationFailed
from library.models import Branch, StaffUser
from library.security import hash_secret, verify_secret

RATE_LIMIT_KIND = "sip2"


def _validate(sip_login: str, charset: str, password: str | None) -> None:
    if not sip_login or len(sip_login) > 64 or any(c in sip_login for c in "|\r\n"):
        raise ValidationFailed(detail=_l("登录名不能为空，不能含有 | 或换行"))
    if charset not in KIOSK_CHARSETS:
        raise ValidationFailed(detail=charset)
    if password is not None and (len(password) < 6 or any(c in password for c in "|\r\n")):
        raise ValidationFailed(detail=_l("密码至少 6 位，不能含有 | 或换行"))


def create_kiosk(session: Session, *, sip_login: str, password: str, branch: Branch, now: dt.datetime,
                 charset: str = "utf-8", description: str = "", staff: StaffUser | None = None,
                 actor: str = "", fast_hash: bool = False) -> Kiosk:
    """Add a kiosk account. Raises ValidationFailed, DuplicateValue (login taken)."""
    sip_login = sip_login.strip()
    _validate(sip_login, charset, password)
    if session.scalar(select(Kiosk.id).where(func.lower(Kiosk.sip_login) == sip_login.lower())) is not None:
        raise DuplicateValue(_l("自助设备登录名 %(what)s 已存在"), what=sip_login)
    kiosk = Kiosk(sip_login=sip_login, password_hash=hash_secret(password, fast=fast_hash), branch=branch,
                  charset=charset, description=description.strip(), active=True, created_at=now)
    session.add(kiosk)
    session.flush()
    audit.record(session, action="sip2.kiosk.create", staff=staff, actor=actor, target_type="kiosk",
                 target_id=kiosk.id, branch_id=branch.id, details={"sip_login": sip_login, "charset": charset},
                 now=now)
    return kiosk


def update_kiosk(session: Session, kiosk: Kiosk, *, branch: Branch, charset: str, description: str, active: bool,
                 now: dt.datetime, password: str | None = None, staff: StaffUser | None = None) -> Kiosk:
    """Change a kiosk account (a new password only when given). Raises ValidationFailed."""
    _validate(kiosk.sip_login, charset, password or None)
    changed: dict[str, object] = {}
    if kiosk.branch_id != branch.id:
        changed["branch"] = branch.code
    kiosk.branch = branch
    kiosk.charset = charset
    kiosk.description = description.strip()
    if kiosk.active != active:
        changed["active"] = active
    kiosk.active = active
    if password:
        kiosk.password_hash = hash_secret(password)
        changed["password"] = True
    session.flush()
    audit.record(session, action="sip2.kiosk.update", staff=staff, target_type="kiosk", target_id=kiosk.id,
                 branch_id=branch.id, details={"charset": charset, **changed}, now=now)
    return kiosk


def authenticate_kiosk(session: Session, sip_login: str, password: str, *, now: dt.datetime,
                       remote_addr: str = "") -> Kiosk:
    """Check a 93 login (rate-limited like every login, kind "sip2"). Raises TooManyAttempts or
    BadCredentials (also for an inactive account); the attempt is recorded, so the caller commits
    on failure too."""
    identifier = f"kiosk:{sip_login.strip().lower()}"[:100]
    check_rate_limit(session, kind=RATE_LIMIT_KIND, identifier=identifier, now=now)
    kiosk = session.scalar(select(Kiosk).where(func.lower(Kiosk.sip_login) == sip_login.strip().lower()))
    ok = kiosk is not None and kiosk.active and kiosk.branch.active and verify_secret(kiosk.password_hash, password)
    record_attempt(session, kind=RATE_LIMIT_KIND, identifier=identifier, success=ok, now=now,
                   remote_addr=remote_addr[:64])
    if not ok or kiosk is None:
        raise BadCredentials()
    kiosk.last_login_at = now
    return kiosk
