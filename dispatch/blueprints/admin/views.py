"""Staff pages for managers and administrators: who works here, their mobiles (checked, in E.164),
roles, wards, licences with their expiry, and a test SMS per person; and, for administrators, the
security audit trail."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from dispatch.auth import roles_required
from dispatch.blueprints.admin.forms import (
    AUDIT_KIND_LABELS, AuditFilterForm, BreakGlassForm, DirectoryLinkForm, LicenceForm, NewStaffForm, RevokeLicenceForm,
    StaffForm,
)
from dispatch.blueprints.form_choices import options
from dispatch.blueprints.form_errors import shown_on
from dispatch.clock import now
from dispatch.errors import refusals_return_to
from dispatch.services import access, audit, staff, staff_records
from dispatch.services.timezone import hospital_date
from models import LicenceType, User, Ward, db

bp = Blueprint("admin", __name__, url_prefix="/admin")
# The staff service names a ward and a licence by what it checks; the forms by their fields.
PERSON_FIELDS = {"ward": "ward_id", "technician_id": "licence_type_id"}


def _wards(form: StaffForm) -> None:
    wards = db.session.scalars(select(Ward).order_by(Ward.display_name))
    form.ward_id.choices = options([(0, "—")] + [(w.id, w.display_name) for w in wards])


def _licence_form() -> LicenceForm:
    form = LicenceForm()
    form.licence_type_id.choices = options([(t.id, t.display_name) for t in db.session.scalars(select(LicenceType).order_by(LicenceType.display_name))])
    return form


@bp.route("/staff")
@roles_required(*access.STAFF_EDITORS)
def staff_list():
    people = staff_records.staff_list()
    return render_template("admin/staff.html", people=people, today=hospital_date(now()),
                           tests=staff_records.latest_test_messages([p.id for p in people]))


@bp.route("/staff/new", methods=["GET", "POST"])
@roles_required(*access.STAFF_EDITORS)
def new_person():
    form = NewStaffForm()
    _wards(form)
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        with shown_on(form, PERSON_FIELDS) as outcome:
            user = staff_records.create_staff(
                current_user, username=form.username.data, full_name=form.full_name.data, role=form.role.data,
                password=form.password.data, ward_id=form.ward_id.data or None, phone=form.phone.data)
        if outcome.succeeded:
            flash(_("%(name)s can now log in as %(username)s.", name=user.full_name, username=user.username), "success")
            return redirect(url_for("admin.person", user_id=user.id))
    return render_template("admin/new_person.html", form=form), status


def _render_person(user: User, form: StaffForm, licence_form: LicenceForm, status: int = 200):
    return render_template("admin/person.html", person=user, form=form, licence_form=licence_form,
                           break_glass_form=BreakGlassForm(formdata=None, obj=user),
                           link_form=DirectoryLinkForm(formdata=None),
                           today=hospital_date(now()), test=staff_records.latest_test_messages([user.id]).get(user.id),
                           may_edit_admin=current_user.role == "admin" or user.role != "admin"), status


def _person_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.route("/staff/<int:user_id>", methods=["GET", "POST"])
@roles_required(*access.STAFF_EDITORS)
def person(user_id: int):
    user = _person_or_404(user_id)
    form = StaffForm(obj=user)  # a submitted form's data wins over the stored values
    if not form.is_submitted():
        form.ward_id.data = user.ward_id or 0
    _wards(form)
    if form.validate_on_submit():
        with shown_on(form, PERSON_FIELDS) as outcome:
            staff_records.update_user(current_user, user.id, full_name=form.full_name.data, role=form.role.data,
                                      phone=form.phone.data, ward_id=form.ward_id.data or None, active=form.active.data)
        if outcome.refused:
            return _render_person(user, form, _licence_form(), 422)
        flash(_("Saved."), "success")
        return redirect(url_for("admin.person", user_id=user.id))
    return _render_person(user, form, _licence_form(), 422 if form.errors else 200)


@bp.route("/staff/<int:user_id>/licences", methods=["POST"])
@roles_required(*access.STAFF_EDITORS)
def add_licence(user_id: int):
    user = _person_or_404(user_id)
    form = _licence_form()
    if form.validate_on_submit():
        with shown_on(form, PERSON_FIELDS) as outcome:
            staff.add_licence(user.id, form.licence_type_id.data, number=form.number.data, issuer=form.issuer.data,
                              issued_on=form.issued_on.data, expires_on=form.expires_on.data)
        if outcome.succeeded:
            flash(_("Licence added."), "success")
            return redirect(url_for("admin.person", user_id=user.id))
    person_form = StaffForm(formdata=None, obj=user)
    person_form.ward_id.data = user.ward_id or 0
    _wards(person_form)
    return _render_person(user, person_form, form, 422)


@bp.route("/staff/<int:user_id>/licences/<int:licence_id>/revoke", methods=["POST"])
@roles_required(*access.STAFF_EDITORS)
def revoke_licence(user_id: int, licence_id: int):
    """Withdraw a licence now; its holder's open jobs of the trades it covered are flagged on the board."""
    user = _person_or_404(user_id)
    refusals_return_to(url_for("admin.person", user_id=user.id))
    form = RevokeLicenceForm()
    if not form.validate_on_submit():
        flash(_("Say why the licence is revoked."), "error")
        return redirect(url_for("admin.person", user_id=user.id))
    licence = staff.revoke_licence(user.id, licence_id, current_user.id, form.reason.data)
    flash(_("Licence %(number)s revoked: %(name)s may no longer take the jobs it covered.", number=licence.number,
            name=user.full_name), "success")
    return redirect(url_for("admin.person", user_id=user.id))


@bp.route("/staff/<int:user_id>/test-sms", methods=["POST"])
@roles_required(*access.STAFF_EDITORS)
def test_sms(user_id: int):
    user = _person_or_404(user_id)
    back = url_for("admin.staff_list") + f"#person-{user.id}"
    refusals_return_to(back)
    message = staff_records.send_test_sms(user.id)
    if message.state == "failed":
        flash(_("Test SMS to %(name)s not sent: %(why)s.", name=user.full_name, why=message.last_error), "error")
    else:
        flash(_("Test SMS to %(name)s queued.", name=user.full_name), "success")
    return redirect(back)


@bp.route("/audit")
@roles_required(*access.AUDIT_READERS)
def audit_log():
    """Logins, role changes and API tokens, newest first; a bad filter value is named and left out."""
    form = AuditFilterForm(request.args)
    people = db.session.scalars(select(User).order_by(User.full_name)).all()
    form.person.choices = options([(0, _("Anyone"))] + [(p.id, f"{p.full_name} ({p.username})") for p in people])
    form.validate()

    def value(field):
        return None if field.errors else field.data

    wanted = audit.AuditFilter(kind=value(form.kind) or None, person_id=value(form.person) or None,
                               start=value(form.start), end=value(form.end), page=value(form.page) or 1)
    if wanted.start and wanted.end and wanted.start > wanted.end:
        form.end.errors = [*form.end.errors, _("The start date is after the end date.")]
        wanted = audit.AuditFilter(kind=wanted.kind, person_id=wanted.person_id, page=wanted.page)
    found = audit.search(db.session, wanted)
    kept = {k: v for k, v in request.args.items() if k != "page" and k in form and not form[k].errors}
    return render_template("admin/audit.html", form=form, found=found, kept=kept, kind_labels=AUDIT_KIND_LABELS)
