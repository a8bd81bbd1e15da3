"""Use cases of the core: branches, readers and staff users. Services flush, never commit."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from library import audit, clock
from library.errors import DuplicateValue, NotFound, ValidationFailed
from library.models import (
    BRANCH_KINDS,
    STAFF_ROLES,
    Branch,
    Reader,
    ReaderCategory,
    ReplacedCard,
    StaffRole,
    StaffUser,
)
from library.security import hash_secret, national_id_digest


def get_branch_by_code(session: Session, code: str) -> Branch:
    """The branch with ``code``. Raises NotFound."""
    branch = session.scalar(select(Branch).where(Branch.code == code))
    if branch is None:
        raise NotFound(what=code)
    return branch


def create_branch(session: Session, *, code: str, name: str, kind: str, parent: Branch | None = None,
                  **fields: object) -> Branch:
    """Add a branch. Raises ValidationFailed for an unknown kind, DuplicateValue for a taken code."""
    if kind not in BRANCH_KINDS:
        raise ValidationFailed(detail=kind)
    if session.scalar(select(Branch.id).where(Branch.code == code)) is not None:
        raise DuplicateValue(_l("馆代码 %(what)s 已存在"), what=code)
    branch = Branch(code=code, name=name, kind=kind, parent=parent, **fields)
    session.add(branch)
    session.flush()
    return branch


def get_reader_by_card(session: Session, card_number: str) -> Reader:
    """The reader holding ``card_number``. Raises NotFound (also for replaced cards)."""
    reader = session.scalar(select(Reader).where(Reader.card_number == card_number.strip()))
    if reader is None:
        raise NotFound(_l("找不到读者证 %(what)s"), what=card_number)
    return reader


def card_number_taken(session: Session, card_number: str) -> bool:
    return (
        session.scalar(select(Reader.id).where(Reader.card_number == card_number)) is not None
        or session.scalar(select(ReplacedCard.id).where(ReplacedCard.card_number == card_number)) is not None
    )


def create_reader(
    session: Session,
    *,
    card_number: str,
    name: str,
    category_code: str,
    home_branch: Branch,
    pin: str,
    card_expires_on: dt.date,
    phone: str = "",
    email: str = "",
    national_id: str | None = None,
    secret_key: str | None = None,
    keep_history: bool = False,
    show_on_leaderboards: bool = False,
    fast_hash: bool = False,
    now: dt.datetime | None = None,
) -> Reader:
    """Register a reader. Raises DuplicateValue when the card number (or national ID) is taken,
    ValidationFailed for an unknown category or a PIN that is not 4-8 digits."""
    card_number = card_number.strip()
    if not card_number:
        raise ValidationFailed(detail=_l("读者证号不能为空"))
    if card_number_taken(session, card_number):
        raise DuplicateValue(_l("读者证号 %(what)s 已被使用"), what=card_number)
    if session.get(ReaderCategory, category_code) is None:
        raise ValidationFailed(detail=category_code)
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise ValidationFailed(_l("密码须为 4 到 8 位数字"))
    id_hash = id_last4 = None
    if national_id:
        if secret_key is None:
            raise ValueError("secret_key is needed to hash a national ID")
        id_hash = national_id_digest(secret_key, national_id)
        if session.scalar(select(Reader.id).where(Reader.national_id_hash == id_hash)) is not None:
            raise DuplicateValue(_l("该身份证号已办理过读者证"), what="")
        id_last4 = national_id.strip()[-4:].upper()
    reader = Reader(
        card_number=card_number,
        name=name.strip(),
        category_code=category_code,
        home_branch=home_branch,
        phone=phone.strip(),
        email=email.strip(),
        card_expires_on=card_expires_on,
        status="active",
        pin_hash=hash_secret(pin, fast=fast_hash),
        keep_history=keep_history,
        show_on_leaderboards=show_on_leaderboards,
        national_id_hash=id_hash,
        national_id_last4=id_last4,
        created_at=now or clock.now(),
    )
    session.add(reader)
    session.flush()
    return reader


def replace_card(session: Session, reader: Reader, *, new_card_number: str | None = None,
                 staff: StaffUser | None = None, now: dt.datetime | None = None) -> Reader:
    """Replace a lost card: the reader gets a new card number and keeps everything else; the
    old number is retired for good. Raises DuplicateValue if the new number is taken."""
    now = now or clock.now()
    new_number = (new_card_number or "").strip() or _generate_card_number(session)
    if card_number_taken(session, new_number):
        raise DuplicateValue(_l("读者证号 %(what)s 已被使用"), what=new_number)
    old = reader.card_number
    session.add(ReplacedCard(reader_id=reader.id, card_number=old, replaced_at=now))
    reader.card_number = new_number
    if reader.status == "lost_card":
        reader.status = "active"
    session.flush()
    audit.record(session, action="reader.replace_card", staff=staff, target_type="reader",
                 target_id=reader.id, details={"old": old, "new": new_number}, now=now)
    return reader


def _generate_card_number(session: Session) -> str:
    while True:
        candidate = "R" + "".join(secrets.choice("0123456789") for _ in range(10))
        if not card_number_taken(session, candidate):
            return candidate


def find_readers(session: Session, query: str, *, limit: int = 50) -> list[Reader]:
    """Readers whose card number or phone is ``query``, or whose name contains it."""
    q = query.strip()
    if not q:
        return []
    stmt = (
        select(Reader)
        .where(or_(Reader.card_number == q, Reader.phone == q, Reader.name.contains(q)))
        .order_by(Reader.name)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def create_staff(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: str = "",
    roles: Iterable[tuple[str, Branch | None]] = (),
    fast_hash: bool = False,
    now: dt.datetime | None = None,
) -> StaffUser:
    """Add a staff user with roles, each optionally scoped to a branch. Raises DuplicateValue,
    ValidationFailed for an unknown role or a password shorter than 8 characters."""
    username = username.strip()
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise DuplicateValue(_l("用户名 %(what)s 已存在"), what=username)
    if len(password) < 8:
        raise ValidationFailed(_l("密码至少 8 个字符"))
    user = StaffUser(
        username=username,
        display_name=display_name or username,
        password_hash=hash_secret(password, fast=fast_hash),
        active=True,
        created_at=now or clock.now(),
    )
    for role, branch in roles:
        if role not in STAFF_ROLES:
            raise ValidationFailed(detail=role)
        user.roles.append(StaffRole(role=role, branch=branch))
    session.add(user)
    session.flush()
    return user
