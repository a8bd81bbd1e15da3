"""The ACS side of SIP2: one function per message, each run in its own database transaction.

Every circulation message goes through the circulation services (a checkout from a kiosk is the
same checkout as at the counter: same rules, blocks, holds, points and signals). A refusal is
always a well-formed answer of the right type with "not OK" flags and a screen message (AF).
Every transaction (login, checkout, checkin, renew, renew all, hold, block patron, patron
enable, fee paid, item status update) is audited with the actor ``kiosk:<login>``, the kiosk's
branch, the reader, the item and the result.
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from circulation.common import zh
from circulation.sip2 import protocol as p
from circulation.sip2.models import Kiosk
from circulation.sip2.services import authenticate_kiosk
from library import audit, clock
from library.db import get_database
from library.errors import LibraryError
from library.models import Branch, Reader, ReplacedCard
from library.security import verify_secret

log = logging.getLogger("library.sip2")

CURRENCY = "CNY"
# SIP2 media types (000 other, 001 book, 002 magazine, 006 CD/CD-ROM) from our item types.
MEDIA_TYPES = {"book": "001", "children": "001", "reference": "001", "ancient": "001", "periodical": "002",
               "av": "006"}


@dataclass
class Connection:
    """What the server knows about one kiosk connection between messages."""

    remote_addr: str = ""
    kiosk_id: int | None = None
    kiosk_login: str = ""
    branch_id: int | None = None
    charset: str = "utf-8"
    institution: str = ""
    last_request: bytes | None = None
    last_sequence: str | None = None
    last_response: bytes | None = None
    state_changed: bool = False
    # The terminal password (AC) last found right, with the hash it matched: checked once per
    # connection, not once per message (argon2 is slow on purpose).
    terminal_ok: tuple[str, str] | None = None

    @property
    def logged_in(self) -> bool:
        return self.kiosk_id is not None

    @property
    def actor(self) -> str:
        return f"kiosk:{self.kiosk_login}"


@dataclass
class Ctx:
    """One message being answered: the session of its transaction, the time, the kiosk."""

    app: Flask
    session: Session
    conn: Connection
    msg: p.Message
    now: dt.datetime
    kiosk: Kiosk
    changed: list[bool] = field(default_factory=list)

    @property
    def branch(self) -> Branch:
        return self.kiosk.branch

    @property
    def tz(self) -> str:
        return str(self.app.config.get("LIBRARY_TIMEZONE", "Asia/Shanghai"))

    def stamp(self) -> str:
        return p.sip_datetime(self.now, self.tz)

    @property
    def institution(self) -> str:
        return self.msg.get("AO") or self.conn.institution or self.branch.code

    def audit(self, action: str, *, result: str, reader: Reader | None = None, card: str = "",
              barcode: str = "", **details: Any) -> None:
        audit.record(
            self.session, action=f"sip2.{action}", actor=self.conn.actor, target_type="item" if barcode else "reader",
            target_id=barcode or card, branch_id=self.kiosk.branch_id, now=self.now,
            details={"kiosk": self.conn.kiosk_login, "reader": card or (reader.card_number if reader else ""),
                     "reader_id": reader.id if reader else None, "item": barcode, "result": result,
                     "remote_addr": self.conn.remote_addr, **details},
        )


# ---------------------------------------------------------------------------------------------
# Refusals: a well-formed answer of the right type saying "not done".


def refusal(code: str, msg: p.Message, screen: str, *, stamp: str, institution: str = "") -> p.Response | None:
    """The "not done" answer to request ``code`` (None: the code is no SC request at all)."""
    ao = msg.get("AO") or institution
    if code == "93":
        return p.Response("94", "0")
    if code == "99":
        return p.Response("98", "NNNNNN" + "000" + "003" + stamp + "2.00").add("AO", ao).add(
            "AM", "").add("BX", p.SUPPORTED_MESSAGES).add("AF", screen, optional=True)
    if code in ("23", "01"):
        return p.Response("24", "Y" * 4 + " " * 10 + "000" + stamp).add("AO", ao).add("AA", msg.get("AA")).add(
            "AE", "").add("BL", "N").add("AF", screen, optional=True)
    if code == "63":
        return p.Response("64", "Y" * 4 + " " * 10 + "000" + stamp + "0000" * 6).add("AO", ao).add(
            "AA", msg.get("AA")).add("AE", "").add("BL", "N").add("AF", screen, optional=True)
    if code == "11":
        return p.Response("12", "0NNN" + stamp).add("AO", ao).add("AA", msg.get("AA")).add(
            "AB", msg.get("AB")).add("AJ", "").add("AH", "").add("AF", screen, optional=True)
    if code == "09":
        return p.Response("10", "0NNN" + stamp).add("AO", ao).add("AB", msg.get("AB")).add(
            "AQ", "").add("AF", screen, optional=True)
    if code == "29":
        return p.Response("30", "0NNN" + stamp).add("AO", ao).add("AA", msg.get("AA")).add(
            "AB", msg.get("AB")).add("AJ", "").add("AH", "").add("AF", screen, optional=True)
    if code == "65":
        return p.Response("66", "0" + "0000" + "0000" + stamp).add("AO", ao).add("AF", screen, optional=True)
    if code == "17":
        return p.Response("18", "01" + "00" + "01" + stamp).add("AB", msg.get("AB")).add("AJ", "").add(
            "AF", screen, optional=True)
    if code == "15":
        return p.Response("16", "0N" + stamp).add("AO", ao).add("AA", msg.get("AA")).add(
            "AF", screen, optional=True)
    if code == "35":
        return p.Response("36", "N" + stamp).add("AO", ao).add("AA", msg.get("AA")).add(
            "AF", screen, optional=True)
    if code == "19":
        return p.Response("20", "0" + stamp).add("AB", msg.get("AB")).add("AF", screen, optional=True)
    if code == "25":
        return p.Response("26", "Y" * 4 + " " * 10 + "000" + stamp).add("AO", ao).add(
            "AA", msg.get("AA")).add("AE", "").add("BL", "N").add("AF", screen, optional=True)
    if code == "37":
        return p.Response("38", "N" + stamp).add("AO", ao).add("AA", msg.get("AA")).add(
            "AF", screen, optional=True)
    return None


# ---------------------------------------------------------------------------------------------
# Look-ups shared by the handlers.


def _circ() -> Any:
    import circulation.services as services

    return services


def _find_reader(session: Session, card: str) -> Reader | None:
    card = card.strip()
    if not card:
        return None
    return session.scalar(select(Reader).where(Reader.card_number == card))


def _find_item(session: Session, barcode: str) -> Any:
    from catalog.models import Item

    barcode = barcode.strip()
    if not barcode:
        return None
    return session.scalar(select(Item).where(Item.barcode == barcode))


def _open_loan(session: Session, item_id: int) -> Any:
    from circulation.models import OPEN_LOAN_STATES, Loan

    return session.scalar(select(Loan).where(Loan.item_id == item_id, Loan.state.in_(OPEN_LOAN_STATES)))


def _media_type(item: Any) -> str:
    return MEDIA_TYPES.get(getattr(item, "item_type_code", ""), "000")


def _title(item: Any) -> str:
    record = getattr(item, "record", None)
    return (record.title if record is not None else "") or ""


def _mask_name(name: str) -> str:
    """A reader's name as shown on a public kiosk screen: the surname and asterisks."""
    return (name[:1] + "*" * max(len(name) - 1, 1)) if name else ""


