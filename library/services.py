"""Use cases of the core: branches, readers and staff users. Services flush, never commit."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from library import audit, clock
from library.errors import (
    DuplicateNationalId,
    DuplicateValue,
    InUse,
    InvalidNationalId,
    LibraryError,
    NotFound,
    ValidationFailed,
)
from library.models import (
    BRANCH_KINDS,
    STAFF_ROLES,
    ApiToken,
    Branch,
    ClosedDay,
    OpeningHours,
    Reader,
    ReaderCategory,
    ReplacedCard,
    StaffRole,
    StaffUser,
    Township,
    Village,
)
from library.security import hash_secret, national_id_digest, new_api_token, verify_secret

# Built once: every counter request loads its branch, and building a statement costs more CPU
# than running it (bench/circulation.py).
_BRANCH_BY_CODE = select(Branch).where(Branch.code == bindparam("code"))


def find_branch_by_code(session: Session, code: str) -> Branch | None:
    """The branch with ``code``, or None."""
    return session.scalar(_BRANCH_BY_CODE, {"code": code})


def get_branch_by_code(session: Session, code: str) -> Branch:
    """The branch with ``code``. Raises NotFound."""
    branch = find_branch_by_code(session, code)
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
        national_id = normalise_national_id(national_id)
        id_hash = national_id_digest(secret_key, national_id)
        if session.scalar(select(Reader.id).where(Reader.national_id_hash == id_hash)) is not None:
            raise DuplicateNationalId()
        id_last4 = national_id[-4:]
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
        .where(or_(Reader.card_number == q, Reader.phone == q, Reader.name.contains(q, autoescape=True)))
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


# --- the branch network -------------------------------------------------------------------------

WEEKDAYS = range(7)  # 0 = Monday, as in ``datetime.date.weekday()``


def _check_branch_links(session: Session, branch_id: int | None, *, kind: str, parent: Branch | None,
                        township: Township | None, village: Village | None) -> None:
    """A branch's parent must exist and not be the branch or one of its descendants; the central
    library has no parent; a village must belong to the township given."""
    if kind not in BRANCH_KINDS:
        raise ValidationFailed(detail=kind)
    if kind == "central" and parent is not None:
        raise ValidationFailed(_l("总馆不能有上级馆"))
    if parent is not None and branch_id is not None:
        seen: set[int] = set()
        node: Branch | None = parent
        while node is not None and node.id not in seen:
            if node.id == branch_id:
                raise ValidationFailed(_l("上级馆不能是本馆或本馆的下级馆"))
            seen.add(node.id)
            node = node.parent
    if village is not None and township is not None and village.township_id != township.id:
        raise ValidationFailed(_l("所选村（社区）不属于所选乡镇（街道）"))


def update_branch(session: Session, branch: Branch, *, staff: StaffUser | None = None,
                  now: dt.datetime | None = None, **fields: object) -> Branch:
    """Change a branch's details (code, name, kind, parent, township, village, address, phone,
    floating, active). Raises DuplicateValue for a taken code, ValidationFailed for a parent
    cycle, a parent on the central library or a village outside the township."""
    allowed = {"code", "name", "name_en", "kind", "parent", "township", "village", "address", "phone",
               "floating", "active"}
    unknown = set(fields) - allowed
    if unknown:
        raise TypeError(f"update_branch got unknown fields {sorted(unknown)}")
    code = str(fields.get("code", branch.code)).strip()
    if not code:
        raise ValidationFailed(detail=_l("馆代码不能为空"))
    if code != branch.code and session.scalar(select(Branch.id).where(Branch.code == code)) is not None:
        raise DuplicateValue(_l("馆代码 %(what)s 已存在"), what=code)
    kind = str(fields.get("kind", branch.kind))
    parent = fields.get("parent", branch.parent)
    township = fields.get("township", branch.township)
    village = fields.get("village", branch.village)
    assert parent is None or isinstance(parent, Branch)
    assert township is None or isinstance(township, Township)
    assert village is None or isinstance(village, Village)
    if village is not None and township is None:
        township = village.township
    _check_branch_links(session, branch.id, kind=kind, parent=parent, township=township, village=village)
    before = {"code": branch.code, "name": branch.name, "kind": branch.kind, "active": branch.active}
    for key, value in fields.items():
        setattr(branch, key, value.strip() if isinstance(value, str) else value)
    branch.code = code
    branch.township = township
    session.flush()
    audit.record(session, action="branch.update", staff=staff, target_type="branch", target_id=branch.code,
                 branch_id=branch.id, details={"before": before}, now=now)
    return branch


def set_opening_hours(session: Session, branch: Branch, hours: dict[int, tuple[dt.time, dt.time] | None], *,
                      staff: StaffUser | None = None, now: dt.datetime | None = None) -> Branch:
    """Set the opening hours per weekday (0 = Monday); ``None`` means closed that weekday.
    Raises ValidationFailed when a day opens after it closes."""
    for wd, span in hours.items():
        if wd not in WEEKDAYS:
            raise ValidationFailed(detail=str(wd))
        if span is not None and span[0] >= span[1]:
            raise ValidationFailed(_l("开馆时间须早于闭馆时间"))
    by_day = {h.weekday: h for h in branch.opening_hours}
    for wd, span in sorted(hours.items()):
        row = by_day.get(wd)
        if span is None:
            if row is not None:
                branch.opening_hours.remove(row)
        elif row is None:
            branch.opening_hours.append(OpeningHours(weekday=wd, opens=span[0], closes=span[1]))
        else:
            row.opens, row.closes = span
    session.flush()
    audit.record(session, action="branch.hours", staff=staff, target_type="branch", target_id=branch.code,
                 branch_id=branch.id, details={str(wd): [s[0].strftime("%H:%M"), s[1].strftime("%H:%M")]
                                               if s else None for wd, s in hours.items()}, now=now)
    return branch


def add_closed_days(session: Session, branch: Branch, days: Iterable[dt.date], reason: str = "", *,
                    staff: StaffUser | None = None, now: dt.datetime | None = None) -> list[ClosedDay]:
    """Close ``branch`` on ``days`` (days already closed are left as they are). Returns the new rows."""
    existing = {c.day for c in branch.closed_days}
    added = []
    for day in sorted(set(days)):
        if day not in existing:
            row = ClosedDay(day=day, reason=reason.strip())
            branch.closed_days.append(row)
            added.append(row)
    session.flush()
    if added:
        audit.record(session, action="branch.close_days", staff=staff, target_type="branch", target_id=branch.code,
                     branch_id=branch.id, details={"days": [r.day.isoformat() for r in added], "reason": reason},
                     now=now)
    return added


def remove_closed_day(session: Session, branch: Branch, closed_day_id: int, *, staff: StaffUser | None = None,
                      now: dt.datetime | None = None) -> None:
    """Open ``branch`` again on a closed day. Raises NotFound."""
    row = next((c for c in branch.closed_days if c.id == closed_day_id), None)
    if row is None:
        raise NotFound(what=str(closed_day_id))
    branch.closed_days.remove(row)
    session.flush()
    audit.record(session, action="branch.reopen_day", staff=staff, target_type="branch", target_id=branch.code,
                 branch_id=branch.id, details={"day": row.day.isoformat()}, now=now)


def close_all_branches(session: Session, days: Iterable[dt.date], reason: str, *, staff: StaffUser | None = None,
                       now: dt.datetime | None = None, include_inactive: bool = False) -> int:
    """Close every (active) branch on ``days`` (a public holiday). Returns how many closed days
    were added; days a branch was already closed are skipped."""
    day_list = sorted(set(days))
    if not day_list:
        raise ValidationFailed(detail=_l("请至少给出一个日期"))
    stmt = select(Branch).order_by(Branch.code)
    if not include_inactive:
        stmt = stmt.where(Branch.active.is_(True))
    added = 0
    for branch in session.scalars(stmt):
        existing = {c.day for c in branch.closed_days}
        for day in day_list:
            if day not in existing:
                branch.closed_days.append(ClosedDay(day=day, reason=reason.strip()))
                added += 1
    session.flush()
    audit.record(session, action="branch.close_all", staff=staff, target_type="network",
                 details={"days": [d.isoformat() for d in day_list], "reason": reason, "added": added}, now=now)
    return added


def parse_dates(text: str) -> list[dt.date]:
    """Dates typed as ``2027-02-06, 2027-02-07`` or ranges ``2027-10-01..2027-10-07`` (commas,
    spaces or new lines between them). Raises ValidationFailed naming the first bad entry."""
    days: list[dt.date] = []
    for token in text.replace("，", ",").replace("\n", ",").replace(" ", ",").split(","):
        token = token.strip()
        if not token:
            continue
        try:
            if ".." in token:
                first, last = (dt.date.fromisoformat(p.strip()) for p in token.split("..", 1))
                if last < first or (last - first).days > 366:
                    raise ValueError(token)
                days.extend(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
            else:
                days.append(dt.date.fromisoformat(token))
        except ValueError as exc:
            raise ValidationFailed(_l("日期格式有误：%(detail)s（应为 2027-02-06 或 2027-10-01..2027-10-07）"),
                                   detail=token) from exc
    return sorted(set(days))


# --- townships, villages and the district plan ---------------------------------------------------

TOWNSHIP_KINDS = ("township", "street", "park")
PLAN_VILLAGE_SHARE = 0.30  # district plan: at least 30% of villages have a service point


def _population(value: int) -> int:
    if value < 0:
        raise ValidationFailed(_l("人口不能为负数"))
    return value


def create_township(session: Session, *, code: str, name: str, kind: str = "township", population: int = 0,
                    staff: StaffUser | None = None, now: dt.datetime | None = None) -> Township:
    """Add a township/street. Raises DuplicateValue for a taken code, ValidationFailed."""
    code = code.strip()
    if not code or not name.strip():
        raise ValidationFailed(detail=_l("代码和名称不能为空"))
    if kind not in TOWNSHIP_KINDS:
        raise ValidationFailed(detail=kind)
    if session.scalar(select(Township.id).where(Township.code == code)) is not None:
        raise DuplicateValue(_l("区划代码 %(what)s 已存在"), what=code)
    township = Township(code=code, name=name.strip(), kind=kind, population=_population(population))
    session.add(township)
    session.flush()
    audit.record(session, action="township.create", staff=staff, target_type="township", target_id=code, now=now)
    return township


def update_township(session: Session, township: Township, *, code: str, name: str, kind: str, population: int,
                    staff: StaffUser | None = None, now: dt.datetime | None = None) -> Township:
    code = code.strip()
    if not code or not name.strip():
        raise ValidationFailed(detail=_l("代码和名称不能为空"))
    if kind not in TOWNSHIP_KINDS:
        raise ValidationFailed(detail=kind)
    if code != township.code and session.scalar(select(Township.id).where(Township.code == code)) is not None:
        raise DuplicateValue(_l("区划代码 %(what)s 已存在"), what=code)
    township.code, township.name, township.kind = code, name.strip(), kind
    township.population = _population(population)
    session.flush()
    audit.record(session, action="township.update", staff=staff, target_type="township", target_id=code, now=now)
    return township


def delete_township(session: Session, township: Township, *, staff: StaffUser | None = None,
                    now: dt.datetime | None = None) -> None:
    """Remove a township and its villages. Raises InUse while a branch serves it."""
    if session.scalar(select(Branch.id).where(Branch.township_id == township.id).limit(1)) is not None:
        raise InUse(_l("还有分馆或服务点服务于 %(what)s，不能删除"), what=township.name)
    code = township.code
    for village in list(township.villages):
        session.delete(village)
    session.delete(township)
    session.flush()
    audit.record(session, action="township.delete", staff=staff, target_type="township", target_id=code, now=now)


def create_village(session: Session, township: Township, *, name: str, population: int = 0,
                   staff: StaffUser | None = None, now: dt.datetime | None = None) -> Village:
    """Add a village/community to a township. Raises DuplicateValue for a name already there."""
    name = name.strip()
    if not name:
        raise ValidationFailed(detail=_l("名称不能为空"))
    if session.scalar(select(Village.id).where(Village.township_id == township.id, Village.name == name)):
        raise DuplicateValue(_l("%(what)s 已存在"), what=name)
    village = Village(township=township, name=name, population=_population(population))
    session.add(village)
    session.flush()
    audit.record(session, action="village.create", staff=staff, target_type="village", target_id=village.id,
                 details={"township": township.code, "name": name}, now=now)
    return village


def update_village(session: Session, village: Village, *, name: str, population: int,
                   staff: StaffUser | None = None, now: dt.datetime | None = None) -> Village:
    name = name.strip()
    if not name:
        raise ValidationFailed(detail=_l("名称不能为空"))
    if name != village.name and session.scalar(
        select(Village.id).where(Village.township_id == village.township_id, Village.name == name)
    ):
        raise DuplicateValue(_l("%(what)s 已存在"), what=name)
    village.name = name
    village.population = _population(population)
    session.flush()
    audit.record(session, action="village.update", staff=staff, target_type="village", target_id=village.id, now=now)
    return village


def delete_village(session: Session, village: Village, *, staff: StaffUser | None = None,
                   now: dt.datetime | None = None) -> None:
    """Remove a village. Raises InUse while a service point serves it."""
    if session.scalar(select(Branch.id).where(Branch.village_id == village.id).limit(1)) is not None:
        raise InUse(_l("还有服务点服务于 %(what)s，不能删除"), what=village.name)
    vid = village.id
    session.delete(village)
    session.flush()
    audit.record(session, action="village.delete", staff=staff, target_type="village", target_id=vid, now=now)


@dataclass
class TownshipCoverage:
    township: Township
    branches: list[Branch]
    villages: int
    villages_served: list[Village]
    village_points: int

    @property
    def has_branch(self) -> bool:
        return bool(self.branches)

    @property
    def village_share(self) -> float:
        return len(self.villages_served) / self.villages if self.villages else 0.0


@dataclass
class Coverage:
    """The network measured against the district plan: every township has a branch and at least
    ``PLAN_VILLAGE_SHARE`` of villages have a service point."""

    rows: list[TownshipCoverage]
    townships: int
    townships_with_branch: int
    villages: int
    villages_served: int
    population: int
    population_with_branch: int
    required_share: float = PLAN_VILLAGE_SHARE

    @property
    def village_share(self) -> float:
        return self.villages_served / self.villages if self.villages else 0.0

    @property
    def townships_ok(self) -> bool:
        return self.townships > 0 and self.townships_with_branch == self.townships

    @property
    def villages_ok(self) -> bool:
        return self.villages > 0 and self.village_share >= self.required_share

    @property
    def meets_plan(self) -> bool:
        return self.townships_ok and self.villages_ok

    @property
    def villages_needed(self) -> int:
        """How many more villages need a service point to reach the plan's share."""
        import math

        return max(math.ceil(self.required_share * self.villages - 1e-9) - self.villages_served, 0)


