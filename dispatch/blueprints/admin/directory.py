"""The administrator's directory pages: which directory group gives which role (and ward), and who may use a
local password as a break-glass account."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from dispatch.auth import roles_required
from dispatch.blueprints.admin.forms import BreakGlassForm, DirectoryGroupForm, DirectoryLinkForm
from dispatch.blueprints.admin.views import bp
from dispatch.blueprints.form_errors import shown_on
from dispatch.errors import refusals_return_to
from dispatch.services.directory import accounts, ldap_configured, mapping, oidc_configured
from dispatch.templating import ROLE_LABELS
from dispatch.blueprints.form_choices import options
from models import User, Ward, db


def _group_form() -> DirectoryGroupForm:
    form = DirectoryGroupForm()
    form.ward_id.choices = options([(0, "—")] + [(w.id, w.display_name) for w in db.session.scalars(select(Ward).order_by(Ward.display_name))])
    return form


@bp.route("/directory-groups", methods=["GET", "POST"])
@roles_required("admin")
def directory_groups():
    form = _group_form()
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        with shown_on(form, {"ward": "ward_id"}) as outcome:
            group = mapping.add_group(name=form.name.data, role=form.role.data, ward_id=form.ward_id.data or None)
        if outcome.succeeded:
            flash(_("Members of %(group)s now sign in as %(role)s.", group=group.name, role=ROLE_LABELS[group.role]),
                  "success")
            return redirect(url_for("admin.directory_groups"))
    config = current_app.config
    directory_accounts = db.session.scalars(select(User).where(User.directory.is_not(None))
                                            .order_by(User.full_name)).all()
    return render_template("admin/directory_groups.html", form=form, groups=mapping.all_groups(),
                           ldap_on=ldap_configured(config), oidc_on=oidc_configured(config),
                           directory_accounts=directory_accounts,
                           break_glass=db.session.scalars(select(User).where(User.break_glass)
                                                          .order_by(User.full_name)).all()), status


@bp.route("/directory-groups/<int:group_id>/delete", methods=["POST"])
@roles_required("admin")
def remove_directory_group(group_id: int):
    if not FlaskForm().validate_on_submit():  # the CSRF token
        flash(_("The form had expired; try again."), "error")
        return redirect(url_for("admin.directory_groups"))
    refusals_return_to(url_for("admin.directory_groups"))
    mapping.remove_group(group_id)
    flash(_("Mapping removed: its members lose that role at their next sign-in or the nightly sync."), "success")
    return redirect(url_for("admin.directory_groups"))


@bp.route("/staff/<int:user_id>/break-glass", methods=["POST"])
@roles_required("admin")
def break_glass(user_id: int):
    form = BreakGlassForm()
    if form.validate_on_submit():
        refusals_return_to(url_for("admin.person", user_id=user_id))
        user = accounts.set_break_glass(current_user, user_id, allowed=form.break_glass.data,
                                        password=form.password.data)
        flash(_("%(name)s may now sign in with a local password.", name=user.full_name) if user.break_glass
              else _("%(name)s signs in through the directory only.", name=user.full_name), "success")
    else:
        flash(_("The form had expired; try again."), "error")
    return redirect(url_for("admin.person", user_id=user_id))


@bp.route("/staff/<int:user_id>/directory-link", methods=["POST"])
@roles_required("admin")
def directory_link(user_id: int):
    """Join a local account to a directory account, so the person's first directory sign-in keeps it."""
    form = DirectoryLinkForm()
    refusals_return_to(url_for("admin.person", user_id=user_id))
    if form.validate_on_submit():
        user = accounts.link_account(current_user, user_id, form.directory.data, form.directory_key.data)
        flash(_("%(name)s will sign in through the directory from now on, keeping this account.",
                name=user.full_name), "success")
    else:
        flash(_("Choose the directory and give the person's identifier there."), "error")
    return redirect(url_for("admin.person", user_id=user_id))
