"""Photos on tickets: adding them, a ticket's photos at /f/<ticket number> (the short link in the
technician's SMS), and each image and thumbnail under its random id, to those who may see the ticket."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage

from dispatch.blueprints.photos.forms import PhotoForm
from dispatch.errors import NotFoundError, refusals_return_to
from dispatch.services import access, photos

bp = Blueprint("photos", __name__)

# An image is an image: no script, no styles, no frames, even if a browser were talked into rendering it as a page.
# Where the form came from, by name: never a URL taken from the form.
BACK_TO = {"ticket": "tickets.detail", "photos": "photos.ticket_photos"}
IMAGE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def uploaded(files: list[FileStorage]) -> list[bytes]:
    """The bytes of the files chosen in a file input (an input left empty sends one nameless, empty part).
    Each is read to one byte past the size limit, so the service can say "too large" without holding more."""
    limit = int(current_app.config["PHOTO_MAX_BYTES"]) + 1
    # A forged form may send the field as text: only real file parts are read.
    chosen = [f for f in files if isinstance(f, FileStorage) and (f.filename or f.content_length)]
    return [data for data in (f.stream.read(limit) for f in chosen) if data]


@bp.route("/tickets/<int:ticket_id>/photos", methods=["POST"])
@login_required
def add(ticket_id: int):
    try:
        access.ticket_for(current_user, ticket_id)  # whose ticket before what the form says
    except NotFoundError:
        abort(404)
    form = PhotoForm()
    back = url_for(BACK_TO.get(form.back.data, "tickets.detail"), ticket_id=ticket_id)
    if form.back.data == "jobs":
        back = url_for("technician.jobs")
    if not form.validate_on_submit():
        for field, errors in form.errors.items():
            flash(f"{getattr(form, field).label.text}: {' '.join(errors)}", "error")
        return redirect(back)
    refusals_return_to(back)
    processed = photos.process_all(uploaded(form.photos.data or []))
    event = photos.add_photos(ticket_id, current_user, processed, stage=form.stage.data, note=form.note.data)
    flash(_("%(n)d photo(s) added to ticket %(number)s.", n=event.data["photos"], number=ticket_id), "success")
    return redirect(back)


@bp.route("/f/<int:ticket_id>")
@login_required
def ticket_photos(ticket_id: int):
    """The short link in the SMS. Login first (the login page comes back here), then only people who may
    see the ticket."""
    try:
        ticket = access.ticket_for(current_user, ticket_id)
    except NotFoundError:
        abort(404)
    return render_template("photos/ticket.html", ticket=ticket, photos_form=PhotoForm(),
                           may_work=access.may_work(current_user, ticket))


@bp.route("/photos/<public_id>")
@login_required
def image(public_id: str):
    return _image(public_id, thumbnail=False)


@bp.route("/photos/<public_id>/thumb")
@login_required
def thumbnail(public_id: str):
    return _image(public_id, thumbnail=True)


def _image(public_id: str, thumbnail: bool):
    try:
        photo = photos.photo_for(current_user, public_id)
    except NotFoundError:
        abort(404)
    response = make_response(photo.thumbnail if thumbnail else photo.data)
    # The type of what was made here, never of what was uploaded; nosniff is on every response.
    response.headers["Content-Type"] = photo.content_type
    response.headers["Content-Disposition"] = f'inline; filename="ticket-{photo.ticket_id}-{photo.id}.jpg"'
    response.headers["Content-Security-Policy"] = IMAGE_POLICY
    # Private to this person's browser: a shared proxy must not keep a patient's ward on file.
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