def network_coverage(session: Session) -> Coverage:
    """Coverage of the district by active branches: a township counts when an active central
    library or branch serves it; a village counts when an active service point serves it."""
    townships = list(session.scalars(select(Township).order_by(Township.code)))
    branches = list(session.scalars(select(Branch).where(Branch.active.is_(True)).order_by(Branch.code)))
    rows = []
    for t in townships:
        serving = [b for b in branches if b.township_id == t.id and b.kind in ("central", "branch")]
        points = [b for b in branches if b.kind == "service_point" and b.village_id is not None
                  and b.village is not None and b.village.township_id == t.id]
        served_ids = {b.village_id for b in points}
        served = [v for v in t.villages if v.id in served_ids]
        rows.append(TownshipCoverage(township=t, branches=serving, villages=len(t.villages),
                                     villages_served=served, village_points=len(points)))
    return Coverage(
        rows=rows,
        townships=len(rows),
        townships_with_branch=sum(1 for r in rows if r.has_branch),
        villages=sum(r.villages for r in rows),
        villages_served=sum(len(r.villages_served) for r in rows),
        population=sum(r.township.population for r in rows),
        population_with_branch=sum(r.township.population for r in rows if r.has_branch),
    )


# --- staff users ---------------------------------------------------------------------------------


def _active_admin_ids(session: Session) -> set[int]:
    return set(session.scalars(
        select(StaffUser.id).join(StaffRole).where(StaffRole.role == "admin", StaffUser.active.is_(True))
    ))


