"""Login plumbing: loading the user, and the role guard every page uses."""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from dispatch.extensions import login_manager
from models import User, db

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in to continue.")
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    from dispatch.services.access import API_ONLY

    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active and user.role not in API_ONLY else None


def roles_required(*roles: str):
    """Page guard: logged in, and one of these roles (403 otherwise)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
