"""Reporting from a QR label without logging in: a signed, revocable label per place; the ticket filed
through the nurse's report path under the ward's label account; the filer following that one ticket; a
suspected duplicate offered instead of a new ticket; limits per place and per address; the PDF sheet."""
from __future__ import annotations

import base64
import io
import json
import uuid
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from dispatch.services import qr_labels
from models import Location, Ticket, TicketEvent, TicketPhoto, User, db
from tests import photo_files as files
from tests.conftest import csrf_token, text_of

pytestmark = pytest.mark.usefixtures("redis_conn")


def address() -> str:
    """A client address of this test's own: rate-limit counts in Redis are shared by every test run."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


@pytest.fixture
def roomy(app):
    """Limits far above what a test sends, for the tests that are not about them."""
    app.config.update(QR_PLACE_RATE_LIMIT="1000/hour", QR_ADDRESS_RATE_LIMIT="1000/hour")
    return app


def bed(hospital) -> Location:
    return db.session.scalar(select(Location).where(Location.ward_id == hospital.icu.id))


class Phone:
    """Someone's phone: no account, one address, a session cookie of its own."""

    def __init__(self, app) -> None:
        self.client = app.test_client()
        self.environ = {"REMOTE_ADDR": address()}

    def get(self, path: str):
        return self.client.get(path, environ_overrides=self.environ)

    def report(self, path: str, **fields):
        page = self.get(path).get_data(as_text=True)
        data = {"csrf_token": csrf_token(page), **fields}
        return self.client.post(path, data=data, environ_overrides=self.environ, content_type="multipart/form-data")


def label_path(kind: str, obj) -> str:
    return urlsplit(qr_labels.label_url(kind, obj)).path


def form(hospital, **extra) -> dict:
    return {"trade_id": hospital.trades["power"].id, "description": "No power to the sockets by bed 1",
            "callback_name": "Li Na", "callback_extension": "2301", **extra}


def tickets_filed() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket))


def test_a_label_files_a_ticket_through_the_report_path_and_the_filer_follows_it(roomy, hospital, clock):
    phone = Phone(roomy)
    path = label_path("location", bed(hospital))
    page = text_of(phone.get(path).get_data(as_text=True))
    assert "ICU · Bed 1" in page and "Your name" in page and "Phone extension" in page
    response = phone.report(path, **form(hospital, photos=[(io.BytesIO(files.jpeg_from_a_phone()), "a.jpg")]))
    assert response.status_code == 302 and "/q/t/" in response.headers["Location"]
    ticket = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    # The report path's rules: the ward's priority, targets, the room; filed under the label account.
    assert ticket.ward_id == hospital.icu.id and ticket.location_id == bed(hospital).id and ticket.priority == 1
    assert ticket.reporter.username == f"qr-label-{hospital.icu.id}" and not ticket.reporter.active
    assert ticket.description == "No power to the sockets by bed 1 (call back: Li Na, ext 2301)"
    reported = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
    assert reported.kind == "reported" and reported.channel == "qr"
    [photo] = db.session.scalars(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket.id)).all()
    assert photo.stage == "report" and files.SECRET_WORDS not in photo.data
    follow = text_of(phone.get(response.headers["Location"]).get_data(as_text=True))
    assert f"Ticket {ticket.id} filed" in follow and "Acknowledged by 10 Mar 10:05" in follow
    # Status and times only: not the description, the place, the callback or anyone's name.
    assert "sockets" not in follow and "Li Na" not in follow and "Bed 1" not in follow
    # Nobody can log in as the label.
    login = roomy.test_client()
    token = csrf_token(login.get("/login").get_data(as_text=True))
    assert login.post("/login", data={"username": ticket.reporter.username, "password": "x",
                                      "csrf_token": token}).status_code == 200


def test_the_follow_link_is_for_that_ticket_only_and_expires(roomy, hospital, clock):
    first = Phone(roomy).report(label_path("ward", hospital.icu), **form(hospital))
    path = first.headers["Location"]
    token = path.split("/q/t/")[1].split("?")[0]
    assert Phone(roomy).get(path).status_code == 200  # the link works from any phone it is on
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert Phone(roomy).get(f"/q/t/{forged}").status_code == 404
    # A label's own token is signed for another purpose: it does not open a ticket.
    assert Phone(roomy).get(f"/q/t/{qr_labels.token_for('ward', hospital.icu)}").status_code == 404
    clock.advance(days=roomy.config["QR_FOLLOW_DAYS"], minutes=1)
    assert Phone(roomy).get(path).status_code == 404