def set_staff_roles(session: Session, user: StaffUser, roles: Iterable[tuple[str, Branch | None]], *,
                    display_name: str | None = None, staff: StaffUser | None = None,
                    now: dt.datetime | None = None) -> StaffUser:
    """Replace a staff user's roles (and display name). Raises ValidationFailed for an unknown
    role, no role at all, or taking the admin role from the last active admin."""
    wanted = {(role, branch.id if branch else None): branch for role, branch in roles}
    if not wanted:
        raise ValidationFailed(_l("至少需要一个角色"))
    for role, _branch_id in wanted:
        if role not in STAFF_ROLES:
            raise ValidationFailed(detail=role)
    if (user.active and "admin" in user.role_names() and not any(r == "admin" for r, _ in wanted)
            and _active_admin_ids(session) <= {user.id}):
        raise ValidationFailed(_l("不能取消最后一位系统管理员的管理员角色"))
    before = sorted(f"{r.role}:{r.branch.code if r.branch else ''}" for r in user.roles)
    for existing in list(user.roles):
        key = (existing.role, existing.branch_id)
        if key in wanted:
            wanted.pop(key)
        else:
            user.roles.remove(existing)
    session.flush()
    for (role, _bid), branch in wanted.items():
        user.roles.append(StaffRole(role=role, branch=branch))
    if display_name is not None and display_name.strip():
        user.display_name = display_name.strip()
    session.flush()
    audit.record(session, action="staff.roles", staff=staff, target_type="staff", target_id=user.username,
                 details={"before": before,
                          "after": sorted(f"{r.role}:{r.branch.code if r.branch else ''}" for r in user.roles)},
                 now=now)
    return user


