"""My shifts: the next four weeks, asking a colleague to take one, answering colleagues' requests,
and the secret calendar link (the feed itself needs no login)."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from dispatch.auth import roles_required
from dispatch.blueprints.oncall.forms import SwapAskForm
from dispatch.blueprints.oncall.views import bp
from dispatch.clock import now
from dispatch.errors import ValidationError, refusals_return_to
from dispatch.services import access, calendar_feed, rota, swaps
from models import Trade, db

AHEAD = timedelta(days=28)


@bp.route("/mine")
@roles_required(*access.ONCALL_VIEWERS)
def mine():
    moment = now()
    duties = rota.shifts_of(current_user.id, moment, moment + AHEAD)
    asked = swaps.asked_by(current_user.id, moment)
    pending = {(s.trade_id, s.role, s.starts_at): s for s in asked if s.state == swaps.PENDING}
    colleagues: dict[int, list] = {}
    for duty in duties:
        if duty.role in rota.TECHNICIAN_ROLES and duty.trade_id is not None and duty.trade_id not in colleagues:
            colleagues[duty.trade_id] = swaps.colleagues_for(duty.trade_id, current_user.id, moment)
    token = current_user.calendar_token
    return render_template(
        "oncall/mine.html", duties=duties, moment=moment, colleagues=colleagues, pending=pending, asked=asked,
        asked_of_me=swaps.asked_of(current_user.id), trade_names={t.id: t.display_name for t in db.session.scalars(select(Trade))},
        feed_url=url_for("oncall.calendar", token=token, _external=True) if token else None,
    )


def _when(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except (TypeError, ValueError):
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationError(_("That shift could not be read; reload the page."), field="shift")
    return value


@bp.route("/mine/swaps", methods=["POST"])
@roles_required("technician")
def ask_swap():
    form = SwapAskForm()
    if not form.validate_on_submit():
        flash(_("Choose a colleague to ask."), "error")
        return redirect(url_for("oncall.mine"))
    refusals_return_to(url_for("oncall.mine"), missing_is_a_message=True)
    swap = swaps.request_swap(
        requester_id=current_user.id, colleague_id=form.colleague_id.data, trade_id=form.trade_id.data,
        role=form.role.data, starts_at=_when(form.starts_at.data), ends_at=_when(form.ends_at.data),
        note=form.note.data)
    flash(_("Asked %(name)s to take the shift. It stays yours until they accept.", name=swap.colleague.full_name),
          "success")
    return redirect(url_for("oncall.mine"))


@bp.route("/mine/swaps/<int:request_id>/<answer>", methods=["POST"])
@roles_required("technician")
def answer_swap(request_id: int, answer: str):
    if answer not in ("accept", "decline", "withdraw"):
        abort(404)
    refusals_return_to(url_for("oncall.mine"))  # someone else's request: 404, as if there were none
    if answer == "accept":
        swap = swaps.accept_swap(request_id, current_user.id)
        message = _("Shift accepted: it is yours now, and %(name)s has been told.", name=swap.requester.full_name)
    elif answer == "decline":
        swaps.decline_swap(request_id, current_user.id)
        message = _("Request declined.")
    else:
        swaps.withdraw_swap(request_id, current_user.id)
        message = _("Request withdrawn.")
    flash(message, "success")
    return redirect(url_for("oncall.mine"))


@bp.route("/mine/calendar", methods=["POST"])
@roles_required(*access.ONCALL_VIEWERS)
def subscribe():
    rotate = request.form.get("rotate") == "1"
    if rotate:
        calendar_feed.rotate(current_user.id)
        flash(_("New calendar link made. The old link no longer works: subscribe again with this one."), "success")
    else:
        calendar_feed.subscribe(current_user.id)
        flash(_("Your calendar link is ready: add it to your phone's calendar as a subscription."), "success")
    return redirect(url_for("oncall.mine") + "#calendar")


@bp.route("/calendar/<token>.ics")
def calendar(token: str):
    """No login: calendar apps cannot log in, so the unguessable token is the key."""
    user = calendar_feed.owner_of(token)
    if user is None:
        abort(404)
    body = calendar_feed.feed(user, now(), host=request.host.split(":")[0] or "dispatch")
    return Response(body, mimetype="text/calendar", headers={
        "Content-Disposition": "inline; filename=on-call.ics", "Cache-Control": "private, max-age=300",
        "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"})