def _check_pin(ctx: Ctx, card: str) -> str | None:
    """Check AD when the kiosk sent one. None = no PIN sent or it is right; else the refusal text.
    Failed attempts are recorded (kind "sip2") and rate-limited like every login."""
    pin = ctx.msg.get("AD")
    if not ctx.msg.has("AD") or pin == "":
        return None
    from library.auth import authenticate_reader

    try:
        authenticate_reader(ctx.session, card, pin, remote_addr=ctx.conn.remote_addr[:64], kind="sip2")
    except LibraryError as exc:
        return exc.text
    return None


def _attempt(ctx: Ctx, fn: Callable[[], Any]) -> tuple[Any, LibraryError | None]:
    """Run a circulation service in a savepoint: on a refusal its partial writes are undone and
    the transaction goes on (to write the audit entry)."""
    try:
        with ctx.session.begin_nested():
            result = fn()
        return result, None
    except LibraryError as exc:
        return None, exc


def _error_code(exc: LibraryError) -> str:
    return exc.code


# ---------------------------------------------------------------------------------------------
# 99 status, 35 end session


def handle_status(ctx: Ctx) -> p.Response:
    """98: on-line, what this kiosk may do, the library's name, supported messages."""
    # on-line, checkin ok, checkout ok, renewal policy, status update ok, off-line ok, ...
    fixed = "Y" + "YYY" + "N" + "Y" + "600" + "003" + ctx.stamp() + "2.00"
    return (p.Response("98", fixed).add("AO", ctx.institution).add("AM", ctx.branch.name)
            .add("BX", p.SUPPORTED_MESSAGES).add("AN", ctx.kiosk.description or ctx.kiosk.sip_login))


def handle_end_session(ctx: Ctx) -> p.Response:
    return p.Response("36", "Y" + ctx.stamp()).add("AO", ctx.institution).add("AA", ctx.msg.get("AA"))


# ---------------------------------------------------------------------------------------------
# 23 patron status, 63 patron information


def _patron_basics(ctx: Ctx, card: str) -> tuple[Reader | None, str, Any, str | None]:
    """The reader, the 14-character patron status, the account summary (with its blocks), and
    the PIN verdict (None: PIN not sent; "Y"/"N")."""
    reader = _find_reader(ctx.session, card)
    if reader is None:
        return None, "Y" * 4 + " " * 10, None, None
    summary = _circ().reader_summary(ctx.session, reader, ctx.now)
    pin_state: str | None = None
    if ctx.msg.has("AD") and ctx.msg.get("AD") != "":
        pin_state = "N" if _check_pin(ctx, card) else "Y"
    return reader, p.patron_status_flags(b.code for b in summary.blocks), summary, pin_state


def _card_replaced(session: Session, card: str) -> bool:
    return session.scalar(select(ReplacedCard.id).where(ReplacedCard.card_number == card.strip())) is not None


def handle_patron_status(ctx: Ctx) -> p.Response:
    card = ctx.msg.get("AA")
    reader, status, summary, pin_state = _patron_basics(ctx, card)
    resp = p.Response("24", status + "000" + ctx.stamp()).add("AO", ctx.institution).add("AA", card)
    if reader is None:
        text = _("此读者证已挂失或已被替换，请到服务台办理") if _card_replaced(ctx.session, card) else _("找不到此读者证")
        return resp.add("AE", "").add("BL", "N").add("AF", text)
    resp.add("AE", reader.name).add("BL", "Y")
    if pin_state is not None:
        resp.add("CQ", pin_state)
    resp.add("BH", CURRENCY).add("BV", _money(getattr(summary, "charges_total", 0)))
    resp.add("AF", _screen_for_patron(summary.blocks, pin_state), optional=True)
    return resp


def _money(value: Any) -> str:
    try:
        return f"{Decimal(value or 0):.2f}"
    except Exception:
        return "0.00"


def _screen_for_patron(blocks: list[Any], pin_state: str | None) -> str:
    if pin_state == "N":
        return _("读者证号或密码错误")
    if blocks:
        return "；".join(str(b.message) for b in blocks)
    return ""


def _as_list(value: Any) -> list[Any]:
    if value is None or isinstance(value, int | Decimal):
        return []
    return list(value)


def _loan_line(loan: Any) -> str:
    item = getattr(loan, "item", None)
    return getattr(item, "barcode", "") if item is not None else ""


def _hold_line(hold: Any) -> str:
    item = getattr(hold, "trapped_item", None) or getattr(hold, "item", None)
    if item is not None:
        return str(item.barcode)
    record = getattr(hold, "record", None)
    return record.title if record is not None else str(getattr(hold, "id", ""))


