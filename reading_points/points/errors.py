"""Refusals of the points ledger and the rewards catalogue."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from library.errors import LibraryError


class PointsError(LibraryError):
    """Base of the points errors."""

    code = "points_error"
    message = _l("积分操作未能完成")


class InsufficientPoints(PointsError):
    code = "insufficient_points"
    status = 409
    message = _l("可用积分不足：需要 %(needed)s 分，现有 %(available)s 分")


class UnknownPointsKind(PointsError):
    code = "unknown_points_kind"
    status = 422
    message = _l("未知的积分类型：%(kind)s")


class NotReversible(PointsError):
    code = "not_reversible"
    status = 409
    message = _l("这条积分记录不能冲正：%(detail)s")


class AlreadyReversed(PointsError):
    code = "already_reversed"
    status = 409
    message = _l("这条积分记录已经冲正过了")


class RewardNotAvailable(PointsError):
    code = "reward_not_available"
    status = 409
    message = _l("该奖品目前不可兑换：%(detail)s")


class OutOfStock(PointsError):
    code = "out_of_stock"
    status = 409
    message = _l("该奖品在所选分馆已无库存")


class RedemptionLimitReached(PointsError):
    code = "redemption_limit_reached"
    status = 409
    message = _l("每位读者最多兑换 %(limit)s 次该奖品")


class RedemptionNotOpen(PointsError):
    code = "redemption_not_open"
    status = 409
    message = _l("该兑换已处理，不能重复操作")


class ReasonRequired(PointsError):
    code = "reason_required"
    status = 422
    message = _l("请填写调整原因")