def set_staff_active(session: Session, user: StaffUser, active: bool, *, staff: StaffUser | None = None,
                     now: dt.datetime | None = None) -> StaffUser:
    """Deactivate (or reactivate) a staff user: a deactivated user cannot log in and their API
    tokens stop working. Raises ValidationFailed for oneself or the last active admin."""
    if not active:
        if staff is not None and staff.id == user.id:
            raise ValidationFailed(_l("不能停用自己的账号"))
        if "admin" in user.role_names() and _active_admin_ids(session) <= {user.id}:
            raise ValidationFailed(_l("不能停用最后一位系统管理员"))
    user.active = active
    session.flush()
    audit.record(session, action="staff.activate" if active else "staff.deactivate", staff=staff,
                 target_type="staff", target_id=user.username, now=now)
    return user


def reset_staff_password(session: Session, user: StaffUser, password: str, *, staff: StaffUser | None = None,
                         now: dt.datetime | None = None, fast_hash: bool = False) -> StaffUser:
    """Set a new password. Raises ValidationFailed when it is shorter than 8 characters."""
    if len(password) < 8:
        raise ValidationFailed(_l("密码至少 8 个字符"))
    user.password_hash = hash_secret(password, fast=fast_hash)
    session.flush()
    audit.record(session, action="staff.reset_password", staff=staff, target_type="staff",
                 target_id=user.username, now=now)
    return user


