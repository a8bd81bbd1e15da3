"""Error answers: HTML pages in the reader's language, or ``{"error": {code, message}}`` for the
API. The 500 handler rolls back so a failed request leaves no half state."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, jsonify, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from library.errors import LibraryError


def _wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def _messages() -> dict[int, str]:
    return {
        400: _("请求有误"),
        401: _("请先登录"),
        403: _("您没有权限访问此页面"),
        404: _("找不到您要的页面"),
        405: _("不支持此操作"),
        413: _("上传的文件太大"),
        422: _("输入有误"),
        429: _("操作太频繁，请稍后再试"),
        500: _("系统出错了，我们已记录此问题"),
    }


def _rollback() -> None:
    session = g.get("db_session")
    if session is not None:
        session.rollback()


def render_error(status: int, code: str, message: str) -> Any:
    if _wants_json():
        return jsonify({"error": {"code": code, "message": message}}), status
    return render_template("errors/error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(LibraryError)
    def _library_error(exc: LibraryError) -> Any:
        _rollback()
        return render_error(exc.status, exc.code, exc.text)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        message = _messages().get(status) or (exc.description or "")
        if status == 401 and not _wants_json():
            from library.auth import login_manager

            return login_manager.unauthorized()
        return render_error(status, exc.name.lower().replace(" ", "_"), message)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        _rollback()
        app.logger.exception("unhandled error on %s", request.path)
        if app.testing and app.config.get("PROPAGATE_TEST_ERRORS", True):
            raise exc
        return render_error(500, "internal_error", _messages()[500])
