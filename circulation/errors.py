"""Refusals of circulation. Each has a stable ``code`` (JSON API, SIP2 and tests rely on it)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from library.errors import LibraryError


class CirculationError(LibraryError):
    """Base of every circulation refusal (HTTP 409 unless said otherwise)."""

    code = "circulation_error"
    status = 409
    message = _l("流通操作未能完成")


class ItemNotFound(CirculationError):
    code = "item_not_found"
    status = 404
    message = _l("找不到条码为 %(barcode)s 的馆藏")


class ReaderNotFound(CirculationError):
    code = "reader_not_found"
    status = 404
    message = _l("找不到读者证 %(card)s")


class HoldNotFound(CirculationError):
    code = "hold_not_found"
    status = 404
    message = _l("找不到该预约")


class RecordNotFound(CirculationError):
    code = "record_not_found"
    status = 404
    message = _l("找不到该书目")


class ItemNotLoanable(CirculationError):
    code = "item_not_loanable"
    message = _l("%(barcode)s 属于不外借的类型（%(type)s）")


class ItemNotAvailable(CirculationError):
    code = "item_not_available"
    message = _l("%(barcode)s 当前不可借（%(status)s）")


class ItemAlreadyOnLoan(CirculationError):
    code = "item_already_on_loan"
    message = _l("%(barcode)s 已被借出")


class ItemOnHoldForAnother(CirculationError):
    code = "item_on_hold_for_another"
    message = _l("%(barcode)s 已为其他读者预约保留")


class NotOnLoan(CirculationError):
    code = "not_on_loan"
    message = _l("%(barcode)s 没有在借记录")


class WrongReader(CirculationError):
    code = "wrong_reader"
    status = 403
    message = _l("%(barcode)s 不是此读者借的")


class RenewalLimitReached(CirculationError):
    code = "renewal_limit_reached"
    message = _l("%(barcode)s 已达到续借次数上限（%(limit)s 次）")


class RenewalHoldsWaiting(CirculationError):
    code = "renewal_holds_waiting"
    message = _l("%(barcode)s 有其他读者在预约，不能续借")


class RenewalNotAllowed(CirculationError):
    code = "renewal_not_allowed"
    message = _l("%(barcode)s 不能续借：%(reason)s")


class ReaderBlocked(CirculationError):
    """The reader may not borrow (or place holds); ``blocks`` lists why."""

    code = "reader_blocked"
    message = _l("读者暂不能借阅：%(reasons)s")

    def __init__(self, blocks: list[Any]) -> None:
        self.blocks = blocks
        super().__init__(reasons="；".join(b.message for b in blocks))

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["error"]["blocks"] = [{"code": b.code, "message": b.message} for b in self.blocks]
        return data


class OverrideNeedsStaff(CirculationError):
    code = "override_needs_staff"
    status = 403
    message = _l("只有馆员可以在填写原因后越过限制")


class HoldNotAllowed(CirculationError):
    code = "hold_not_allowed"
    message = _l("不能预约：%(reason)s")


class HoldLimitReached(CirculationError):
    code = "hold_limit_reached"
    message = _l("预约数量已达上限（%(limit)s 册）")


class DuplicateHold(CirculationError):
    code = "duplicate_hold"
    message = _l("您已预约过此书")


class HoldNotCancellable(CirculationError):
    code = "hold_not_cancellable"
    message = _l("该预约已结束，不能取消")


class BranchNotFound(CirculationError):
    code = "branch_not_found"
    status = 404
    message = _l("找不到馆点 %(code)s")


class TransitNotFound(CirculationError):
    code = "transit_not_found"
    status = 404
    message = _l("找不到该调拨记录")


class RuleInvalid(CirculationError):
    code = "rule_invalid"
    status = 422
    message = _l("流通规则有误：%(detail)s")


class ChargeNotOpen(CirculationError):
    code = "charge_not_open"
    message = _l("该费用已结清")



class ReasonRequired(CirculationError):
    code = "reason_required"
    status = 422
    message = _l("请填写原因")


class SuspensionNotFound(CirculationError):
    code = "suspension_not_found"
    status = 404
    message = _l("找不到该停借记录")


class RuleConflict(CirculationError):
    code = "rule_conflict"
    status = 409
    message = _l("同一范围（馆点/读者类型/文献类型）已有规则")


class PaymentNotAccepted(CirculationError):
    """A payment that would not settle whole open charges exactly (partial payments and
    overpayments are taken at the desk, not by a kiosk)."""

    code = "payment_not_accepted"
    message = _l("付款未受理：%(reason)s")
