"""SIP2 (3M Standard Interchange Protocol 2.00) server for self-check kiosks (自助借还机) and the
mobile van's handheld: ``protocol`` (frames), ``handlers`` (one function per message, on the
circulation services), ``server`` (TCP, TLS), kiosk accounts (``models``, ``services``, admin
pages in ``views``), ``library sip2`` (``cli``) and the demo kiosks (``demo``)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    """Register the ``library sip2`` command, the kiosk-account admin pages and the demo step."""
    from circulation.sip2 import cli, demo, views
    from library.registry import DemoStep, register_admin_link, register_demo_step

    app.cli.add_command(cli.sip2_command)
    app.register_blueprint(views.bp)
    register_admin_link(app, "sip2.kiosks", _l("自助借还机（SIP2）账号"))
    register_demo_step(app, DemoStep("sip2 kiosks", 35, demo.add_kiosks))