def test_a_forged_or_withdrawn_label_files_nothing(roomy, hospital, login_as):
    room = bed(hospital)
    path = label_path("location", room)
    assert Phone(roomy).get(path[:-3] + "xyz").status_code == 404
    # The same signature on a payload naming the next room: refused.
    signature = qr_labels.token_for("location", room).rsplit(".", 1)[1]
    payload = base64.urlsafe_b64encode(json.dumps([1, room.id + 1, 1]).replace(" ", "").encode()).rstrip(b"=").decode()
    assert Phone(roomy).get(f"/q/{payload}.{signature}").status_code == 404
    supervisor = login_as("supervisor")
    page = supervisor.get(f"/labels/ward/{hospital.icu.id}").get_data(as_text=True)
    assert f'/labels/location/{room.id}/revoke' in page
    assert supervisor.post(f"/labels/location/{room.id}/revoke", data={"ward_id": hospital.icu.id}).status_code == 302
    before = tickets_filed()
    withdrawn = Phone(roomy).get(path)
    assert withdrawn.status_code == 404 and "This label has been withdrawn" in withdrawn.get_data(as_text=True)
    assert Phone(roomy).get(label_path("location", db.session.get(Location, room.id))).status_code == 200  # the reprint
    assert login_as("dispatcher").post(f"/labels/location/{room.id}/revoke").status_code == 403
    assert tickets_filed() == before


def test_a_suspected_duplicate_is_offered_and_can_be_added_to(roomy, hospital, clock):
    path = label_path("location", bed(hospital))
    first = Phone(roomy).report(path, **form(hospital))
    original = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    clock.advance(minutes=4)
    phone = Phone(roomy)
    offer = phone.report(path, **form(hospital, description="Sockets dead at bed 1", callback_name="Wang Fang"))
    assert first.status_code == 302 and offer.status_code == 200 and tickets_filed() == 1
    page = text_of(offer.get_data(as_text=True))
    assert f"Already reported at 10:00: ticket {original.id}" in page
    assert f"Add to ticket {original.id}" in page and "It is something else: send as new" in page
    added = phone.report(path, **form(hospital, description="Sockets dead at bed 1", callback_name="Wang Fang",
                                      choice="add", duplicate_of=str(original.id)))
    assert added.status_code == 302 and tickets_filed() == 1
    comment = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == original.id)
                                 .order_by(TicketEvent.id.desc())).first()
    assert comment.kind == "comment" and comment.channel == "qr" and "Wang Fang, ext 2301" in comment.note
    # "Something else": a new ticket after all. And a forged "add to" another ward's ticket is refused.
    assert phone.report(path, **form(hospital, choice="new")).status_code == 302 and tickets_filed() == 2
    stranger = Phone(roomy).report(path, **form(hospital, choice="add", duplicate_of="1"))
    assert stranger.status_code == 200 and "no longer open for this place" in stranger.get_data(as_text=True)


@pytest.mark.parametrize("field,value,message", [
    ("callback_name", "", "Your name, so that we can call you back."),
    ("callback_extension", "call me", "The phone extension to call you back on (digits)."),
    ("description", "x", "Say in a few words what is wrong."),
])
def test_the_form_says_what_is_missing_and_files_nothing(roomy, hospital, field, value, message):
    response = Phone(roomy).report(label_path("ward", hospital.icu), **form(hospital, **{field: value}))
    assert response.status_code == 200 and tickets_filed() == 0
    assert message in text_of(response.get_data(as_text=True))


def test_a_hostile_photo_files_nothing(roomy, hospital):
    response = Phone(roomy).report(label_path("ward", hospital.icu),
                                   **form(hospital, photos=[(io.BytesIO(files.SVG_WITH_SCRIPT), "x.jpg")]))
    assert response.status_code == 200 and tickets_filed() == 0
    assert "not a photo we can read" in response.get_data(as_text=True)


