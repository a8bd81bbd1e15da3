"""Kiosk accounts (create, edit, authenticate the 93 login) and the few account changes only a
kiosk makes: blocking a card (01), re-enabling a card a kiosk blocked (25), moving a waiting
hold's pickup branch (15 with hold mode ``*``). Services flush, never commit."""

from __future__ import annotations

import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from circulation.calendar import local_date
from circulation.common import tr, zh
from circulation.errors import HoldNotAllowed, HoldNotFound
from circulation.models import Hold
from circulation.sip2.models import KIOSK_CHARSETS, Kiosk
from library import audit
from library.auth import BadCredentials, check_rate_limit, record_attempt
from library.errors import DuplicateValue, LibraryError, ValidationFailed
from library.models import AuditEntry, Branch, Reader, StaffUser
from library.security import hash_secret, verify_secret

RATE_LIMIT_KIND = "sip2"


def _validate(sip_login: str, charset: str, password: str | None, terminal_password: str | None = None) -> None:
    if not sip_login or len(sip_login) > 64 or any(c in sip_login for c in "|\r\n"):
        raise ValidationFailed(detail=_l("登录名不能为空，不能含有 | 或换行"))
    if charset not in KIOSK_CHARSETS:
        raise ValidationFailed(detail=charset)
    if password is not None and (len(password) < 6 or any(c in password for c in "|\r\n")):
        raise ValidationFailed(detail=_l("密码至少 6 位，不能含有 | 或换行"))
    if terminal_password is not None and (len(terminal_password) < 4 or len(terminal_password) > 64
                                          or any(c in terminal_password for c in "|\r\n")):
        raise ValidationFailed(detail=_l("终端密码 4 至 64 位，不能含有 | 或换行"))


def create_kiosk(session: Session, *, sip_login: str, password: str, branch: Branch, now: dt.datetime,
                 charset: str = "utf-8", description: str = "", staff: StaffUser | None = None,
                 actor: str = "", fast_hash: bool = False, terminal_password: str | None = None) -> Kiosk:
    """Add a kiosk account (with a terminal password AC when given). Raises ValidationFailed,
    DuplicateValue (login taken)."""
    sip_login = sip_login.strip()
    terminal_password = terminal_password or None
    _validate(sip_login, charset, password, terminal_password)
    if session.scalar(select(Kiosk.id).where(func.lower(Kiosk.sip_login) == sip_login.lower())) is not None:
        raise DuplicateValue(_l("自助设备登录名 %(what)s 已存在"), what=sip_login)
    kiosk = Kiosk(sip_login=sip_login, password_hash=hash_secret(password, fast=fast_hash), branch=branch,
                  charset=charset, description=description.strip(), active=True, created_at=now,
                  terminal_password_hash=hash_secret(terminal_password, fast=fast_hash) if terminal_password
                  else None)
    session.add(kiosk)
    session.flush()
    audit.record(session, action="sip2.kiosk.create", staff=staff, actor=actor, target_type="kiosk",
                 target_id=kiosk.id, branch_id=branch.id,
                 details={"sip_login": sip_login, "charset": charset, "terminal_password": bool(terminal_password)},
                 now=now)
    return kiosk


def update_kiosk(session: Session, kiosk: Kiosk, *, branch: Branch, charset: str, description: str, active: bool,
                 now: dt.datetime, password: str | None = None, staff: StaffUser | None = None,
                 terminal_password: str | None = None, clear_terminal_password: bool = False) -> Kiosk:
    """Change a kiosk account (a new password or terminal password only when given; the
    terminal password removed with ``clear_terminal_password``). Raises ValidationFailed."""
    _validate(kiosk.sip_login, charset, password or None, terminal_password or None)
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
    if terminal_password:
        kiosk.terminal_password_hash = hash_secret(terminal_password)
        changed["terminal_password"] = "set"
    elif clear_terminal_password and kiosk.terminal_password_hash is not None:
        kiosk.terminal_password_hash = None
        changed["terminal_password"] = "cleared"
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


# ---------------------------------------------------------------------------------------------
# Card blocks made by kiosks (01 Block Patron, 25 Patron Enable)

BLOCK_ACTION = "sip2.block_patron"
ENABLE_ACTION = "sip2.patron_enable"


class CardNotEnableable(LibraryError):
    code = "card_not_enableable"
    message = _l("此读者证不是由自助设备冻结的，请到服务台办理")