def create_api_token(session: Session, user: StaffUser, name: str, *, now: dt.datetime | None = None) -> tuple[str, ApiToken]:
    """A new API token for ``user``: returns the token (shown once) and its row (hash only)."""
    name = name.strip()
    if not name:
        raise ValidationFailed(detail=_l("请填写令牌用途"))
    token, digest = new_api_token()
    row = ApiToken(user_id=user.id, name=name[:100], token_hash=digest, created_at=now or clock.now())
    session.add(row)
    session.flush()
    audit.record(session, action="api_token.create", staff=user, target_type="api_token", target_id=row.id,
                 details={"name": name}, now=now)
    return token, row


def revoke_api_token(session: Session, user: StaffUser, token_id: int, *, now: dt.datetime | None = None) -> ApiToken:
    """Revoke one of ``user``'s own tokens. Raises NotFound for another user's token."""
    row = session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise NotFound(what=str(token_id))
    if row.revoked_at is None:
        row.revoked_at = now or clock.now()
        session.flush()
        audit.record(session, action="api_token.revoke", staff=user, target_type="api_token", target_id=row.id,
                     now=now)
    return row


# --- reader categories ---------------------------------------------------------------------------


def save_reader_category(session: Session, *, code: str, name: str, name_en: str = "", sort_order: int = 0,
                         staff: StaffUser | None = None, now: dt.datetime | None = None) -> ReaderCategory:
    """Add a reader category or rename an existing one (the code is its identity)."""
    code = code.strip()
    if not code or not name.strip():
        raise ValidationFailed(detail=_l("代码和名称不能为空"))
    if not all(c.isascii() and (c.isalnum() or c == "_") for c in code):
        raise ValidationFailed(_l("代码只能由英文字母、数字和下划线组成"))
    category = session.get(ReaderCategory, code)
    if category is None:
        category = ReaderCategory(code=code)
        session.add(category)
    category.name, category.name_en, category.sort_order = name.strip(), name_en.strip(), sort_order
    session.flush()
    audit.record(session, action="reader_category.save", staff=staff, target_type="reader_category",
                 target_id=code, now=now)
    return category


