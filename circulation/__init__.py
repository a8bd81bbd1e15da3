"""Shared circulation across the branch network (通借通还): rules, loans, holds, transits,
calendar, charges and blocks, notices; and the SIP2 server for self-check kiosks
(``circulation.sip2``)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from circulation import sip2, views
    from circulation.rules import seed_rules
    from library.registry import SeedStep, register_seed

    register_seed(app, SeedStep("circulation_rules", 30, seed_rules))
    views.init_app(app)
    sip2.init_app(app)