def test_the_form_needs_its_csrf_token_and_no_script(roomy, hospital):
    phone = Phone(roomy)
    path = label_path("ward", hospital.icu)
    page = phone.get(path)
    assert "<script" not in page.get_data(as_text=True).split("</header>")[-1]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    refused = phone.client.post(path, data=form(hospital), environ_overrides=phone.environ)
    assert refused.status_code == 400 and tickets_filed() == 0


def test_reports_are_limited_per_place_and_per_address(app, hospital):
    app.config.update(QR_PLACE_RATE_LIMIT="2/hour", QR_ADDRESS_RATE_LIMIT="1000/hour")
    # A room of this test's own (its id too), since the counts in Redis are shared by every test run.
    room = Location(id=uuid.uuid4().int % 1_000_000_000 + 1_000_000, ward_id=hospital.ward3.id, name=uuid.uuid4().hex[:8])
    db.session.add(room)
    db.session.commit()
    path = label_path("location", room)
    for n in range(2):
        assert Phone(app).report(path, **form(hospital, choice="new")).status_code == 302
    third = Phone(app).report(path, **form(hospital, choice="new"))
    assert third.status_code == 429 and "Too many reports" in third.get_data(as_text=True)
    assert tickets_filed() == 2

    app.config.update(QR_PLACE_RATE_LIMIT="1000/hour", QR_ADDRESS_RATE_LIMIT="2/hour")
    phone = Phone(app)
    other = label_path("ward", hospital.icu)
    assert phone.report(other, **form(hospital, description="")).status_code == 200  # refused, still counted
    assert phone.report(other, **form(hospital, choice="new")).status_code == 302
    assert phone.report(other, **form(hospital, choice="new")).status_code == 429
    assert tickets_filed() == 3


def test_a_ward_pc_signed_in_files_as_itself(roomy, hospital, login_as):
    nurse = login_as("nurse.icu")
    path = label_path("ward", hospital.icu)
    assert nurse.get("/kiosk").headers["Location"].endswith(path)  # the ward PC's bookmark
    page = nurse.get(path).get_data(as_text=True)
    response = nurse.client.post(path, data={"csrf_token": csrf_token(page), **form(hospital)})
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert ticket.reporter_id == hospital.users["nurse.icu"].id
    assert db.session.scalar(select(User).where(User.username.like("qr-label-%"))) is None


def test_the_ward_sheet_is_a_pdf_with_a_label_per_place(hospital, login_as):
    response = login_as("dispatcher").get(f"/labels/ward/{hospital.icu.id}/labels.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert login_as("nurse.icu").get(f"/labels/ward/{hospital.icu.id}/labels.pdf").status_code == 403
    places = qr_labels.places_of(hospital.icu)
    assert [kind for kind, _obj in places][:1] == ["ward"] and len(places) == 1 + len(hospital.icu.locations)
    sheet = PdfReader(io.BytesIO(response.get_data()))
    text = sheet.pages[0].extract_text()
    assert len(sheet.pages[0].images) == len(places)  # one QR code a label
    assert "ICU · Bed 1" in text and "Scan to report a fault · 扫码报修" in text


def test_the_control_room_marks_a_false_report(roomy, hospital, login_as):
    Phone(roomy).report(label_path("ward", hospital.icu), **form(hospital, description="Prank: lift stuck with me in it"))
    ticket = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    dispatcher = login_as("dispatcher")
    page = dispatcher.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert f'action="/tickets/{ticket.id}/false-report"' in page
    assert login_as("nurse.icu").post(f"/tickets/{ticket.id}/false-report", data={"note": "x"}).status_code == 403
    response = dispatcher.post(f"/tickets/{ticket.id}/false-report", data={"note": "Children playing with the label",
                                                                          "version": str(ticket.version)},
                               follow_redirects=True)
    text = text_of(response.get_data(as_text=True))
    assert f"Ticket {ticket.id} marked as a false report and cancelled." in text
    assert "False report: Children playing with the label" in text  # the cancellation's reason
    db.session.expire_all()
    ticket = db.session.get(Ticket, ticket.id)
    kinds = [e.kind for e in ticket.events]
    assert ticket.status == "cancelled" and kinds[-2:] == ["cancel", "false_report"]
    assert ticket.events[-1].note == "Children playing with the label"
    again = dispatcher.post(f"/tickets/{ticket.id}/false-report", data={"note": "again"}, follow_redirects=True)
    assert "Only an open ticket can be marked as a false report." in text_of(again.get_data(as_text=True))
