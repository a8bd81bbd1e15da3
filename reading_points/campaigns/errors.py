"""Errors of campaigns and events (each a LibraryError with a stable code)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from library.errors import LibraryError


class CampaignNotFound(LibraryError):
    code = "campaign_not_found"
    status = 404
    message = _l("找不到该活动季")


class EventNotFound(LibraryError):
    code = "event_not_found"
    status = 404
    message = _l("找不到该活动")


class SessionNotFound(LibraryError):
    code = "event_session_not_found"
    status = 404
    message = _l("找不到该场次")


class InvalidCampaign(LibraryError):
    code = "campaign_invalid"
    status = 422
    message = _l("活动季设置有误：%(reason)s")


class InvalidEvent(LibraryError):
    code = "event_invalid"
    status = 422
    message = _l("活动设置有误：%(reason)s")


class RegistrationClosed(LibraryError):
    code = "registration_closed"
    status = 409
    message = _l("该场次现在不接受报名")


class AlreadyRegistered(LibraryError):
    code = "already_registered"
    status = 409
    message = _l("该读者已报名或在候补名单中")


class ReaderBlocked(LibraryError):
    code = "reader_blocked"
    status = 403
    message = _l("该读者证目前受限，不能报名：%(reasons)s")


class RegistrationNotFound(LibraryError):
    code = "registration_not_found"
    status = 404
    message = _l("找不到该报名记录")


class NotRegistered(LibraryError):
    code = "not_registered"
    status = 409
    message = _l("该读者未报名本场次（或仍在候补名单中）")


class SessionFull(LibraryError):
    code = "session_full"
    status = 409
    message = _l("本场次已满，无法现场签到")


class CampaignNotRunning(LibraryError):
    code = "campaign_not_running"
    status = 409
    message = _l("该活动季当前不在进行中")