def _charge_line(charge: Any) -> str:
    """A fine item (AV): the charge's number (``#12``: the fee identifier CG of a 37 that pays
    it), the copy's barcode when the charge belongs to a loan, the amount, the kind."""
    loan = getattr(charge, "loan", None)
    item = getattr(loan, "item", None) if loan is not None else None
    parts = [f"#{charge.id}", getattr(item, "barcode", "") if item is not None else "",
             f"{_money(charge.amount)} {CURRENCY}", str(getattr(charge, "kind", ""))]
    return " ".join(x for x in parts if x)


def handle_patron_information(ctx: Ctx) -> p.Response:
    """64 with the counts and, for the one list the summary field asks for, its items from BP to
    BQ (charged AU, overdue AT, fines AV, available holds AS, unavailable holds CD)."""
    card = ctx.msg.get("AA")
    reader, status, summary, pin_state = _patron_basics(ctx, card)
    lang = (ctx.msg.fixed.get("language") or "000").strip() or "000"
    lang = lang if lang.isdigit() and len(lang) == 3 else "000"
    if reader is None:
        text = _("此读者证已挂失或已被替换，请到服务台办理") if _card_replaced(ctx.session, card) else _("找不到此读者证")
        return (p.Response("64", status + lang + ctx.stamp() + "0000" * 6).add("AO", ctx.institution)
                .add("AA", card).add("AE", "").add("BL", "N").add("AF", text))
    loans = _as_list(getattr(summary, "loans", []))
    overdue = _as_list(getattr(summary, "overdue", []))
    holds = _as_list(getattr(summary, "holds", []))
    ready = _as_list(getattr(summary, "holds_ready", []))
    ready_ids = {getattr(h, "id", None) for h in ready}
    unavailable = [h for h in holds if getattr(h, "id", None) not in ready_ids]
    charges = _as_list(getattr(summary, "charges", []))
    fixed = (status + lang + ctx.stamp() + p.count4(len(ready)) + p.count4(len(overdue)) + p.count4(len(loans))
             + p.count4(len(charges)) + "0000" + p.count4(len(unavailable)))
    resp = p.Response("64", fixed).add("AO", ctx.institution).add("AA", card).add("AE", reader.name)
    resp.add("BL", "Y")
    if pin_state is not None:
        resp.add("CQ", pin_state)
    resp.add("BH", CURRENCY).add("BV", _money(getattr(summary, "charges_total", 0)))
    kind = p.summary_kind(ctx.msg.fixed.get("summary", ""))
    lists: dict[str, tuple[str, list[str]]] = {
        "hold": ("AS", [_hold_line(h) for h in ready]),
        "overdue": ("AT", [_loan_line(loan) for loan in overdue]),
        "charged": ("AU", [_loan_line(loan) for loan in loans]),
        "unavailable": ("CD", [_hold_line(h) for h in unavailable]),
        "fine": ("AV", [_charge_line(c) for c in charges]),
    }
    if kind in lists and pin_state != "N":
        tag, lines = lists[kind]
        first, last = p.page_bounds(ctx.msg.get("BP"), ctx.msg.get("BQ"), len(lines))
        resp.add_all(tag, lines[first:last])
    resp.add("AF", _screen_for_patron(summary.blocks, pin_state), optional=True)
    return resp


# ---------------------------------------------------------------------------------------------
# 11 checkout, 09 checkin, 29 renew, 65 renew all


def handle_checkout(ctx: Ctx) -> p.Response:
    card, barcode = ctx.msg.get("AA").strip(), ctx.msg.get("AB").strip()
    stamp = ctx.stamp()

    def answer(ok: bool, *, renewed: bool = False, item: Any = None, due: dt.date | None = None,
               screen: str = "") -> p.Response:
        fixed = ("1" if ok else "0") + p.yn(renewed) + "N" + p.yn(ok) + stamp
        resp = p.Response("12", fixed).add("AO", ctx.institution).add("AA", card).add("AB", barcode)
        resp.add("AJ", _title(item) if item is not None else "").add("AH", p.sip_due_date(due) if due else "")
        if item is not None:
            resp.add("CK", _media_type(item))
        return resp.add("AF", screen, optional=True)

    if not card or not barcode:
        return answer(False, screen=_("请先刷读者证并扫描图书条码"))
    pin_error = _check_pin(ctx, card)
    if pin_error:
        ctx.audit("checkout", result="bad_pin", card=card, barcode=barcode)
        return answer(False, screen=pin_error)
    circ = _circ()
    loan, error = _attempt(ctx, lambda: circ.checkout(
        ctx.session, item_barcode=barcode, card_number=card, branch=ctx.branch, now=ctx.now, actor=ctx.conn.actor))
    if error is None:
        ctx.changed.append(True)
        ctx.audit("checkout", result="ok", reader=loan.reader, barcode=barcode, loan_id=loan.id,
                  due_on=loan.due_on.isoformat())
        return answer(True, item=loan.item, due=loan.due_on,
                      screen=_("借书成功，请于 %(due)s 前归还", due=loan.due_on.isoformat()))
    item = _find_item(ctx.session, barcode)
    existing = _open_loan(ctx.session, item.id) if item is not None else None
    if (existing is not None and existing.reader is not None and existing.reader.card_number == card
            and existing.state == "on_loan"):
        # The item is already lent to this very reader: a kiosk retrying after a lost answer, or
        # a reader scanning a book twice. With the SC renewal policy Y the kiosk asks to renew.
        if ctx.msg.flag("sc_renewal_policy"):
            renewed, rerr = _attempt(ctx, lambda: circ.renew(
                ctx.session, item_barcode=barcode, card_number=card, now=ctx.now, actor=ctx.conn.actor))
            if rerr is None:
                ctx.changed.append(True)
                ctx.audit("checkout", result="renewed", reader=existing.reader, barcode=barcode,
                          loan_id=renewed.id, due_on=renewed.due_on.isoformat())
                return answer(True, renewed=True, item=item, due=renewed.due_on,
                              screen=_("续借成功，请于 %(due)s 前归还", due=renewed.due_on.isoformat()))
            ctx.audit("checkout", result=rerr.code, reader=existing.reader, barcode=barcode)
            return answer(False, item=item, due=existing.due_on, screen=rerr.text)
        ctx.audit("checkout", result="already_on_loan_to_reader", reader=existing.reader, barcode=barcode,
                  loan_id=existing.id)
        return answer(True, item=item, due=existing.due_on,
                      screen=_("此书已借在您名下，请于 %(due)s 前归还", due=existing.due_on.isoformat()))
    assert error is not None
    ctx.audit("checkout", result=error.code, card=card, barcode=barcode, message=error.text)
    return answer(False, item=item, screen=error.text)


