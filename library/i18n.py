"""Languages: Chinese (zh_Hans) first, English available. Source strings are Chinese; each
package keeps an English catalogue in ``<package>/translations``."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import Babel

LANG_COOKIE = "lang"


def select_locale() -> str:
    """The reader's choice (``?lang=``, session, cookie), else the browser's; outside a request
    (CLI, jobs, notices) the default language, Chinese."""
    languages: list[str] = current_app.config["LANGUAGES"]
    if not has_request_context():
        return str(current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans"))
    chosen = request.args.get("lang") or session.get(LANG_COOKIE) or request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    best = request.accept_languages.best_match(["zh", "en"])
    return "en" if best == "en" else "zh_Hans"


def init_app(app: Flask, translation_dirs: list[str]) -> None:
    dirs = [d for d in translation_dirs if Path(d).is_dir()]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(dirs) or "translations"
    Babel(app, locale_selector=select_locale, timezone_selector=lambda: app.config["LIBRARY_TIMEZONE"])
