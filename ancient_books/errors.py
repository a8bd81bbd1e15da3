"""Errors of the ancient-book census."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from library.errors import LibraryError


class CensusError(LibraryError):
    """Base of the census errors."""

    code = "census_error"
    message = _l("古籍普查操作未能完成")


class CensusRecordNotFound(CensusError):
    code = "census_record_not_found"
    status = 404
    message = _l("找不到普查登记：%(no)s")


class CensusInvalid(CensusError):
    """One or more fields are wrong; ``errors`` maps field names to messages."""

    code = "census_invalid"
    status = 422
    message = _l("普查登记有误：%(detail)s")

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__(detail="；".join(f"{v}" for v in errors.values()))


class WorkflowRefused(CensusError):
    code = "census_workflow_refused"
    status = 409
    message = _l("当前状态（%(status)s）不能执行此操作")


class NumberingNotConfigured(CensusError):
    code = "census_numbering_not_configured"
    status = 500
    message = _l("普查编号的省份代码或单位代码配置有误：%(detail)s")


class SerialExhausted(CensusError):
    code = "census_serial_exhausted"
    status = 409
    message = _l("本单位的普查编号流水号已用完")


class StepRefused(CensusError):
    code = "digitization_step_refused"
    status = 409
    message = _l("数字化环节“%(step)s”当前不能执行：%(reason)s")


class ImportFailed(CensusError):
    code = "census_import_failed"
    status = 422
    message = _l("导入失败：%(count)s 行有误，未导入任何记录")

    report: Any = None

    def with_report(self, report: Any) -> ImportFailed:
        self.report = report
        return self


class NotPublished(CensusError):
    code = "census_not_published"
    status = 404
    message = _l("该古籍尚未发布：%(no)s")