def handle_checkin(ctx: Ctx) -> p.Response:
    """10 with the routing answer: reshelve here; send to branch X (CT, alert type 04); hold
    shelf for reader Y here (alert type 01) or at branch X (alert type 02, CT)."""
    barcode = ctx.msg.get("AB").strip()
    stamp = ctx.stamp()

    def base(ok: bool, alert: bool, item: Any = None) -> p.Response:
        resp = p.Response("10", ("1" if ok else "0") + p.yn(ok) + "N" + p.yn(alert) + stamp)
        resp.add("AO", ctx.institution).add("AB", barcode)
        resp.add("AQ", item.home_branch.code if item is not None else "")
        if item is not None:
            resp.add("AJ", _title(item))
        return resp

    if not barcode:
        return base(False, False).add("AF", _("请扫描图书条码"))
    circ = _circ()
    returned_at, offline = _offline_return(ctx, barcode)
    result, error = _attempt(ctx, lambda: circ.checkin(
        ctx.session, item_barcode=barcode, branch=ctx.branch, now=ctx.now, actor=ctx.conn.actor,
        returned_at=returned_at))
    if error is not None:
        item = _find_item(ctx.session, barcode)
        ctx.audit("checkin", result=error.code, barcode=barcode, message=error.text, **offline)
        return base(False, False, item).add("AF", error.text)
    ctx.changed.append(True)
    item = result.item
    loan = result.loan
    action = result.action
    destination = result.destination
    hold = result.hold
    alert = action != "reshelve"
    resp = base(True, alert, item)
    if loan is not None and loan.reader is not None:
        resp.add("AA", loan.reader.card_number)
    resp.add("CK", _media_type(item))
    if action == "hold_shelf" and hold is not None:
        resp.add("CV", "01").add("CY", hold.reader.card_number).add("DA", _mask_name(hold.reader.name))
        screen = _("请放到本馆预约架：为读者 %(reader)s 保留", reader=_mask_name(hold.reader.name))
    elif action == "transit" and hold is not None and destination is not None:
        resp.add("CV", "02").add("CT", destination.code).add("CY", hold.reader.card_number)
        resp.add("DA", _mask_name(hold.reader.name))
        screen = _("预约书：请送往 %(branch)s，为读者 %(reader)s 保留", branch=destination.name,
                   reader=_mask_name(hold.reader.name))
    elif action == "transit" and destination is not None:
        resp.add("CV", "04").add("CT", destination.code)
        screen = _("请送往 %(branch)s", branch=destination.name)
    else:
        screen = _("还书成功")
        if loan is not None and getattr(result, "on_time", None) is False:
            screen = _("还书成功（已逾期）")
    resp.add("AF", screen)
    ctx.audit("checkin", result="ok", reader=loan.reader if loan is not None else None, barcode=barcode,
              routing=action, destination=destination.code if destination is not None else None,
              hold_id=hold.id if hold is not None else None, loan_id=loan.id if loan is not None else None,
              **offline)
    return resp


# How far a return date may lie before the transaction and still be the kiosk's clock, not an
# offline return.
OFFLINE_TOLERANCE = dt.timedelta(minutes=10)


def _offline_return(ctx: Ctx, barcode: str) -> tuple[dt.datetime | None, dict[str, Any]]:
    """The return date of a store-and-forward checkin (the van's handheld uploading returns it
    took offline), bounded: not after now, not before the loan's checkout. None when the return
    date is blank, unreadable, or (within OFFLINE_TOLERANCE) now. Also the audit details."""
    raw = ctx.msg.fixed.get("return_date", "")
    claimed = p.parse_sip_datetime(raw, ctx.tz)
    if claimed is None or claimed >= ctx.now - OFFLINE_TOLERANCE:
        return None, {}
    details: dict[str, Any] = {"offline": True, "return_date": claimed.isoformat(),
                               "no_block": ctx.msg.flag("no_block")}
    item = _find_item(ctx.session, barcode)
    loan = _open_loan(ctx.session, item.id) if item is not None else None
    if loan is None:
        return None, details
    returned_at = claimed
    if returned_at < loan.checked_out_at:
        returned_at = loan.checked_out_at
        details["bounded"] = "checkout"
    details["returned_at"] = returned_at.isoformat()
    return returned_at, details


def handle_renew(ctx: Ctx) -> p.Response:
    card, barcode = ctx.msg.get("AA").strip(), ctx.msg.get("AB").strip()
    stamp = ctx.stamp()

    def answer(ok: bool, item: Any = None, due: dt.date | None = None, screen: str = "") -> p.Response:
        resp = p.Response("30", ("1" if ok else "0") + p.yn(ok) + "N" + p.yn(ok) + stamp)
        resp.add("AO", ctx.institution).add("AA", card).add("AB", barcode)
        resp.add("AJ", _title(item) if item is not None else "").add("AH", p.sip_due_date(due) if due else "")
        return resp.add("AF", screen, optional=True)

    if not barcode:
        return answer(False, screen=_("请扫描要续借的图书条码"))
    if card:
        pin_error = _check_pin(ctx, card)
        if pin_error:
            ctx.audit("renew", result="bad_pin", card=card, barcode=barcode)
            return answer(False, screen=pin_error)
    circ = _circ()
    loan, error = _attempt(ctx, lambda: circ.renew(
        ctx.session, item_barcode=barcode, card_number=card or None, now=ctx.now, actor=ctx.conn.actor))
    if error is not None:
        ctx.audit("renew", result=error.code, card=card, barcode=barcode, message=error.text)
        return answer(False, item=_find_item(ctx.session, barcode), screen=error.text)
    ctx.changed.append(True)
    ctx.audit("renew", result="ok", reader=loan.reader, barcode=barcode, loan_id=loan.id,
              due_on=loan.due_on.isoformat())
    return answer(True, item=loan.item, due=loan.due_on,
                  screen=_("续借成功，请于 %(due)s 前归还", due=loan.due_on.isoformat()))


