"""Translation that also works outside a request (CLI, scheduler jobs, the demo): there the
Chinese source text is used. Text that is stored (campaign names, notices, ledger reasons) is
written in Chinese and not translated: readers get it whatever language triggered it."""

from __future__ import annotations

from typing import Any

from flask import has_request_context
from flask_babel import gettext


def _(message: str, **params: Any) -> str:
    if has_request_context():
        return gettext(message, **params)
    return message % params if params else message


def zh(message: str, **params: Any) -> str:
    """Stored Chinese text (notices, ledger reasons): formatted, never translated."""
    return message % params if params else message
