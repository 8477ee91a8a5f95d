"""Compliance pages: statutory equipment and its certificates, required activities and their compliance,
the breaches they caused, and the inspector's binder (PDF and XLSX)."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from dispatch.auth import roles_required
from dispatch.blueprints.compliance.forms import CauseForm, CertificateForm, NoteForm, RegisterForm, RequiredForm, kind_choices
from dispatch.blueprints.form_choices import options
from dispatch.blueprints.form_errors import shown_on
from dispatch.clock import now
from dispatch.errors import ValidationError, refusals_return_to
from dispatch.services import access, binder, binder_pdf, certificates, planned, required_activities
from dispatch.services.recurrence import add_months
from dispatch.services.report_breaches import causes
from dispatch.services.report_filters import check_period
from dispatch.services.timezone import hospital_date

bp = Blueprint("compliance", __name__, url_prefix="/compliance")
bp.add_app_template_global(certificates.kind_label, "kind_label")


def _day(name: str, default: date | None) -> date | None:
    text = (request.args.get(name) or "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise ValidationError(_("%(text)s is not a date (YYYY-MM-DD).", text=text[:20]), field=name) from None


def _period() -> tuple[date, date, str | None]:
    """The period and standard asked for; by default the twelve months to today."""
    today = hospital_date(now())
    start = _day("start", add_months(today.replace(day=1), -11))
    end = _day("end", today)
    check_period(start, end)
    return start, end, (request.args.get("standard") or "").strip()[:60] or None


@bp.route("/")
@roles_required(*access.COMPLIANCE_READERS)
def index():
    moment = now()
    start, end, standard = _period()
    rows = certificates.standings(moment)
    return render_template(
        "compliance/index.html", rows=rows, tally=certificates.counts(rows), tasks=certificates.open_tasks(),
        reminders=certificates.recent_reminders(moment), report=required_activities.compliance(start, end, moment, standard),
        breaches=required_activities.lines(start, end, moment, standard, states=("late", "missed")),
        start=start, end=end, standard=standard, standards=required_activities.standards(), note_form=NoteForm(),
        cause_form=_cause_form(), may_edit=current_user.role in access.COMPLIANCE_EDITORS,
        may_binder=current_user.role in access.BINDER_READERS, summary=required_activities.summary_text,
        unregistered=certificates.unregistered_assets() if current_user.role in access.COMPLIANCE_EDITORS else [],
        required_schedules=required_activities.required_schedules())


def _cause_form() -> CauseForm:
    form = CauseForm()
    form.cause_id.choices = options([(c.id, c.display_name) for c in causes()])
    return form


# ---- assets and certificates ------------------------------------------------------------------------

@bp.route("/assets/<int:asset_id>", methods=["GET", "POST"])
@roles_required(*access.COMPLIANCE_READERS)
def asset(asset_id: int):
    if request.method == "POST":
        access.require_role(current_user, access.COMPLIANCE_EDITORS)
    found = certificates.asset_for(asset_id)
    register = certificates.register_of(asset_id)
    form = _register_form(register)
    if form.validate_on_submit():
        with shown_on(form) as outcome:
            certificates.register_asset(current_user, asset_id, kind=form.kind.data, high_risk=form.high_risk.data,
                                        registration_number=form.registration_number.data, authority=form.authority.data)
        if outcome.succeeded:
            flash(_("Register saved."), "success")
            return redirect(url_for("compliance.asset", asset_id=asset_id))
    return _asset_page(found, register, form, CertificateForm())


def _asset_page(found, register, form, certificate_form):
    moment = now()
    return render_template("compliance/asset.html", asset=found, register=register, form=form,
                           certificate_form=certificate_form, certificates=certificates.certificates_of(found.id),
                           out_of_use=certificates.must_not_use(found.id, moment), today=hospital_date(moment),
                           may_edit=current_user.role in access.COMPLIANCE_EDITORS), \
        422 if form.errors or certificate_form.errors else 200


@bp.route("/assets/<int:asset_id>/certificates", methods=["POST"])
@roles_required(*access.COMPLIANCE_EDITORS)
def add_certificate(asset_id: int):
    found = certificates.asset_for(asset_id)
    register = certificates.register_of(asset_id)
    form = CertificateForm()
    if form.validate_on_submit():
        with shown_on(form) as outcome:
            upload = form.report.data
            report = None
            if isinstance(upload, FileStorage) and upload.filename:
                raw = upload.stream.read(int(current_app.config["CERTIFICATE_MAX_BYTES"]) + 1)
                report = certificates.check_report(raw, upload.filename, field="report")
            certificates.add_certificate(current_user, asset_id, certificates.CertificateValues(
                form.number.data, form.inspected_on.data, form.valid_until.data), report)
        if outcome.succeeded:
            flash(_("Certificate recorded."), "success")
            return redirect(url_for("compliance.asset", asset_id=asset_id))
    return _asset_page(found, register, _register_form(register, formdata=None), form)


def _register_form(register, **kw) -> RegisterForm:
    form = RegisterForm(obj=register, **kw)
    form.kind.choices = kind_choices()
    return form


@bp.route("/reports/<report_key>")
@roles_required(*access.COMPLIANCE_READERS)
def report(report_key: str):
    certificate = certificates.report_for(current_user, report_key)
    response = Response(certificate.report, mimetype=certificate.report_type)
    # Downloaded, never shown in the page's origin: a PDF's own contents never run as the site.
    response.headers["Content-Disposition"] = f'attachment; filename="{certificate.report_id}-{_ascii(certificate.report_name)}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response


def _ascii(name: str | None) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c in ".-_") else "_" for c in name or "report")[-80:]


@bp.route("/tasks/<int:notice_id>/done", methods=["POST"])
@roles_required(*access.COMPLIANCE_EDITORS)
def task_done(notice_id: int):
    form = NoteForm()
    refusals_return_to(url_for("compliance.index"))
    if not form.validate_on_submit():
        raise ValidationError(_("At most %(n)d characters.", n=200), field="note")
    certificates.complete_task(current_user, notice_id, form.note.data)
    flash(_("Recorded: the inspection was requested."), "success")
    return redirect(url_for("compliance.index"))


# ---- required activities ----------------------------------------------------------------------------

@bp.route("/schedules/<int:schedule_id>", methods=["GET", "POST"])
@roles_required(*access.COMPLIANCE_READERS)
def required(schedule_id: int):
    if request.method == "POST":
        access.require_role(current_user, access.COMPLIANCE_EDITORS)
    schedule = planned.get_schedule(schedule_id)
    activity = required_activities.activity_of(schedule_id)
    form = RequiredForm(obj=activity) if activity else RequiredForm()
    if form.validate_on_submit():
        with shown_on(form) as outcome:
            required_activities.mark_required(current_user, schedule_id, standard=form.standard.data,
                                              before=form.window_before_days.data, after=form.window_after_days.data,
                                              since=form.since.data)
        if outcome.succeeded:
            flash(_("Marked required."), "success")
            return redirect(url_for("compliance.required", schedule_id=schedule_id))
    moment = now()
    today = hospital_date(moment)
    found = required_activities.lines(date(1900, 1, 1), today + timedelta(days=400), moment, schedule_id=schedule_id)
    rule = required_activities.rule_for(schedule, activity)
    return render_template("compliance/required.html", schedule=schedule, activity=activity, form=form,
                           lines=list(reversed(found)), rule=required_activities.rule_label(rule),
                           standards=required_activities.standards(),
                           may_edit=current_user.role in access.COMPLIANCE_EDITORS), 422 if form.errors else 200


@bp.route("/schedules/<int:schedule_id>/not-required", methods=["POST"])
@roles_required(*access.COMPLIANCE_EDITORS)
def not_required(schedule_id: int):
    if not NoteForm().validate_on_submit():
        raise ValidationError(_("The form had expired; try again."))
    required_activities.unmark_required(current_user, schedule_id)
    flash(_("No longer required; the dates already counted stay in the record."), "success")
    return redirect(url_for("compliance.required", schedule_id=schedule_id))


@bp.route("/occurrences/<int:occurrence_id>/cause", methods=["POST"])
@roles_required(*access.COMPLIANCE_EDITORS)
def cause(occurrence_id: int):
    form = _cause_form()
    refusals_return_to(request.referrer if (request.referrer or "").startswith(request.host_url)
                       else url_for("compliance.index"))
    if not form.validate_on_submit():
        raise ValidationError(_("Choose a cause from the list."), field="cause_id")
    required_activities.record_cause(current_user, occurrence_id, form.cause_id.data, form.note.data)
    flash(_("Cause recorded."), "success")
    return redirect(url_for("compliance.index"))


# ---- the binder ---------------------------------------------------------------------------------------

@bp.route("/binder")
@roles_required(*access.BINDER_READERS)
def binder_page():
    today = hospital_date(now())
    start = today.replace(month=1, day=1)
    return render_template("compliance/binder.html", start=start, end=today, standards=required_activities.standards())


@bp.route("/binder.pdf")
@roles_required(*access.BINDER_READERS)
def binder_pdf_file():
    return _binder_file("pdf")


@bp.route("/binder.xlsx")
@roles_required(*access.BINDER_READERS)
def binder_xlsx_file():
    return _binder_file("xlsx")


def _binder_file(kind: str):
    refusals_return_to(url_for("compliance.binder_page"))
    made = binder.assemble(current_user, _day("start", None), _day("end", None), request.args.get("standard"),
                           request.args.get("lang"))
    if kind == "pdf":
        data, mimetype = binder_pdf.render(made), "application/pdf"
    else:
        data, mimetype = binder.xlsx(made), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{binder.file_name(made, kind)}"'
    return response


@bp.app_template_global("must_not_use")
def must_not_use_global(asset_id):
    """For the QR label's page and the ticket pages: the asset must not be used (no valid certificate)."""
    return certificates.must_not_use(asset_id, now())