def handle_renew_all(ctx: Ctx) -> p.Response:
    card = ctx.msg.get("AA").strip()
    stamp = ctx.stamp()
    reader = _find_reader(ctx.session, card)
    if reader is None:
        return p.Response("66", "0" + "0000" + "0000" + stamp).add("AO", ctx.institution).add(
            "AF", _("找不到此读者证"))
    pin_error = _check_pin(ctx, card)
    if pin_error:
        ctx.audit("renew_all", result="bad_pin", reader=reader)
        return p.Response("66", "0" + "0000" + "0000" + stamp).add("AO", ctx.institution).add("AF", pin_error)
    circ = _circ()
    results, error = _attempt(ctx, lambda: circ.renew_all(
        ctx.session, card_number=card, now=ctx.now, actor=ctx.conn.actor))
    if error is not None:
        ctx.audit("renew_all", result=error.code, reader=reader, message=error.text)
        return p.Response("66", "0" + "0000" + "0000" + stamp).add("AO", ctx.institution).add("AF", error.text)
    renewed = [barcode for barcode, outcome in results if not isinstance(outcome, LibraryError)]
    refused = [(barcode, outcome) for barcode, outcome in results if isinstance(outcome, LibraryError)]
    if renewed:
        ctx.changed.append(True)
    resp = p.Response("66", "1" + p.count4(len(renewed)) + p.count4(len(refused)) + stamp)
    resp.add("AO", ctx.institution).add_all("BM", renewed).add_all("BN", [b for b, _e in refused])
    resp.add("AF", _("已续借 %(n)s 册，未能续借 %(m)s 册", n=len(renewed), m=len(refused)))
    ctx.audit("renew_all", result="ok", reader=reader, renewed=renewed,
              refused={b: e.code for b, e in refused})
    return resp


# ---------------------------------------------------------------------------------------------
# 17 item information, 15 hold


def handle_item_information(ctx: Ctx) -> p.Response:
    from circulation.models import ACTIVE_HOLD_STATES, Hold

    barcode = ctx.msg.get("AB").strip()
    item = _find_item(ctx.session, barcode)
    stamp = ctx.stamp()
    if item is None:
        return p.Response("18", "01" + "00" + "01" + stamp).add("AB", barcode).add("AJ", "").add(
            "AF", _("找不到此条码的馆藏"))
    status = p.CIRCULATION_STATUS.get(item.status, "01")
    queue = ctx.session.scalar(
        select(func.count()).select_from(Hold).where(Hold.record_id == item.record_id,
                                                     Hold.state.in_(ACTIVE_HOLD_STATES))) or 0
    resp = p.Response("18", status + "00" + "01" + stamp).add("CF", str(queue))
    loan = _open_loan(ctx.session, item.id) if item.status == "on_loan" else None
    if loan is not None:
        resp.add("AH", p.sip_due_date(loan.due_on))
    if item.status == "on_hold_shelf":
        trapped = ctx.session.scalar(select(Hold).where(Hold.trapped_item_id == item.id, Hold.state == "ready"))
        if trapped is not None and trapped.expires_on is not None:
            resp.add("CM", p.sip_due_date(trapped.expires_on))
    resp.add("AB", item.barcode).add("AJ", _title(item)).add("BG", item.home_branch.name)
    resp.add("CK", _media_type(item)).add("AQ", item.home_branch.code).add("AP", item.current_branch.code)
    if item.call_number:
        resp.add("CS", item.call_number)
    return resp


