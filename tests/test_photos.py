"""Photos on tickets: real image files re-encoded (no EXIF or GPS kept, orientation applied, size limited),
hostile files refused naming the field, photos served only to those who may see the ticket, the SMS link,
the board's mark, and backups that keep them."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import func, select

from dispatch.errors import NotFoundError, PermissionDeniedError, ValidationError
from dispatch.services import backup, photos
from dispatch.services.assignment import assign_ticket
from dispatch.services.tickets import report_fault
from dispatch.sms import segments
from dispatch.sms import text as sms_text
from models import OutboundMessage, Ticket, TicketEvent, TicketPhoto, db
from tests import photo_files as files
from tests.conftest import text_of


def file_fault(hospital, images: list[bytes] = (), description="No power to beds 1-4", **kw) -> Ticket:
    nurse = hospital.user("nurse.icu")
    taken = [photos.new_photo(p, stage="report", uploaded_by_id=nurse.id, at=kw.pop("at", None) or _now())
             for p in photos.process_all(list(images))]
    return report_fault(nurse, ward_id=hospital.icu.id, trade_id=hospital.trades["power"].id, description=description,
                        photos=taken, **kw)


def _now():
    from dispatch.clock import now

    return now()


def stored(ticket_id: int) -> list[TicketPhoto]:
    return list(db.session.scalars(select(TicketPhoto).where(TicketPhoto.ticket_id == ticket_id).order_by(TicketPhoto.id)))


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# ---- re-encoding real photos --------------------------------------------------------------------

def test_a_phone_jpeg_loses_its_exif_and_gps_and_is_turned_upright(app, db):
    original = files.jpeg_from_a_phone()
    assert opened(original).getexif().get_ifd(0x8825)  # the upload does carry GPS
    done = photos.process(original)
    image = opened(done.data)
    assert image.format == "JPEG" and done.content_type == "image/jpeg"
    # Orientation 6 applied: the 400 x 200 picture stored on its side shows 200 wide, 400 high, red on top.
    assert (image.width, image.height) == (done.width, done.height) == (200, 400)
    red, blue = image.getpixel((100, 50)), image.getpixel((100, 350))
    assert red[0] > 200 and red[2] < 60 and blue[2] > 200 and blue[0] < 60
    for kept in (done.data, done.thumbnail):
        again = opened(kept)
        assert len(again.getexif()) == 0 and "exif" not in again.info and "icc_profile" not in again.info
        assert b"Exif" not in kept and files.SECRET_WORDS not in kept and b"PhoneMaker" not in kept


@pytest.mark.parametrize("make,kind", [(lambda: files.plain("PNG"), "PNG"), (lambda: files.plain("WEBP"), "WEBP"),
                                       (files.heic, "HEIC")])
def test_png_webp_and_heic_are_kept_as_jpeg(app, db, make, kind):
    done = photos.process(make())
    assert opened(done.data).format == "JPEG" and opened(done.thumbnail).format == "JPEG"
    assert done.width > 0 and done.height > 0


def test_transparency_is_shown_on_white(app, db):
    image = opened(photos.process(files.png_with_transparency()).data)
    assert image.mode == "RGB"
    assert image.getpixel((100, 40))[0] > 240 and image.getpixel((100, 40))[2] > 240  # was transparent: white
    assert image.getpixel((20, 40))[0] > 180 and image.getpixel((20, 40))[2] < 60  # was red: red


def test_the_longest_side_and_the_thumbnail_are_limited_by_the_settings(app, db):
    app.config.update(PHOTO_MAX_SIDE=800, PHOTO_THUMB_SIDE=100)
    done = photos.process(files.plain("JPEG", size=(3000, 1500)))
    assert (done.width, done.height) == (800, 400) == opened(done.data).size
    assert opened(done.thumbnail).size == (100, 50)


def test_a_polyglot_loses_what_trails_the_image(app, db):
    upload = files.jpeg_with_trailing_zip()
    assert b"PK\x03\x04" in upload and b"payload.html" in upload
    done = photos.process(upload)
    for kept in (done.data, done.thumbnail):
        assert b"PK\x03\x04" not in kept and b"payload.html" not in kept and b"<script" not in kept


# ---- hostile files ------------------------------------------------------------------------------

HOSTILE = {
    "decompression bomb": files.png_bomb,
    "huge dimensions in the header": files.png_claiming_huge_dimensions,
    "truncated jpeg": files.truncated_jpeg,
    "random bytes": files.random_bytes,
    "svg with script": lambda: files.SVG_WITH_SCRIPT,
    "pdf named .jpg": files.pdf_named_jpg,
    "gif": files.gif,
    "empty": lambda: b"",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_files_are_refused_naming_the_field(app, db, name):
    with pytest.raises(ValidationError) as refused:
        photos.process(HOSTILE[name](), field="photos")
    assert refused.value.field == "photos" and refused.value.status_code == 422


def test_a_bomb_within_our_pixel_setting_is_still_caught_by_pillows_own_limit(app, db):
    """Raised past Pillow's own limit, our setting no longer stops the 144-megapixel bomb; Pillow's warning
    (made an error) still does."""
    app.config["PHOTO_MAX_PIXELS"] = 10**10
    with pytest.raises(ValidationError, match="not a photo we can read"):
        photos.process(files.png_bomb())


def test_the_size_and_the_count_limits_are_settings(app, db):
    app.config.update(PHOTO_MAX_BYTES=1024 * 1024, PHOTO_MAX_PER_UPLOAD=2)
    with pytest.raises(ValidationError, match="A photo may be at most 1 MB."):
        photos.process(files.plain("JPEG") + b"\x00" * 1024 * 1024)
    with pytest.raises(ValidationError, match="At most 2 photos"):
        photos.process_all([files.plain("PNG")] * 3)


# ---- filed with a report, added later -------------------------------------------------------------

def test_photos_filed_with_a_report_are_on_its_first_history_line(hospital, clock):
    ticket = file_fault(hospital, [files.jpeg_from_a_phone(), files.plain("PNG")])
    kept = stored(ticket.id)
    assert [p.stage for p in kept] == ["report", "report"]
    reported = db.session.scalar(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "reported"))
    assert {p.event_id for p in kept} == {reported.id}
    assert all(p.uploaded_by_id == hospital.users["nurse.icu"].id for p in kept)
    assert len({p.public_id for p in kept}) == 2 and all(len(p.public_id) >= 32 for p in kept)
    for photo in kept:
        assert b"Exif" not in photo.data and files.SECRET_WORDS not in photo.data


def test_before_and_after_photos_are_the_assigned_technicians(hospital):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    picture = [photos.process(files.plain("JPEG"))]
    event = photos.add_photos(ticket.id, hospital.user("sparky"), picture, stage="before", note="DB 3 scorched")
    assert event.kind == "photos" and event.note == "DB 3 scorched" and event.data == {"photos": 1, "stage": "before"}
    with pytest.raises(NotFoundError):  # another technician does not see the ticket at all
        photos.add_photos(ticket.id, hospital.user("volt"), picture, stage="after")
    with pytest.raises(PermissionDeniedError):  # the ward adds comment photos, not the technician's
        photos.add_photos(ticket.id, hospital.user("nurse.icu"), picture, stage="after")
    with pytest.raises(NotFoundError):
        photos.add_photos(ticket.id, hospital.user("nurse.ward3"), picture, stage="comment")
    photos.add_photos(ticket.id, hospital.user("nurse.icu"), picture, stage="comment")
    assert [p.stage for p in stored(ticket.id)] == ["before", "comment"]


def test_a_ticket_holds_at_most_the_set_number_of_photos(app, hospital):
    app.config["PHOTO_MAX_PER_TICKET"] = 3
    ticket = file_fault(hospital, [files.plain("PNG")] * 2)
    picture = photos.process(files.plain("JPEG"))
    with pytest.raises(ValidationError, match="at most 3 photos; it has 2") as refused:
        photos.add_photos(ticket.id, hospital.user("nurse.icu"), [picture, picture], stage="comment")
    assert refused.value.field == "photos" and len(stored(ticket.id)) == 2


# ---- the SMS and the board ----------------------------------------------------------------------

LONG_ZH = ("重症监护室1至6床无电，呼吸机电池报警，监护仪黑屏，配电箱有焦糊味，请立即派电工。" * 8)[:300]


@pytest.mark.parametrize("locale,description", [(None, "No power to bed spaces 1-6, monitors dark " * 20),
                                                ("zh_CN", LONG_ZH)])
def test_the_technicians_sms_links_the_photos_within_its_segments(hospital, locale, description):
    sparky = hospital.user("sparky")
    sparky.locale = locale
    db.session.commit()
    ticket = file_fault(hospital, [files.plain("JPEG")], description=description[:1000])
    assign_ticket(ticket.id, sparky.id, hospital.user("dispatcher"))
    [row] = db.session.scalars(select(OutboundMessage).where(OutboundMessage.ticket_id == ticket.id,
                                                             OutboundMessage.kind == "assignment")).all()
    link = f"http://127.0.0.1:5000/f/{ticket.id}"
    assert link in row.body and segments.count(row.body) <= sms_text.MAX_SEGMENTS
    assert row.body.endswith(f"D {ticket.id} note done.") if not locale else row.body.endswith("完工。")


def test_without_photos_the_sms_has_no_photo_link(hospital):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    [row] = db.session.scalars(select(OutboundMessage).where(OutboundMessage.ticket_id == ticket.id)).all()
    assert "/f/" not in row.body


def test_the_board_marks_tickets_with_photos(hospital, login_as):
    with_photo, without = file_fault(hospital, [files.plain("PNG")]), file_fault(hospital)
    page = login_as("dispatcher").get("/board/rows").get_data(as_text=True)
    rows = dict(re.findall(r'<tr class="[^"]*" data-ticket="(\d+)">(.*?)</tr>', page, re.S))
    assert 'class="photo-mark"' in rows[str(with_photo.id)] and f"/f/{with_photo.id}" in rows[str(with_photo.id)]
    assert "photo-mark" not in rows[str(without.id)]


# ---- pages: uploading and serving -----------------------------------------------------------------

def upload(*contents: bytes, name="photo.jpg", kind="image/jpeg") -> list:
    return [(io.BytesIO(c), name, kind) for c in contents]


def report_form(hospital, **extra) -> dict:
    return {"ward_id": hospital.icu.id, "trade_id": hospital.trades["power"].id, "whole_area": "1", "location_id": "0",
            "place_detail": "Bed 1", "description": "No power to bed 1 sockets", **extra}


def tickets_filed() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket))


def test_a_nurse_reports_with_photos_from_the_camera(hospital, login_as):
    nurse = login_as("nurse.icu")
    form = nurse.get("/report").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form
    assert re.search(r'<input type="file" name="photos" accept="image/\*" capture="environment" multiple>', form)
    response = nurse.post("/report", data=report_form(hospital, photos=upload(files.jpeg_from_a_phone(),
                                                                                files.heic(), name="IMG_1.HEIC")),
                          content_type="multipart/form-data")
    assert response.status_code == 302
    ticket_id = int(response.headers["Location"].split("/tickets/")[1].split("?")[0])
    assert [p.stage for p in stored(ticket_id)] == ["report", "report"]
    page = nurse.get(f"/tickets/{ticket_id}").get_data(as_text=True)
    assert page.count('class="photo-strip"') == 1 and all(p.public_id in page for p in stored(ticket_id))


@pytest.mark.parametrize("hostile,name", [(files.SVG_WITH_SCRIPT, "x.svg"), (files.pdf_named_jpg(), "photo.jpg"),
                                          (files.truncated_jpeg(), "photo.jpg")])
def test_a_report_with_a_file_that_is_no_photo_is_not_filed_and_says_so_under_the_field(hospital, login_as, hostile,
                                                                                        name):
    before = tickets_filed()
    response = login_as("nurse.icu").post("/report", data=report_form(hospital, photos=upload(hostile, name=name)),
                                          content_type="multipart/form-data")
    assert response.status_code == 200 and tickets_filed() == before
    page = text_of(response.get_data(as_text=True))
    assert "That file is not a photo we can read. Send a JPEG, PNG, HEIC or WebP picture." in page


def test_four_photos_on_a_report_are_refused(hospital, login_as):
    before = tickets_filed()
    response = login_as("nurse.icu").post("/report", data=report_form(hospital, photos=upload(*[files.plain("PNG")] * 4)),
                                          content_type="multipart/form-data")
    assert response.status_code == 200 and tickets_filed() == before
    assert "At most 3 photos at a time." in text_of(response.get_data(as_text=True))


def test_a_request_past_the_size_limit_gets_a_page_not_a_crash(app, hospital, login_as):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    response = login_as("nurse.icu").post("/report", data=report_form(hospital, photos=upload(b"\xff" * 60_000)),
                                          content_type="multipart/form-data")
    assert response.status_code == 413 and "too large" in response.get_data(as_text=True)


def test_photos_are_served_only_to_those_who_see_the_ticket(app, hospital, login_as):
    ticket = file_fault(hospital, [files.jpeg_from_a_phone()])
    [photo] = stored(ticket.id)
    for path, data in ((f"/photos/{photo.public_id}", photo.data), (f"/photos/{photo.public_id}/thumb", photo.thumbnail)):
        response = login_as("nurse.icu").get(path)
        assert response.status_code == 200 and response.get_data() == data
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"].startswith("private")
        for outsider in ("nurse.ward3", "sparky"):
            assert login_as(outsider).get(path).status_code == 404
        assert login_as("dispatcher").get(path).status_code == 200
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert login_as("nurse.icu").get(f"/photos/{photo.public_id[:-1]}x").status_code == 404
    assert login_as("nurse.icu").get(f"/photos/{photo.id}").status_code == 404  # the row id is not a photo's address


def test_the_technician_adds_before_and_after_photos_from_the_job_page(hospital, login_as):
    ticket = file_fault(hospital)
    assign_ticket(ticket.id, hospital.users["sparky"].id, hospital.user("dispatcher"))
    sparky = login_as("sparky")
    jobs = sparky.get("/jobs").get_data(as_text=True)
    assert f'action="/tickets/{ticket.id}/photos"' in jobs and 'value="before" checked' in jobs
    response = sparky.post(f"/tickets/{ticket.id}/photos", data={"back": "jobs", "stage": "before", "note": "",
                                                                  "photos": upload(files.plain("WEBP"))},
                           content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"].endswith("/jobs")
    response = sparky.post(f"/tickets/{ticket.id}/photos", data={"back": "elsewhere", "stage": "after",
                                                                  "photos": upload(files.random_bytes())},
                           content_type="multipart/form-data", follow_redirects=True)
    assert "That file is not a photo we can read" in text_of(response.get_data(as_text=True))
    assert [p.stage for p in stored(ticket.id)] == ["before"]
    page = sparky.get(f"/f/{ticket.id}").get_data(as_text=True)
    assert "Before the work" in page and stored(ticket.id)[0].public_id in page
    assert login_as("volt").post(f"/tickets/{ticket.id}/photos", data={"stage": "after"}).status_code == 404
    assert login_as("volt").get(f"/f/{ticket.id}").status_code == 404


def test_the_ward_adds_a_comment_with_photos(hospital, login_as):
    ticket = file_fault(hospital)
    nurse = login_as("nurse.icu")
    response = nurse.post(f"/tickets/{ticket.id}/photos", data={"back": "ticket", "stage": "comment",
                                                                "note": "Water on the floor now too",
                                                                "photos": upload(files.plain("JPEG"))},
                          content_type="multipart/form-data", follow_redirects=True)
    page = text_of(response.get_data(as_text=True))
    assert "1 photo(s) added to ticket" in page and "Photos added · " in page and "Water on the floor now too" in page
    forged = nurse.post(f"/tickets/{ticket.id}/photos", data={"stage": "before", "photos": upload(files.plain("PNG"))},
                        content_type="multipart/form-data")
    assert forged.status_code == 403 and len(stored(ticket.id)) == 1


# ---- backups keep them --------------------------------------------------------------------------

def test_a_backup_and_restore_keeps_the_photos(app, db, hospital, clock, database_url, empty_database_url, db_backend,
                                               tmp_path):
    from tests.test_backup import app_on, cli

    ticket = file_fault(hospital, [files.jpeg_from_a_phone(), files.plain("PNG")])
    kept = {p.public_id: (p.data, p.thumbnail) for p in stored(ticket.id)}
    db.session.remove()
    target = tmp_path / ("backup.dump" if db_backend == "postgresql" else "backup.sqlite3")
    assert cli(app, "backup", str(target)).exit_code == 0
    restored = app_on(empty_database_url, clock)
    assert cli(restored, "restore", str(target), "--yes").exit_code == 0
    assert backup.fingerprint(empty_database_url).differences(backup.fingerprint(database_url)) == []
    with restored.app_context():
        back = {p.public_id: (p.data, p.thumbnail) for p in db.session.scalars(select(TicketPhoto))}
    assert back == kept and len(back) == 2


def test_a_photo_field_sent_as_text_is_no_photo_and_no_error(hospital, login_as):
    """A forged form (or a fuzzer) sends the file field as a plain text value."""
    response = login_as("nurse.icu").post("/report", data=report_form(hospital, photos="not a file"))
    assert response.status_code == 302 and tickets_filed() == 1
    ticket = db.session.scalar(select(Ticket))
    assert stored(ticket.id) == []
