"""The base of every domain error. Each error has a stable ``code`` (used by the JSON API and the
tests), an HTTP status, and a translatable message (Chinese source text, English catalogue)."""

from __future__ import annotations

from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l


class LibraryError(Exception):
    """A refusal the user should understand. Subclasses set ``code``, ``status`` and ``message``.

    ``message`` is a lazy translatable string; ``params`` fill its ``%(name)s`` placeholders.
    """

    code: ClassVar[str] = "library_error"
    status: ClassVar[int] = 409
    message: ClassVar[Any] = _l("操作未能完成")

    def __init__(self, message: Any | None = None, **params: Any) -> None:
        self.params = params
        if message is not None:
            self._message = message
        else:
            self._message = self.message
        super().__init__(self.code)

    def __str__(self) -> str:
        return self.text

    @property
    def text(self) -> str:
        text = str(self._message)
        if self.params:
            try:
                return text % self.params
            except (KeyError, TypeError, ValueError):
                return text
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.text}}


class NotFound(LibraryError):
    code = "not_found"
    status = 404
    message = _l("找不到：%(what)s")


class PermissionDenied(LibraryError):
    code = "permission_denied"
    status = 403
    message = _l("您没有权限执行此操作")


class ValidationFailed(LibraryError):
    code = "validation_failed"
    status = 422
    message = _l("输入有误：%(detail)s")


class DuplicateValue(LibraryError):
    code = "duplicate"
    status = 409
    message = _l("%(what)s 已存在")


class InUse(LibraryError):
    code = "in_use"
    status = 409
    message = _l("%(what)s 仍在使用中，不能删除")


class DuplicateNationalId(DuplicateValue):
    code = "duplicate_national_id"
    message = _l("该身份证号已办理过读者证")


class InvalidNationalId(ValidationFailed):
    code = "invalid_national_id"
    message = _l("身份证号格式有误")