def handle_hold(ctx: Ctx) -> p.Response:
    """15 hold: mode ``+`` places a hold (item-level with AB, title-level with AJ = record id),
    pickup at BS (a branch code) or at the kiosk's branch; ``-`` cancels it; ``*`` moves the
    reader's waiting hold on that title to the pickup branch BS (a hold whose copy is already
    trapped is left to the desk)."""
    from circulation.models import ACTIVE_HOLD_STATES, Hold

    mode = ctx.msg.fixed.get("hold_mode", "").strip()
    card = ctx.msg.get("AA").strip()
    barcode = ctx.msg.get("AB").strip()
    title_id = ctx.msg.get("AJ").strip()
    stamp = ctx.stamp()

    def answer(ok: bool, available: bool = False, screen: str = "", pickup: str = "",
               queue: int | None = None, expires: dt.date | None = None) -> p.Response:
        resp = p.Response("16", ("1" if ok else "0") + p.yn(available) + stamp)
        if expires is not None:
            resp.add("BW", p.sip_due_date(expires))
        if queue is not None:
            resp.add("BR", str(queue))
        resp.add("BS", pickup, optional=True)
        resp.add("AO", ctx.institution).add("AA", card).add("AB", barcode, optional=True)
        resp.add("AJ", title_id, optional=True)
        return resp.add("AF", screen, optional=True)

    reader = _find_reader(ctx.session, card)
    if reader is None:
        return answer(False, screen=_("找不到此读者证"))
    pin_error = _check_pin(ctx, card)
    if pin_error:
        ctx.audit("hold", result="bad_pin", reader=reader, barcode=barcode)
        return answer(False, screen=pin_error)
    if not barcode and not title_id.isdigit():
        return answer(False, screen=_("请扫描图书条码"))
    circ = _circ()
    if mode == "+":
        pickup = ctx.branch
        if ctx.msg.get("BS").strip():
            pickup = ctx.session.scalar(select(Branch).where(Branch.code == ctx.msg.get("BS").strip())) or ctx.branch
        hold, error = _attempt(ctx, lambda: circ.place_hold(
            ctx.session, card_number=card, pickup_branch=pickup, now=ctx.now,
            record_id=int(title_id) if (title_id.isdigit() and not barcode) else None,
            item_barcode=barcode or None, actor=ctx.conn.actor))
        if error is not None:
            ctx.audit("hold", result=error.code, reader=reader, barcode=barcode, message=error.text)
            return answer(False, screen=error.text, pickup=pickup.code)
        ctx.changed.append(True)
        queue = None
        if hasattr(circ, "hold_queue_position"):
            queue = circ.hold_queue_position(ctx.session, hold)
        ctx.audit("hold", result="ok", reader=reader, barcode=barcode, hold_id=hold.id, pickup=pickup.code)
        return answer(True, available=hold.state == "ready", pickup=pickup.code, queue=queue,
                      expires=hold.expires_on, screen=_("预约成功，取书地点：%(branch)s", branch=pickup.name))
    if mode in ("-", "*"):
        stmt = select(Hold).where(Hold.reader_id == reader.id, Hold.state.in_(ACTIVE_HOLD_STATES))
        if barcode:
            item = _find_item(ctx.session, barcode)
            if item is None:
                return answer(False, screen=_("找不到此条码的馆藏"))
            stmt = stmt.where(Hold.record_id == item.record_id)
        else:
            stmt = stmt.where(Hold.record_id == int(title_id))
        hold = ctx.session.scalar(stmt.order_by(Hold.id))
        if hold is None:
            return answer(False, screen=_("没有找到您对此书的预约"))
        hold_id = hold.id
        if mode == "*":
            return _modify_hold(ctx, reader, hold_id, barcode, answer)
        _cancelled, error = _attempt(ctx, lambda: circ.cancel_hold(ctx.session, hold_id=hold_id, now=ctx.now,
                                                                    reader=reader))
        if error is not None:
            ctx.audit("hold_cancel", result=error.code, reader=reader, barcode=barcode, hold_id=hold_id)
            return answer(False, screen=error.text)
        ctx.changed.append(True)
        ctx.audit("hold_cancel", result="ok", reader=reader, barcode=barcode, hold_id=hold_id)
        return answer(True, screen=_("预约已取消"))
    return answer(False, screen=_("无效的预约操作"))


def _modify_hold(ctx: Ctx, reader: Reader, hold_id: int, barcode: str, answer: Callable[..., p.Response]) -> p.Response:
    from circulation.sip2.services import change_hold_pickup

    code = ctx.msg.get("BS").strip()
    if not code:
        return answer(False, screen=_("请选择新的取书地点"))
    pickup = ctx.session.scalar(select(Branch).where(Branch.code == code))
    if pickup is None:
        return answer(False, screen=_("找不到取书地点 %(code)s", code=code))
    hold, error = _attempt(ctx, lambda: change_hold_pickup(
        ctx.session, hold_id=hold_id, reader=reader, pickup=pickup, now=ctx.now, actor=ctx.conn.actor,
        branch_id=ctx.kiosk.branch_id))
    if error is not None:
        ctx.audit("hold_modify", result=error.code, reader=reader, barcode=barcode, hold_id=hold_id, pickup=code)
        return answer(False, screen=error.text)
    ctx.changed.append(True)
    ctx.audit("hold_modify", result="ok", reader=reader, barcode=barcode, hold_id=hold_id, pickup=pickup.code)
    return answer(True, pickup=pickup.code, queue=_circ().hold_queue_position(ctx.session, hold),
                  screen=_("已改为在 %(branch)s 取书", branch=pickup.name))


# ---------------------------------------------------------------------------------------------
# 01 block patron, 25 patron enable


def handle_block_patron(ctx: Ctx) -> p.Response:
    """01: block the card (the kiosk found it left behind or tampered with); the answer is the
    24 patron status after the block."""
    from circulation.sip2.services import block_reader

    card = ctx.msg.get("AA").strip()
    reader = _find_reader(ctx.session, card)
    if reader is None:
        ctx.audit("block_patron", result="reader_not_found", card=card)
        return handle_patron_status(ctx)
    changed = block_reader(ctx.session, reader, kiosk=ctx.kiosk, reason=ctx.msg.get("AL"),
                           card_retained=ctx.msg.flag("card_retained"), now=ctx.now, actor=ctx.conn.actor,
                           remote_addr=ctx.conn.remote_addr)
    if changed:
        ctx.changed.append(True)
    return handle_patron_status(ctx)


def handle_patron_enable(ctx: Ctx) -> p.Response:
    """25: undo a block made by a kiosk (01), with the reader's PIN; anything else (a block by
    staff, a lost card, an expired card) stays for the desk. The answer carries the patron
    status after it."""
    from circulation.sip2.services import CardNotEnableable, enable_reader

    card = ctx.msg.get("AA").strip()
    stamp = ctx.stamp()
    reader = _find_reader(ctx.session, card)

    def answer(screen: str, pin_ok: bool | None = None) -> p.Response:
        status = "Y" * 4 + " " * 10
        if reader is not None:
            status = p.patron_status_flags(b.code for b in _circ().reader_blocks(ctx.session, reader, ctx.now))
        resp = p.Response("26", status + "000" + stamp).add("AO", ctx.institution).add("AA", card)
        resp.add("AE", reader.name if reader is not None else "").add("BL", p.yn(reader is not None))
        if pin_ok is not None:
            resp.add("CQ", p.yn(pin_ok))
        return resp.add("AF", screen, optional=True)

    if reader is None:
        return answer(_("找不到此读者证"))
    if not ctx.msg.get("AD"):
        ctx.audit("patron_enable", result="pin_required", reader=reader)
        return answer(_("请输入读者密码"))
    pin_error = _check_pin(ctx, card)
    if pin_error:
        ctx.audit("patron_enable", result="bad_pin", reader=reader)
        return answer(pin_error, pin_ok=False)
    try:
        with ctx.session.begin_nested():
            status = enable_reader(ctx.session, reader, kiosk=ctx.kiosk, now=ctx.now, actor=ctx.conn.actor,
                                   remote_addr=ctx.conn.remote_addr)
    except CardNotEnableable as exc:
        ctx.audit("patron_enable", result=exc.code, reader=reader, status=reader.status)
        return answer(exc.text, pin_ok=True)
    ctx.changed.append(True)
    return answer(_("读者证已恢复使用") if status == "active" else _("冻结已解除；读者证已过期，请到服务台续证"),
                  pin_ok=True)


