"""Login, logout, and each role's home page."""
from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from dispatch.blueprints.auth.forms import LoginForm
from dispatch.errors import DirectorySignInRefused, DirectoryUnavailableError
from dispatch.extensions import limiter
from dispatch.i18n import LANGUAGE_COOKIE, SUPPORTED_LOCALES
from dispatch.services import access, audit
from dispatch.services.directory import accounts, ldap, ldap_configured, may_adopt_local_account, oidc, oidc_configured
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
    response = current_app.make_response(_login_page(LoginForm(formdata=None)))
    response.status_code = 429
    return response


def _login_page(form: LoginForm, status: int = 200):
    config = current_app.config
    oidc_on = oidc_configured(config)
    show_form = (not oidc_on or config["LOCAL_LOGIN_FORM"] == "yes" or bool(request.args.get("local"))
                 or form.is_submitted())
    return render_template("auth/login.html", form=form, oidc_on=oidc_on, show_form=show_form,
                           oidc_name=config.get("OIDC_BUTTON_NAME") or config["HOSPITAL_NAME"]), status


def _signed_in(user: User, via: str):
    audit.record("login_succeeded", actor_id=user.id, subject_id=user.id, subject=user.username,
                 detail={"via": via} if via != "password" else None)
    login_user(user)
    return redirect(safe_next(request.args.get("next")) or url_for("auth.home"))


def _directory_sign_in(name: str, password: str):
    """LDAP / Active Directory: the directory checks the password and says who this is now."""
    try:
        person = ldap.authenticate(name, password)
        user = accounts.sign_in(person, adopt=may_adopt_local_account(current_app.config, person))
    except DirectoryUnavailableError as error:
        audit.record("login_failed", subject=name, detail={"reason": "directory_unavailable", "via": "ldap"})
        flash(error.message, "error")
    except DirectorySignInRefused as error:
        audit.record("login_failed", subject=name, detail={"reason": "directory_refused", "via": "ldap"})
        flash(error.message, "error")
    else:
        return _signed_in(user, "ldap")
    return None


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
        # A local password works for local accounts and break-glass ones; a directory person's is the directory's.
        local = user is not None and accounts.may_use_local_password(user)
        if local and user.active and user.check_password(form.password.data):
            if user.role in access.API_ONLY:
                # Said only to someone who knows the password: the account is real, but it is a machine's.
                audit.record("login_failed", subject_id=user.id, subject=user.username, detail={"reason": "api_only"})
                flash(_("This is an alarm panel's account: it reports through the API with a token and has no pages."),
                      "error")
            else:
                return _signed_in(user, "password")
        elif ldap_configured(current_app.config) and (user is None or user.directory == "ldap"
                                                      or accounts.may_join_directory(user)):
            response = _directory_sign_in(name, form.password.data)
            if response is not None:
                return response
        else:
            why = ("unknown" if user is None else "inactive" if not user.active
                   else "password" if local else "directory_account")
            audit.record("login_failed", subject_id=user.id if user else None, subject=name, detail={"reason": why})
            flash(_("Wrong username or password.") if why != "directory_account" else
                  _("This is a hospital directory account: use the hospital sign-in."), "error")
    return _login_page(form)


@bp.route("/login/oidc")
def oidc_start():
    """To the hospital's OpenID provider; it sends the person back to oidc_callback."""
    if not oidc_configured(current_app.config):
        abort(404)
    session["oidc_next"] = safe_next(request.args.get("next"))
    try:
        return oidc.begin(current_app.config.get("OIDC_REDIRECT_URI") or url_for("auth.oidc_callback", _external=True))
    except DirectoryUnavailableError as error:
        flash(error.message, "error")
        return redirect(url_for("auth.login"))


@bp.route("/login/oidc/callback")
def oidc_callback():
    if not oidc_configured(current_app.config):
        abort(404)
    try:
        person = oidc.finish()
        user = accounts.sign_in(person, adopt=may_adopt_local_account(current_app.config, person))
    except (DirectoryUnavailableError, DirectorySignInRefused) as error:
        reason = "directory_unavailable" if isinstance(error, DirectoryUnavailableError) else "directory_refused"
        audit.record("login_failed", detail={"reason": reason, "via": "oidc"})
        flash(error.message, "error")
        return _login_page(LoginForm(formdata=None), 401)
    audit.record("login_succeeded", actor_id=user.id, subject_id=user.id, subject=user.username,
                 detail={"via": "oidc"})
    login_user(user)
    return redirect(session.pop("oidc_next", None) or url_for("auth.home"))


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