def block_reader(session: Session, reader: Reader, *, kiosk: Kiosk, reason: str, card_retained: bool,
                 now: dt.datetime, actor: str, remote_addr: str = "") -> bool:
    """01 Block Patron: the card is blocked (status "blocked"), the kiosk's reason (AL) is added
    to the reader's notes for the desk, and the block is audited as the kiosk's action with the
    status it replaced (so that 25 can restore it). A card already blocked, or reported lost,
    is left as it is (False). Raises nothing."""
    reason = " ".join(reason.split())[:200]
    if reader.status not in ("active", "expired"):
        audit.record(session, action=BLOCK_ACTION, actor=actor, target_type="reader", target_id=reader.id,
                     branch_id=kiosk.branch_id, now=now,
                     details={"result": "unchanged", "status": reader.status, "reason": reason,
                              "card": reader.card_number, "kiosk": kiosk.sip_login, "remote_addr": remote_addr})
        return False
    previous = reader.status
    reader.status = "blocked"
    line = zh(_l("%(day)s 自助设备 %(kiosk)s 冻结此证：%(reason)s", day=local_date(now).isoformat(),
                 kiosk=kiosk.sip_login, reason=reason or "-"))
    reader.notes = f"{reader.notes.rstrip()}\n{line}".strip()
    session.flush()
    audit.record(session, action=BLOCK_ACTION, actor=actor, target_type="reader", target_id=reader.id,
                 branch_id=kiosk.branch_id, now=now,
                 details={"result": "ok", "previous_status": previous, "reason": reason,
                          "card_retained": card_retained, "card": reader.card_number, "kiosk": kiosk.sip_login,
                          "remote_addr": remote_addr})
    return True


def enable_reader(session: Session, reader: Reader, *, kiosk: Kiosk, now: dt.datetime, actor: str,
                  remote_addr: str = "") -> str:
    """25 Patron Enable: undo a block made by a kiosk, and nothing else. The card must be
    blocked and the latest audited change of this reader must be a kiosk's block; a block by
    staff, a lost card, or any staff change to the reader since the kiosk's block is left to
    the desk (CardNotEnableable). The status the block replaced is restored and returned.
    The caller checks the reader's PIN first."""
    last = session.scalar(
        select(AuditEntry).where(AuditEntry.target_type == "reader", AuditEntry.target_id == str(reader.id),
                                 or_(AuditEntry.action.startswith("reader."),
                                     AuditEntry.action.in_((BLOCK_ACTION, ENABLE_ACTION))))
        .order_by(AuditEntry.id.desc()).limit(1))
    details = last.details if last is not None else {}
    if (reader.status != "blocked" or last is None or last.action != BLOCK_ACTION
            or details.get("result") != "ok"):
        raise CardNotEnableable()
    restored = str(details.get("previous_status") or "active")
    if restored not in ("active", "expired"):
        restored = "active"
    reader.status = restored
    line = zh(_l("%(day)s 自助设备 %(kiosk)s 解除冻结", day=local_date(now).isoformat(), kiosk=kiosk.sip_login))
    reader.notes = f"{reader.notes.rstrip()}\n{line}".strip()
    session.flush()
    audit.record(session, action=ENABLE_ACTION, actor=actor, target_type="reader", target_id=reader.id,
                 branch_id=kiosk.branch_id, now=now,
                 details={"result": "ok", "status": restored, "block_audit_id": last.id,
                          "card": reader.card_number, "kiosk": kiosk.sip_login, "remote_addr": remote_addr})
    return restored


# ---------------------------------------------------------------------------------------------
# 15 Hold, mode "*": another pickup branch


def change_hold_pickup(session: Session, *, hold_id: int, reader: Reader, pickup: Branch, now: dt.datetime,
                       actor: str, branch_id: int | None = None) -> Hold:
    """Move a waiting hold of ``reader`` to another pickup branch. A hold whose copy is already
    trapped (in transit to, or on the shelf of, the old pickup branch) is not moved: the copy
    would have to be routed again, which is the desk's job. Raises HoldNotFound,
    HoldNotAllowed."""
    hold = session.scalar(select(Hold).where(Hold.id == hold_id).with_for_update()
                          .execution_options(populate_existing=True))
    if hold is None or hold.reader_id != reader.id:
        raise HoldNotFound()
    if hold.state != "waiting":
        raise HoldNotAllowed(reason=tr(_l("预约书已在途或已到馆，不能更改取书地点，请到服务台办理")))
    if not pickup.active:
        raise HoldNotAllowed(reason=tr(_l("该馆点暂停服务")))
    old = hold.pickup_branch_id
    hold.pickup_branch_id = pickup.id
    session.flush()
    audit.record(session, action="circulation.hold_pickup_changed", actor=actor, target_type="hold",
                 target_id=hold.id, branch_id=branch_id, now=now,
                 details={"from_branch_id": old, "to_branch_id": pickup.id, "reader_id": reader.id})
    return hold