# ---------------------------------------------------------------------------------------------
# 19 item status update, 37 fee paid


def handle_item_status_update(ctx: Ctx) -> p.Response:
    """20: the item properties (CH) a kiosk sends are not stored (the catalogue keeps no field
    for them and a kiosk does not edit copies): always "0" with the reason, audited."""
    barcode = ctx.msg.get("AB").strip()
    item = _find_item(ctx.session, barcode)
    resp = p.Response("20", "0" + ctx.stamp()).add("AB", barcode).add("AJ", _title(item) if item else "")
    if item is None:
        return resp.add("AF", _("找不到此条码的馆藏"))
    ctx.audit("item_status_update", result="not_stored", barcode=barcode, properties=ctx.msg.get("CH")[:200])
    return resp.add("AF", _("馆藏属性不能由自助设备修改，请到服务台办理"))


# Fee types (37 fixed field) of the charges this library has; 01 (other/unknown) or blank: any.
FEE_TYPES = {"03": ("damage",), "04": ("overdue_fine",), "07": ("replacement",)}
MAX_PAYMENT = Decimal("100000")
PAYMENT_TYPES = {"00": _l("现金"), "01": _l("VISA 卡"), "02": _l("信用卡")}


def handle_fee_paid(ctx: Ctx) -> p.Response:
    """38: record a payment taken by the kiosk: the charge CG (its number, as in the AV lines of
    the 64 answer), or the reader's oldest open charges (of the fee type, when it names one we
    have). The amount BV must settle whole charges exactly, never more than owed; otherwise
    nothing is paid and the payment is refused (the kiosk gives the money back)."""
    card = ctx.msg.get("AA").strip()
    stamp = ctx.stamp()
    reference = ctx.msg.get("BK").strip()[:64]

    def answer(ok: bool, screen: str) -> p.Response:
        resp = p.Response("38", p.yn(ok) + stamp).add("AO", ctx.institution).add("AA", card)
        return resp.add("BK", reference, optional=True).add("AF", screen, optional=True)

    reader = _find_reader(ctx.session, card)
    if reader is None:
        return answer(False, _("找不到此读者证"))
    pin_error = _check_pin(ctx, card)
    if pin_error:
        ctx.audit("fee_paid", result="bad_pin", reader=reader)
        return answer(False, pin_error)
    fee_type = ctx.msg.fixed.get("fee_type", "").strip()
    payment_type = ctx.msg.fixed.get("payment_type", "").strip() or "00"
    currency = ctx.msg.fixed.get("currency_type", "").strip().upper()
    raw_amount, raw_id = ctx.msg.get("BV").strip(), ctx.msg.get("CG").strip().lstrip("#")
    details: dict[str, Any] = {"amount": raw_amount, "fee_type": fee_type, "payment_type": payment_type,
                               "fee_id": raw_id, "transaction_id": reference}
    try:
        amount = Decimal(raw_amount)
    except ArithmeticError:
        amount = Decimal("-1")
    refusal_text = ""
    if currency and currency != CURRENCY:
        refusal_text = _("只收人民币（CNY）")
    elif not amount.is_finite() or amount <= 0 or amount >= MAX_PAYMENT:
        refusal_text = _("付款金额无效")
    elif raw_id and not raw_id.isdigit():
        refusal_text = _("找不到该笔待缴费用")
    elif fee_type not in ("", "01", *FEE_TYPES):
        refusal_text = _("本馆没有此类费用")
    if refusal_text:
        ctx.audit("fee_paid", result="refused", reader=reader, message=refusal_text, **details)
        return answer(False, refusal_text)
    label = PAYMENT_TYPES.get(payment_type)
    payment = zh(_l("自助设备 %(kiosk)s 收款（%(how)s）", kiosk=ctx.kiosk.sip_login,
                    how=zh(label) if label is not None else payment_type))
    if reference:
        payment += f" {reference}"
    paid, error = _attempt(ctx, lambda: _circ().pay_charges(
        ctx.session, reader=reader, amount=amount, now=ctx.now, payment=payment,
        charge_id=int(raw_id) if raw_id else None, kinds=FEE_TYPES.get(fee_type), actor=ctx.conn.actor,
        branch_id=ctx.kiosk.branch_id, reference=reference))
    if error is not None:
        ctx.audit("fee_paid", result=error.code, reader=reader, message=error.text, **details)
        return answer(False, error.text)
    ctx.changed.append(True)
    ctx.audit("fee_paid", result="ok", reader=reader, charges=[c.id for c in paid], **details)
    return answer(True, _("已缴费 %(amount)s 元（%(n)s 笔），谢谢", amount=_money(amount), n=len(paid)))


HANDLERS: dict[str, Callable[[Ctx], p.Response]] = {
    "99": handle_status,
    "35": handle_end_session,
    "23": handle_patron_status,
    "63": handle_patron_information,
    "11": handle_checkout,
    "09": handle_checkin,
    "29": handle_renew,
    "65": handle_renew_all,
    "17": handle_item_information,
    "15": handle_hold,
    "01": handle_block_patron,
    "25": handle_patron_enable,
    "19": handle_item_status_update,
    "37": handle_fee_paid,
}
# Messages that only read: answered in a read transaction (no writer lock on SQLite) unless
# they carry a PIN to check (the attempt is written).
READ_ONLY = {"99", "35", "17", "23", "63"}
# Requests without a terminal password field (AC) in SIP2 2.00: 99 status (and 93, 97).
NO_TERMINAL_PASSWORD = {"99"}


