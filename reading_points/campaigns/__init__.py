"""Reading campaigns (World Book Day ...), events, registrations, waitlists, attendance."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from library.registry import (
    DemoStep,
    JobSpec,
    NavItem,
    SeedStep,
    register_admin_link,
    register_demo_step,
    register_home_panel,
    register_job,
    register_nav,
    register_seed,
)


def _subscribe() -> None:
    """Points multiplier, the loan signal, and the loans a running challenge still counts (all
    idempotent registrations)."""
    from circulation import signals
    from circulation.hooks import register_history_retention
    from reading_points.campaigns import services
    from reading_points.points.hooks import register_multiplier_provider

    register_multiplier_provider(services.campaign_multiplier)
    signals.checked_out.connect(services.on_checked_out, weak=False)
    register_history_retention(services.challenge_retention)


def init_app(app: Flask) -> None:
    """Register the campaign blueprints, jobs, CLI, seeds, demo step and the core scheduler."""
    from library import scheduler
    from reading_points.campaigns import cli, demo, jobs, opac, scheduler_admin, services, views

    _subscribe()
    app.register_blueprint(views.bp)
    app.register_blueprint(opac.bp)
    app.register_blueprint(scheduler_admin.bp)
    app.cli.add_command(cli.campaigns_group)
    scheduler.init_app(app)

    register_seed(app, SeedStep("campaign_settings", 50, services.seed_settings))
    register_job(app, JobSpec("campaigns.states", jobs.campaign_states, "cron", {"minute": "*/10"},
                              description="open and close campaigns on their dates"))
    register_job(app, JobSpec("campaigns.reminders", jobs.event_reminders, "interval", {"minutes": 5},
                              description="event reminders to registered readers"))
    register_job(app, JobSpec("campaigns.no_shows", jobs.event_no_shows, "cron", {"minute": "7,37"},
                              description="no-shows of ended sessions"))
    register_demo_step(app, DemoStep("campaigns", 50, demo.build_demo))

    register_nav(app, NavItem("campaigns.index", _l("阅读推广"), audience="staff", roles=("organiser",), order=50))
    register_nav(app, NavItem("campaigns.event_list", _l("活动签到"), audience="staff", roles=("circulation",),
                              order=51))
    register_nav(app, NavItem("campaigns_opac.upcoming", _l("活动"), audience="public", order=50))
    register_nav(app, NavItem("campaigns_opac.mine", _l("我的活动"), audience="reader", order=50))
    register_admin_link(app, "scheduler_admin.jobs_page", _l("计划任务"))
    register_home_panel(app, "campaigns/home_panel.html")