def delete_reader_category(session: Session, code: str, *, staff: StaffUser | None = None,
                           now: dt.datetime | None = None) -> None:
    """Remove an unused reader category. Raises NotFound, InUse while readers (or rules of
    other packages) refer to it."""
    category = session.get(ReaderCategory, code)
    if category is None:
        raise NotFound(what=code)
    if session.scalar(select(Reader.id).where(Reader.category_code == code).limit(1)) is not None:
        raise InUse(_l("还有读者属于“%(what)s”，不能删除"), what=category.name)
    try:
        with session.begin_nested():
            session.delete(category)
            session.flush()
    except IntegrityError as exc:
        raise InUse(_l("“%(what)s”仍被其他设置（如借阅规则）引用，不能删除"), what=category.name) from exc
    audit.record(session, action="reader_category.delete", staff=staff, target_type="reader_category",
                 target_id=code, now=now)


# --- readers -------------------------------------------------------------------------------------


def _check_pin(pin: str) -> None:
    if not (pin.isdigit() and 4 <= len(pin) <= 8):
        raise ValidationFailed(_l("密码须为 4 到 8 位数字"))


def normalise_national_id(national_id: str) -> str:
    """A mainland ID number: 18 characters (the last may be X) or the old 15 digits."""
    value = national_id.strip().upper().replace(" ", "")
    ok = (len(value) == 18 and value[:17].isdigit() and (value[17].isdigit() or value[17] == "X")) or (
        len(value) == 15 and value.isdigit())
    if not ok:
        raise InvalidNationalId()
    return value


def find_reader_by_national_id(session: Session, secret_key: str, national_id: str) -> Reader | None:
    """The reader registered with this national ID number (through its keyed hash), or None."""
    try:
        value = normalise_national_id(national_id)
    except ValidationFailed:
        return None
    digest = national_id_digest(secret_key, value)
    return session.scalar(select(Reader).where(Reader.national_id_hash == digest))


def search_readers(session: Session, query: str, *, secret_key: str | None = None, limit: int = 50) -> list[Reader]:
    """Find readers by card number (also a replaced one), phone, name (contains) or full national
    ID number (through its keyed hash when ``secret_key`` is given)."""
    q = query.strip()
    if not q:
        return []
    found: list[Reader] = []
    if secret_key:
        by_id = find_reader_by_national_id(session, secret_key, q)
        if by_id is not None:
            found.append(by_id)
    old = session.scalar(select(ReplacedCard).where(ReplacedCard.card_number == q))
    if old is not None:
        reader = session.get(Reader, old.reader_id)
        if reader is not None and reader not in found:
            found.append(reader)
    for reader in find_readers(session, q, limit=limit):
        if reader not in found:
            found.append(reader)
    return found[:limit]