def terminal_password_ok(conn: Connection, kiosk: Kiosk, msg: p.Message) -> bool:
    """True when the kiosk account has no terminal password, or the request's AC is it. With a
    terminal password set, a request without AC (or with an empty one) is refused like a wrong
    one: the password protects every transaction, not only those that happen to carry it."""
    stored = kiosk.terminal_password_hash
    if not stored or msg.code in NO_TERMINAL_PASSWORD:
        return True
    given = msg.get("AC")
    if not given:
        return False
    if conn.terminal_ok is not None and conn.terminal_ok[0] == stored and hmac.compare_digest(
            conn.terminal_ok[1].encode(), given.encode()):
        return True
    if verify_secret(stored, given):
        conn.terminal_ok = (stored, given)
        return True
    return False


# ---------------------------------------------------------------------------------------------
# The dispatcher


def login(app: Flask, conn: Connection, msg: p.Message,
          write_lock: AbstractContextManager[Any] | None = None) -> p.Response:
    """93: authenticate the kiosk account; the connection then acts at its branch."""
    db = get_database(app)
    sip_login = msg.get("CN").strip()
    password = msg.get("CO")
    now = clock.now()
    try:
        with write_lock or nullcontext(), db.transaction() as session:
            try:
                kiosk = authenticate_kiosk(session, sip_login, password, now=now, remote_addr=conn.remote_addr)
            except LibraryError as exc:
                audit.record(session, action="sip2.login", actor=f"kiosk:{sip_login[:60]}", target_type="kiosk",
                             target_id=sip_login[:60], now=now,
                             details={"result": exc.code, "remote_addr": conn.remote_addr})
                conn.kiosk_id = None
                return p.Response("94", "0")
            audit.record(session, action="sip2.login", actor=f"kiosk:{kiosk.sip_login}", target_type="kiosk",
                         target_id=kiosk.id, branch_id=kiosk.branch_id, now=now,
                         details={"result": "ok", "remote_addr": conn.remote_addr,
                                  "location": msg.get("CP")})
            conn.kiosk_id, conn.kiosk_login = kiosk.id, kiosk.sip_login
            conn.branch_id, conn.charset = kiosk.branch_id, kiosk.charset
            conn.institution = kiosk.branch.code
            return p.Response("94", "1")
    except Exception:
        log.exception("sip2 login failed")
        conn.kiosk_id = None
        return p.Response("94", "0")


def respond(app: Flask, conn: Connection, msg: p.Message,
            write_lock: AbstractContextManager[Any] | None = None) -> p.Response | None:
    """The answer to one message, or None when the code is no SC request (the server then asks
    for a resend, the only generic answer SIP2 2.00 has). Never raises. ``write_lock`` (SQLite)
    queues this process's write transactions in Python instead of in SQLite's busy loop, which
    starves unlucky writers when many kiosks write at once."""
    now = clock.now()
    tz = str(app.config.get("LIBRARY_TIMEZONE", "Asia/Shanghai"))
    stamp = p.sip_datetime(now, tz)
    conn.state_changed = False
    if msg.code == "93":
        return login(app, conn, msg, write_lock)
    handler = HANDLERS.get(msg.code)
    if handler is None:
        return None
    if not conn.logged_in:
        return refusal(msg.code, msg, _("自助设备尚未登录"), stamp=stamp, institution=conn.institution)
    db = get_database(app)
    read_only = msg.code in READ_ONLY and not (msg.has("AD") and msg.get("AD") != "")
    factory = db.ReadSession if read_only else db.Session
    try:
        with (write_lock if (write_lock is not None and not read_only) else nullcontext()), \
                factory() as session, session.begin():
            kiosk = session.get(Kiosk, conn.kiosk_id)
            if kiosk is None or not kiosk.active or not kiosk.branch.active:
                conn.kiosk_id = None
                return refusal(msg.code, msg, _("自助设备账号已停用"), stamp=stamp, institution=conn.institution)
            if not terminal_password_ok(conn, kiosk, msg):
                response = refusal(msg.code, msg, _("终端密码错误，请联系馆员"), stamp=stamp,
                                   institution=conn.institution)
                branch_id = kiosk.branch_id
            else:
                ctx = Ctx(app=app, session=session, conn=conn, msg=msg, now=now, kiosk=kiosk)
                response = handler(ctx)
                conn.state_changed = bool(ctx.changed)
                return response
        _audit_bad_terminal_password(app, conn, msg, branch_id, now, write_lock)
        return response
    except Exception:
        log.exception("sip2 %s from %s failed", msg.code, conn.kiosk_login)
        conn.state_changed = False
        return refusal(msg.code, msg, _("系统暂时无法办理，请到服务台"), stamp=stamp, institution=conn.institution)


def _audit_bad_terminal_password(app: Flask, conn: Connection, msg: p.Message, branch_id: int, now: dt.datetime,
                                 write_lock: AbstractContextManager[Any] | None) -> None:
    """A request refused for its terminal password is audited (in its own transaction: the
    request itself may have been answered from a read-only one)."""
    log.warning("sip2: %s from %s (%s) refused: wrong terminal password", msg.code, conn.kiosk_login,
                conn.remote_addr)
    with write_lock or nullcontext(), get_database(app).transaction() as session:
        audit.record(session, action="sip2.terminal_password", actor=conn.actor, target_type="kiosk",
                     target_id=conn.kiosk_id or "", branch_id=branch_id, now=now,
                     details={"result": "bad_terminal_password", "message": msg.code, "given": msg.has("AC"),
                              "remote_addr": conn.remote_addr, "reader": msg.get("AA"), "item": msg.get("AB")})
