"""Dispatch: maintenance ticketing and on-call dispatch for hospital estates and facilities."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: Mapping | type | None = None) -> Flask:
    """Build the web app. `config` is a config class or a mapping of overrides (tests)."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "dispatch" / "static"),
        instance_path=str(ROOT / "instance"),
    )
    register_config(app, config)
    register_security(app)
    register_clock(app)
    register_extensions(app)
    register_policies()
    register_blueprints(app)
    register_template_helpers(app)
    register_errors(app)
    register_commands(app)
    return app


def register_policies() -> None:
    """The policies' hooks and guards on the ticket engine's moves (dispatch/services/policies.py)."""
    from dispatch.services.policies import register_policies as register

    register()


def register_config(app: Flask, config: Mapping | type | None) -> None:
    from config import (
        check_directory_settings, check_sms_timings, check_twilio_credentials, config_from_environment, kept_secret_key,
    )

    if isinstance(config, type):
        app.config.from_object(config)
    else:
        app.config.from_object(config_from_environment())
        if config:
            app.config.update(config)
    production = app.config.get("ENV_NAME") == "production" or app.config.get("SESSION_COOKIE_SECURE")
    if not app.config.get("SECRET_KEY"):
        if production:
            raise RuntimeError("SECRET_KEY must be set in production")
        app.config["SECRET_KEY"] = kept_secret_key()
    if production:
        check_twilio_credentials(app.config)
    check_sms_timings(app.config)
    check_directory_settings(app.config)


def register_security(app: Flask) -> None:
    from dispatch import security

    security.init_app(app)


def register_clock(app: Flask) -> None:
    from dispatch.clock import SystemClock

    app.extensions["dispatch.clock"] = app.config.get("CLOCK") or SystemClock()


def register_extensions(app: Flask) -> None:
    from dispatch import board_news
    from dispatch.extensions import api, babel, csrf, db, limiter, login_manager, migrate
    from dispatch.i18n import select_locale, select_timezone

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(ROOT / "translations"))
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    api.init_app(app)
    app.config["RATELIMIT_STORAGE_URI"] = app.config.get("RATELIMIT_STORAGE_URI") or app.config["REDIS_URL"]
    limiter.init_app(app)
    board_news.listen()
    from dispatch.auth import load_user  # noqa: F401  (registers the user loader)


def register_blueprints(app: Flask) -> None:
    # The admin blueprint, with its directory pages (dispatch/blueprints/admin/directory.py) added to it.
    from dispatch.blueprints.admin.directory import bp as admin_bp
    from dispatch.blueprints.api import register_api
    from dispatch.blueprints.auth.views import bp as auth_bp
    from dispatch.blueprints.board.views import bp as board_bp
    from dispatch.blueprints.compliance.views import bp as compliance_bp
    from dispatch.blueprints.checks.views import bp as checks_bp
    from dispatch.blueprints.incidents.views import bp as incidents_bp
    from dispatch.blueprints.integrations.views import bp as integrations_bp
    from dispatch.blueprints.interruptions.views import bp as interruptions_bp
    from dispatch.blueprints.oncall.views import bp as oncall_bp
    from dispatch.blueprints.permits.views import bp as permits_bp
    from dispatch.blueprints.planned.views import bp as planned_bp
    from dispatch.blueprints.operations.views import bp as operations_bp
    from dispatch.blueprints.photos.views import bp as photos_bp
    from dispatch.blueprints.plans.views import bp as plans_bp
    from dispatch.blueprints.qr.views import bp as qr_bp
    from dispatch.blueprints.report.views import bp as report_bp
    from dispatch.blueprints.reports.views import bp as reports_bp
    from dispatch.blueprints.sms.views import bp as sms_bp
    from dispatch.blueprints.sms.views import voice_bp
    from dispatch.blueprints.stock.views import bp as stock_bp
    from dispatch.blueprints.technician.views import bp as technician_bp
    from dispatch.blueprints.tickets.views import bp as tickets_bp

    from dispatch.extensions import csrf

    for blueprint in (auth_bp, report_bp, tickets_bp, board_bp, technician_bp, reports_bp, oncall_bp, admin_bp, sms_bp,
                      voice_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(incidents_bp)
    app.register_blueprint(integrations_bp)
    app.register_blueprint(planned_bp)
    app.register_blueprint(compliance_bp)
    app.register_blueprint(operations_bp)
    app.register_blueprint(plans_bp)
    app.register_blueprint(photos_bp)
    app.register_blueprint(qr_bp)
    app.register_blueprint(stock_bp)
    app.register_blueprint(checks_bp)
    app.register_blueprint(permits_bp)
    app.register_blueprint(interruptions_bp)
    csrf.exempt(sms_bp)  # Twilio signs its webhooks instead; see blueprints/sms
    csrf.exempt(voice_bp)
    register_api(app)


def register_template_helpers(app: Flask) -> None:
    from dispatch import templating

    templating.init_app(app)


def register_errors(app: Flask) -> None:
    from dispatch.errors import register_error_handlers

    register_error_handlers(app)


def register_commands(app: Flask) -> None:
    from dispatch.commands import register

    register(app)
