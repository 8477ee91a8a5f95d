"""The header and a ticket's place name each thing once: a ward's shared login is named for its role and ward
already, and a ward called "Intensive Care Unit" needs no "(ICU)" after it."""
from __future__ import annotations

import re

from models import Location, Ward, db
from models.ticket import join_place
from tests.conftest import text_of
from tests.factories import make_user
from tests.test_pages import file_fault


def header_text(page: str) -> str:
    return text_of(re.search(r'<div class="who">\s*<span>(.*?)</span>', page, re.S).group(1))


def test_a_ward_login_named_for_its_role_and_ward_is_not_followed_by_them_again(hospital, login_as):
    icu = db.session.get(Ward, hospital.icu.id)
    icu.name = "Intensive Care Unit"
    make_user("nurse.shared", "nurse", full_name="Nurse, Intensive Care Unit", ward=icu)
    db.session.commit()
    page = login_as("nurse.shared").get("/ward").get_data(as_text=True)
    assert header_text(page) == "Nurse, Intensive Care Unit"


def test_a_person_is_shown_with_role_and_ward(hospital, login_as):
    make_user("li.mei", "nurse", full_name="Li Mei", ward=db.session.get(Ward, hospital.icu.id))
    db.session.commit()
    assert header_text(login_as("li.mei").get("/ward").get_data(as_text=True)) == "Li Mei · Nurse · ICU"
    assert header_text(login_as("dispatcher").get("/board/").get_data(as_text=True)) == "Dispatcher"


def test_a_ticket_place_says_the_ward_kind_only_when_the_name_does_not(hospital, login_as):
    icu = db.session.get(Ward, hospital.icu.id)
    icu.name = "Intensive Care Unit"
    db.session.add(Location(ward=icu, name="Bay 1"))
    db.session.commit()
    bay = db.session.query(Location).filter_by(ward_id=icu.id, name="Bay 1").one()
    ticket = file_fault(hospital, location_id=bay.id, place_detail="Bed 4")
    page = text_of(login_as("dispatcher").get(f"/tickets/{ticket.id}").get_data(as_text=True))
    assert "Where Intensive Care Unit · Bay 1 · Bed 4 " in page
    assert "(ICU)" not in page

    # A critical ward whose name does not say so keeps the kind.
    icu.name = "Ward 12 East"
    db.session.commit()
    page = text_of(login_as("dispatcher").get(f"/tickets/{ticket.id}").get_data(as_text=True))
    assert "Where Ward 12 East · Bay 1 · Bed 4 (ICU)" in page


def test_a_detail_that_repeats_the_location_is_said_once():
    assert join_place(["ICU", "Bay 1", "Bay 1 bed 4"]) == "ICU · Bay 1 bed 4"
    assert join_place(["ICU", "Bay 1", "bay 1"]) == "ICU · Bay 1"
    assert join_place(["ICU", "Bay 1", "Bay 10"]) == "ICU · Bay 1 · Bay 10"  # a different bay, not a repeat
    assert join_place(["Ward 3", None, ""]) == "Ward 3"
