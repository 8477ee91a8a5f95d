"""Login, logout, and each role's home page."""
from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from dispatch.blueprints.auth.forms import LoginForm
from dispatch.extensions import limiter
from dispatch.i18n import LANGUAGE_COOKIE, SUPPORTED_LOCALES
from dispatch.services import access, audit
from dispatch.services.unit_of_work import write_transaction
from models import User, db

bp = Blueprint("auth", __name__)

HOME_BY_ROLE = {
    "nurse": "report.new",
    "dispatcher": "board.index",
    "supervisor": "board.index",
    "technician": "technician.jobs",
    "manager": "reports.compliance",
    "admin": "board.index",
}


def safe_next(target: str | None) -> str | None:
    """Only same-site paths, so a crafted link cannot bounce a nurse to another site after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/")
@login_required
def home():
    return redirect(url_for(HOME_BY_ROLE.get(current_user.role, "auth.login")))


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _login_address_limit() -> str:
    return current_app.config["LOGIN_ADDRESS_RATE_LIMIT"]


def _account_key() -> str:
    """The account being tried (a digest: the name is whatever the client typed, of any length)."""
    name = (request.form.get("username") or "").strip().lower()
    return "login-account:" + hashlib.sha256(name.encode()).hexdigest()


def _address_key() -> str:
    return "login-addr:" + (request.remote_addr or "?")


def _failed(response) -> bool:
    """Only failed attempts count: a ward PC where the whole shift logs in is never locked out."""
    return response.status_code != 302


def _too_many_attempts(_limit):
    flash(_("Too many login attempts. Wait a minute and try again, or ask the control room to reset your password."),
          "error")
    return current_app.make_response((render_template("auth/login.html", form=LoginForm()), 429))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=_account_key, methods=["POST"], deduct_when=_failed,
               on_breach=_too_many_attempts, scope="login-account")
@limiter.limit(_login_address_limit, key_func=_address_key, methods=["POST"], deduct_when=_failed,
               on_breach=_too_many_attempts, scope="login-address")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm()
    if form.validate_on_submit():
        name = form.username.data.strip()
        user = db.session.scalar(select(User).where(User.username == name))
        if user is None or not user.active or not user.check_password(form.password.data):
            why = "unknown" if user is None else "inactive" if not user.active else "password"
            audit.record("login_failed", subject_id=user.id if user else None, subject=name, detail={"reason": why})
            flash(_("Wrong username or password."), "error")
        elif user.role in access.API_ONLY:
            # Said only to someone who knows the password: the account is real, but it is a machine's.
            audit.record("login_failed", subject_id=user.id, subject=user.username, detail={"reason": "api_only"})
            flash(_("This is an alarm panel's account: it reports through the API with a token and has no pages."),
                  "error")
        else:
            audit.record("login_succeeded", actor_id=user.id, subject_id=user.id, subject=user.username)
            login_user(user)
            return redirect(safe_next(request.args.get("next")) or url_for("auth.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/language", methods=["POST"])
def language():
    """English / 中文 in the header: kept on the person's account, or in a cookie before logging in."""
    choice = request.form.get("locale")
    back = safe_next(request.form.get("next")) or url_for("auth.home" if current_user.is_authenticated else "auth.login")
    if choice not in SUPPORTED_LOCALES:
        return redirect(back)
    if current_user.is_authenticated:
        with write_transaction() as session:
            session.get(User, current_user.id).locale = choice
    response = redirect(back)
    response.set_cookie(LANGUAGE_COOKIE, choice, max_age=365 * 86400, samesite="Lax", httponly=True,
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))  # HTTPS-only where the session is
    return response


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    audit.record("logout", actor_id=current_user.id, subject_id=current_user.id, subject=current_user.username)
    logout_user()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
