"""SIP2 (3M Standard Interchange Protocol 2.00) server for self-check kiosks."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the ``library sip2`` command and the kiosk-account admin pages."""
