"""The points ledger: accounts, append-only entries, lots and expiry, rewards and redemptions."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def init_app(app: Flask) -> None:
    """Register the points blueprints, signal handlers, jobs, CLI and demo steps."""
    import reading_points.points.api as api
    import reading_points.points.demo as demo
    import reading_points.points.views as views
    from library.api import register_api_blueprint
    from library.registry import (
        DemoStep,
        JobSpec,
        NavItem,
        SeedStep,
        register_admin_link,
        register_demo_step,
        register_job,
        register_nav,
        register_seed,
    )
    from reading_points.points import cli, handlers, jobs, services

    handlers.connect()
    # "Extra loans for a month" rewards raise the reader's loan limit at the counter.
    from circulation.hooks import register_loan_quota_provider

    register_loan_quota_provider(services.extra_loan_quota)
    register_seed(app, SeedStep("points_rules", 40, services.seed_points))
    app.register_blueprint(views.reader_bp)
    app.register_blueprint(views.staff_bp)
    register_api_blueprint(app, api.bp, api.PATHS, api.SCHEMAS)
    app.cli.add_command(cli.points_group)
    register_job(app, JobSpec("points.expire", jobs.expire_points, "cron", {"hour": 1, "minute": 10},
                              "Expire points lots past their expiry date"))
    register_job(app, JobSpec("points.release_stale_redemptions", jobs.release_stale_redemptions, "cron",
                              {"minute": 20}, "Release redemptions not collected in time"))
    register_demo_step(app, DemoStep("points", 40, demo.build_points_demo))
    register_nav(app, NavItem("points_reader.my_points", _l("我的积分"), audience="reader", order=40))
    register_nav(app, NavItem("points_staff.index", _l("积分"), audience="staff",
                              roles=("circulation", "admin"), order=40))
    register_admin_link(app, "points_staff.rules", _l("积分规则"))