def update_reader(session: Session, reader: Reader, *, name: str, category_code: str, home_branch: Branch,
                  card_expires_on: dt.date, phone: str = "", email: str = "", notes: str = "",
                  status: str | None = None, national_id: str | None = None, secret_key: str | None = None,
                  staff: StaffUser | None = None, now: dt.datetime | None = None) -> Reader:
    """Change a reader's details. ``national_id``: None keeps it, "" removes it, a number replaces
    it (hash + last four only). ``status`` may be active, expired or blocked; a lost card is
    reported (and replaced) through its own services. Raises ValidationFailed, DuplicateValue."""
    if not name.strip():
        raise ValidationFailed(detail=_l("姓名不能为空"))
    if session.get(ReaderCategory, category_code) is None:
        raise ValidationFailed(detail=category_code)
    if status is not None and status != reader.status:
        if status not in ("active", "expired", "blocked"):
            raise ValidationFailed(detail=status)
        reader.status = status
    if national_id is not None:
        if national_id.strip() == "":
            reader.national_id_hash = reader.national_id_last4 = None
        else:
            if secret_key is None:
                raise ValueError("secret_key is needed to hash a national ID")
            value = normalise_national_id(national_id)
            digest = national_id_digest(secret_key, value)
            if session.scalar(select(Reader.id).where(Reader.national_id_hash == digest, Reader.id != reader.id)):
                raise DuplicateNationalId()
            reader.national_id_hash, reader.national_id_last4 = digest, value[-4:]
    reader.name, reader.category_code, reader.home_branch = name.strip(), category_code, home_branch
    reader.card_expires_on, reader.phone, reader.email = card_expires_on, phone.strip(), email.strip()
    reader.notes = notes.strip()
    session.flush()
    audit.record(session, action="reader.update", staff=staff, target_type="reader", target_id=reader.id,
                 details={"card": reader.card_number}, now=now)
    return reader


def report_card_lost(session: Session, reader: Reader, *, staff: StaffUser | None = None,
                     now: dt.datetime | None = None) -> Reader:
    """Mark the reader's card as reported lost: it can no longer log in or borrow until a new
    card is issued (``replace_card``)."""
    reader.status = "lost_card"
    session.flush()
    audit.record(session, action="reader.card_lost", staff=staff, target_type="reader", target_id=reader.id,
                 details={"card": reader.card_number}, now=now)
    return reader


def reset_reader_pin(session: Session, reader: Reader, pin: str, *, staff: StaffUser | None = None,
                     now: dt.datetime | None = None, fast_hash: bool = False) -> Reader:
    """Staff set a new PIN (the reader proved who they are at the desk). Raises ValidationFailed."""
    _check_pin(pin)
    reader.pin_hash = hash_secret(pin, fast=fast_hash)
    session.flush()
    audit.record(session, action="reader.reset_pin", staff=staff, target_type="reader", target_id=reader.id,
                 details={"card": reader.card_number}, now=now)
    return reader


class WrongPin(LibraryError):
    code = "wrong_pin"
    status = 422
    message = _l("当前密码不正确")


def change_reader_pin(session: Session, reader: Reader, current_pin: str, new_pin: str, *,
                      fast_hash: bool = False) -> Reader:
    """The reader changes their own PIN. Raises WrongPin, ValidationFailed."""
    if not verify_secret(reader.pin_hash, current_pin):
        raise WrongPin()
    _check_pin(new_pin)
    reader.pin_hash = hash_secret(new_pin, fast=fast_hash)
    session.flush()
    return reader


def set_reader_privacy(session: Session, reader: Reader, *, keep_history: bool,
                       show_on_leaderboards: bool, now: dt.datetime | None = None) -> Reader:
    """The reader's own privacy choices (both off unless they turn them on). Turning the reading
    history on keeps the loans returned from ``now`` on; loans returned before (while it was off)
    are still anonymised by the nightly circulation job."""
    if keep_history and not reader.keep_history:
        reader.history_kept_since = now or clock.now()
    elif not keep_history:
        reader.history_kept_since = None
    reader.keep_history = keep_history
    reader.show_on_leaderboards = show_on_leaderboards
    session.flush()
    return reader
